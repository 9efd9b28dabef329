import type { Kernel } from "@nodeplan/solver-wasm";
import { costsOfNode, sumCosts } from "../costs.ts";
import type { Node } from "../model.ts";
import type { DisruptionCommand, DisruptionPlan } from "../plan.ts";
import type { KeptReason } from "../reasons.ts";
import { renderKept } from "../render.ts";
import { consolidationBlocker, gracefulBlocker } from "./candidates.ts";
import type { DisruptionInput } from "./input.ts";
import { consolidateNodeplan } from "./methods/consolidation.ts";
import { driftOneByOne, driftTogether } from "./methods/drift.ts";
import { emptiness } from "./methods/emptiness.ts";
import { forceful } from "./methods/forceful.ts";
import { multiNode, singleNode } from "./methods/karpenter.ts";
import type { Method } from "./methods/method.ts";
import { PlanRun, WaveSession } from "./session.ts";
import { type ClusterView, clusterView } from "./state.ts";
import type { DisruptionStatics } from "./statics.ts";

/**
 * The disruption planner (../shared/SEMANTICS.md "Disruption", CONTRACTS.md "DisruptionPlan").
 *
 * The cluster is simulated wave by wave: wave 1 holds what may start now within every budget and PDB,
 * wave k+1 what becomes allowed once waves <= k have completed. Each method (methods/) proposes one
 * command at a time on the cluster as the commands before it leave it, and the planner commits it.
 * The packing kernel (`provision`) is the simulator: a set of nodes is "removed" by making their
 * reschedulable pods pending against the rest of the cluster, whose new claims are the replacements.
 *
 * Every consolidation command pays for itself on its own, given the commands before it: the
 * candidates' price minus the replacements' worst launch prices exceeds the churn threshold (0 for the
 * karpenter strategy: strictly cheaper). So carrying out any prefix of the plan, wave 1 alone above all
 * (what a controller does before it plans again), never raises cost. Forceful methods (expiration,
 * interruption) and drift replace whatever it costs and say so in their reason.
 *
 * Strategy `nodeplan`: in every wave, expiration and interruption (wave 1), then emptiness, drift and
 * N->M consolidation as many times as the budgets allow (methods/consolidation.ts). Strategy
 * `karpenter`: Karpenter's loop, one command per wave: emptiness across NodePools, then one drifted
 * node, then multi-node prefix search over <= 100 candidates, then single-node first success.
 * Replacements are candidates again once consolidatable, for both.
 */

/** Upper bound on waves when the caller sets none (a fixed point is normally reached long before). */
const MAX_WAVES = 1000;
/** Commands one method may commit per wave (nodeplan): a backstop, budgets end it long before. */
const MAX_COMMANDS_PER_METHOD = 100;

/**
 * Plans disruption for `input` with `kernel` (see `createSolver`). Pure: same input, same plan.
 * `statics` is the input's disruptionStatics when the caller has it already (the loop's passes share
 * one); with `keptOnlyWhenIdle`, a plan that has commands leaves `kept` empty (the loop reads kept
 * reasons only when nothing is left to do).
 */
