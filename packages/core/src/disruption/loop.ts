import type { Kernel } from "@nodeplan/solver-wasm";
import type { Node, NodePool, Pod } from "../model.ts";
import type { DisruptionCommand, DisruptionPlan } from "../plan.ts";
import { disruptionCatalog, nodePrice } from "./catalog.ts";
import type { DisruptionInput } from "./input.ts";
import { planDisruption } from "./plan-disruption.ts";
import { applyCommand, type ClusterView, clusterView, replacementNode } from "./state.ts";

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
  const catalog = disruptionCatalog(input);
  const pools = new Map<string, NodePool>(input.nodePools.map((p) => [p.name, p]));
  const maxPasses = options.maxPasses ?? DEFAULT_MAX_PASSES;
  let view: ClusterView = clusterView(input.nodes, input.pods);
  let nowMillis = Date.parse(input.now);
  const cost = (v: ClusterView) => [...v.nodes.values()].reduce((s, n) => s + nodePrice(catalog, n), 0);
  const initial = { costPerHour: cost(view), nodes: view.nodes.size };
  const passes: LoopPass[] = [];
  let last: DisruptionPlan | undefined;
  for (let pass = 1; pass <= maxPasses + 1; pass++) {
    const at = new Date(nowMillis).toISOString();
    const plan = planDisruption(
      kernel,
      {
        ...input,
        nodes: [...view.nodes.values()],
        pods: view.pods,
        now: at,
        options: { ...input.options, maxWaves: 1, lowerBound: false },
      },
      catalog,
    );
    last = plan;
    if (plan.commands.length === 0 || pass > maxPasses) break;
    let seconds = 0;
    for (const c of plan.commands) {
      const nodes = c.replacements.map((r) =>
        replacementNode(catalog, pools.get(r.nodePool) as NodePool, r, at),
      );
      view = applyCommand(view, c, nodes, at);
      seconds = Math.max(seconds, commandSeconds(c, options));
    }
    passes.push({
      pass,
      at,
      commands: plan.commands,
      costPerHour: cost(view),
      nodes: view.nodes.size,
      evictions: plan.commands.reduce((s, c) => s + c.evictions.length, 0),
      seconds,
    });
    nowMillis += seconds * 1000;
  }
  const converged = (last as DisruptionPlan).commands.length === 0;
  return {
    passes,
    initial,
    final: { costPerHour: cost(view), nodes: view.nodes.size, at: new Date(nowMillis).toISOString() },
    evictions: passes.reduce((s, p) => s + p.evictions, 0),
    converged,
    cluster: { nodes: [...view.nodes.values()], pods: [...view.pods] },
    last: last as DisruptionPlan,
  };
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
