import type { Kernel } from "@nodeplan/solver-wasm";
import type { Node, NodePool, Pod } from "../model.ts";
import type { DisruptionCommand, DisruptionPlan } from "../plan.ts";
import { nodePrice } from "./catalog.ts";
import type { DisruptionInput } from "./input.ts";
import { planDisruption } from "./plan-disruption.ts";
import { applyCommand, type ClusterView, clusterView, replacementNode } from "./state.ts";
import { disruptionStatics } from "./statics.ts";

/** How long the steps of a command take in the loop's clock. */
export interface LoopTimings {
  /** A replacement from launch to Ready (default 60 s: EC2 boot plus kubelet registration). */
  launchSeconds?: number;
  /** Evicted pods terminating and rescheduling (default 30 s: Kubernetes' default grace period). */
  drainSeconds?: number;
  /** Karpenter's wait before it re-validates a graceful command on fresh state (default 15 s). */
  validationSeconds?: number;
}

/** Options of `consolidateToFixedPoint`. */
export interface LoopOptions extends LoopTimings {
  /** Stop after this many passes even if commands remain (default 200). */
  maxPasses?: number;
  /**
   * When nothing can be done now but something will be allowed later (a node's consolidateAfter, a
   * pod's do-not-disrupt duration, a budget's schedule), wait for it if it comes within this many
   * seconds (default 3600), as a controller would; 0 never waits.
   */
  maxWaitSeconds?: number;
}

/** One pass: plan with one wave at `at`, carry out its commands, advance the clock. */
export interface LoopPass {
  pass: number;
  /** When the pass planned (RFC 3339). */
  at: string;
  commands: DisruptionCommand[];
  /** The cluster after the pass's commands: $/h and node count. */
  costPerHour: number;
  nodes: number;
  /** Pods evicted by the pass. */
  evictions: number;
  /** How long the pass's commands took (they run side by side). */
  seconds: number;
}

/** The loop from the cluster given to the fixed point (or the pass limit). */
export interface LoopResult {
  passes: LoopPass[];
  initial: { costPerHour: number; nodes: number };
  final: { costPerHour: number; nodes: number; at: string };
  /** Pods evicted over the whole loop. */
  evictions: number;
  /** True when the last plan had no command left (a fixed point), false when the pass limit stopped it. */
  converged: boolean;
  /** The cluster at the end. */
  cluster: { nodes: Node[]; pods: Pod[] };
  /** The last plan (the one with no command, at a fixed point): why each node stays. */
  last: DisruptionPlan;
}

const DEFAULT_MAX_PASSES = 200;

/**
 * Does what a controller does: plan disruption with one wave at the current time, carry out that
 * wave's commands (each completing before the clock moves on, pods landing where the plan put them,
 * replacements launching as their cheapest option), advance the clock by the time the commands took,
 * and plan again, until no command remains or `maxPasses`. The input's `options.maxWaves` is ignored:
 * every pass plans one wave.
 */
export function consolidateToFixedPoint(
  kernel: Kernel,
  input: DisruptionInput,
  options: LoopOptions = {},
): LoopResult {
  const statics = disruptionStatics(input);
  const catalog = statics.catalog;
  const pools = new Map<string, NodePool>(input.nodePools.map((p) => [p.name, p]));
  const maxPasses = options.maxPasses ?? DEFAULT_MAX_PASSES;
  let view: ClusterView = clusterView(input.nodes, input.pods);
  let nowMillis = Date.parse(input.now);
  const cost = (v: ClusterView) => [...v.nodes.values()].reduce((s, n) => s + nodePrice(catalog, n), 0);
  const initial = { costPerHour: cost(view), nodes: view.nodes.size };
  const passes: LoopPass[] = [];
  const maxWaitMillis = (options.maxWaitSeconds ?? 3600) * 1000;
  // Time spent waiting since the last pass that did something: bounded, so recurring budget
  // windows cannot keep the loop waiting forever.
  let waited = 0;
  let last: DisruptionPlan;
  for (;;) {
    const at = new Date(nowMillis).toISOString();
    last = planDisruption(
      kernel,
      {
        ...input,
        nodes: [...view.nodes.values()],
        pods: view.pods,
        now: at,
        options: { ...input.options, maxWaves: 1, lowerBound: false },
      },
      statics,
      true,
    );
    if (last.commands.length === 0) {
      // Nothing now: wait for the first time something blocked now becomes allowed, if it comes soon.
      const wake = nextChange(last, nowMillis);
      if (wake === undefined || waited + (wake - nowMillis) > maxWaitMillis) break;
      waited += wake - nowMillis;
      nowMillis = wake;
      continue;
    }
    if (passes.length >= maxPasses) break;
    waited = 0;
    let seconds = 0;
    for (const c of last.commands) {
      const nodes = c.replacements.map((r) =>
        replacementNode(catalog, pools.get(r.nodePool) as NodePool, r, at),
      );
      view = applyCommand(view, c, nodes, at);
      seconds = Math.max(seconds, commandSeconds(c, options));
    }
    passes.push({
      pass: passes.length + 1,
      at,
      commands: last.commands,
      costPerHour: cost(view),
      nodes: view.nodes.size,
      evictions: last.commands.reduce((s, c) => s + c.evictions.length, 0),
      seconds,
    });
    nowMillis += seconds * 1000;
  }
  const converged = last.commands.length === 0;
  return {
    passes,
    initial,
    final: { costPerHour: cost(view), nodes: view.nodes.size, at: new Date(nowMillis).toISOString() },
    evictions: passes.reduce((s, p) => s + p.evictions, 0),
    converged,
    cluster: { nodes: [...view.nodes.values()], pods: [...view.pods] },
    last,
  };
}

/** The first time after `nowMillis` a kept node's blocker lifts (consolidateAfter, do-not-disrupt, a budget window). */
export function nextChange(plan: DisruptionPlan, nowMillis: number): number | undefined {
  let first: number | undefined;
  for (const { reason } of plan.kept) {
    const at =
      reason.code === "consolidate_after_pending"
        ? reason.consolidatableAt
        : reason.code === "do_not_disrupt_pod" || reason.code === "budget_exhausted"
          ? reason.until
          : undefined;
    const t = at === undefined ? Number.NaN : Date.parse(at);
    if (t > nowMillis && (first === undefined || t < first)) first = t;
  }
  return first;
}

/** A command's duration: re-validation (graceful commands), then launch, then drain. */
function commandSeconds(c: DisruptionCommand, t: LoopTimings): number {
  const graceful = c.method !== "expiration" && c.method !== "interruption";
  return (
    (graceful ? (t.validationSeconds ?? 15) : 0) +
    (c.replacements.length > 0 ? (t.launchSeconds ?? 60) : 0) +
    (c.evictions.length > 0 ? (t.drainSeconds ?? 30) : 0)
  );
}