export function planDisruption(
  kernel: Kernel,
  input: DisruptionInput,
  statics?: DisruptionStatics,
  keptOnlyWhenIdle = false,
): DisruptionPlan {
  if (!Number.isFinite(Date.parse(input.now)))
    return {
      commands: [],
      kept: [],
      cost: { currentPerHour: 0, afterPerHour: 0, lowerBoundPerHour: 0 },
      warnings: [],
      errors: [
        {
          source: "DisruptionInput",
          path: "now",
          code: "invalid_schema",
          message: `now must be an RFC 3339 timestamp, got ${JSON.stringify(input.now)}`,
        },
      ],
    };
  const run = new PlanRun(kernel, input, statics);
  const karpenter = run.karpenter;
  const graceful: Method[] = karpenter
    ? [emptiness(), driftOneByOne(), multiNode(), singleNode()]
    : [emptiness(), driftTogether(), consolidateNodeplan()];
  const commands: DisruptionCommand[] = [];
  let view = clusterView(input.nodes, input.pods);
  const maxWaves = input.options?.maxWaves ?? MAX_WAVES;
  /** The last wave, when it found nothing: it stands on the cluster the plan leaves. */
  let idle: WaveSession | undefined;
  for (let index = 1; index <= maxWaves; index++) {
    const wave = new WaveSession(run, view, index);
    drain(wave, forceful());
    if (karpenter) {
      for (const method of graceful) {
        const p = method.propose(wave);
        if (p !== undefined) {
          wave.commit(p);
          break;
        }
      }
    } else for (const method of graceful) drain(wave, method);
    commands.push(...wave.commands);
    view = wave.view;
    // A wave with only forceful commands (wave 1) is followed by one more, on the cluster after them.
    if (wave.commands.length === 0) {
      idle = wave;
      break;
    }
  }

  const currentPerHour = input.nodes.reduce((s, n) => s + run.price(n), 0);
  const afterPerHour = [...view.nodes.values()].reduce((s, n) => s + run.price(n), 0);
  // Each node's price split by what is paid for (instance, volumes, addresses, credits, fees).
  const full = run.catalog.full;
  const costsOf = (n: Node) =>
    costsOfNode(n, full.get(n.nodePool ?? "") ?? full.get("") ?? new Map(), run.price(n));
  return {
    commands,
    kept:
      keptOnlyWhenIdle && commands.length > 0 ? [] : keptReasons(run, idle ?? new WaveSession(run, view, 0)),
    cost: {
      currentPerHour,
      afterPerHour,
      lowerBoundPerHour: input.options?.lowerBound === false ? 0 : lowerBound(run, view, afterPerHour),
      breakdown: {
        current: sumCosts(input.nodes.map(costsOf)),
        after: sumCosts([...view.nodes.values()].map(costsOf)),
      },
    },
    warnings: run.warnings,
    errors: [],
  };
}

/** Commits what `method` proposes until it proposes nothing more in this wave. */
function drain(wave: WaveSession, method: Method): void {
  for (let i = 0; i < MAX_COMMANDS_PER_METHOD; i++) {
    const p = method.propose(wave);
    if (p === undefined) return;
    wave.commit(p);
  }
}

/**
 * Why each node of the input that stays, stays: what blocks it on the cluster the plan leaves (`last`,
 * a wave on it: the plan's idle last wave, whose blockers are already known), else the last verdict a
 * method gave it, else that nothing cheaper was found.
 */
function keptReasons(run: PlanRun, last: WaveSession): DisruptionPlan["kept"] {
  const original = new Set(run.input.nodes.map((n) => n.name));
  const out: DisruptionPlan["kept"] = [];
  for (const n of last.view.nodes.values()) {
    if (!original.has(n.name)) continue;
    const reason: KeptReason = last.gracefulBlocker(n) ??
      consolidationBlocker(n, last.ctx) ??
      run.verdicts.get(n.name) ?? { code: "no_cheaper_replacement", pricePerHour: run.price(n) };
    out.push({ node: n.name, reason, message: renderKept(reason) });
  }
  return out;
}

/**
 * A lower bound on the cluster after disruption: nodes that cannot move are fixed; the pods of every
 * other managed node are re-planned onto the fixed nodes and new capacity, and the kernel's proven LP
 * bound on that new capacity is added. It is a bound given where the kernel put pods on fixed nodes
 * (the LP covers the pods it put on new capacity), capped by the plan's own result.
 */
function lowerBound(run: PlanRun, view: ClusterView, afterPerHour: number): number {
  const wave = new WaveSession(run, view, 0);
  const movable = [...view.nodes.values()].filter(
    (n) => n.nodePool !== undefined && gracefulBlocker(n, wave.ctx) === undefined,
  );
  if (movable.length === 0) return afterPerHour;
  // A bound on the cluster as it is: no pending pods, no placement rule the plan itself does not have.
  const sim = wave.simulate(movable, "bound", { migrating: false, toUninitialized: true });
  if (sim.unschedulable.length > 0) return afterPerHour;
  const names = new Set(movable.map((n) => n.name));
  let fixed = 0;
  for (const n of view.nodes.values()) if (!names.has(n.name)) fixed += run.price(n);
  return Math.min(afterPerHour, fixed + sim.lowerBoundPerHour);
}

export { pruneDominated } from "./catalog.ts";
