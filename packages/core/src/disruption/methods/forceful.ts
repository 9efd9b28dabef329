import { cmp } from "../../compare.ts";
import { parseDurationMillis } from "../../duration.ts";
import type { Node } from "../../model.ts";
import { expiresAt } from "../drift.ts";
import { launchAnyPrice } from "../replacements.ts";
import type { MethodName, Proposal, WaveSession } from "../session.ts";
import type { Method } from "./method.ts";

/** Interruption kinds that take a node away; rebalance recommendations only with the opt-in. */
const FORCEFUL_KINDS = new Set([
  "spot_interruption",
  "scheduled_change",
  "instance_stopping",
  "instance_terminating",
]);

/**
 * Expiration and interruption: forceful, in wave 1 only. Budgets and do-not-disrupt do not apply; the
 * replacements are planned before the nodes go, whatever they cost, and a command whose pods cannot
 * all be placed goes ahead with a warning. One command per method and NodePool.
 */
export function forceful(): Method {
  return {
    name: "expiration",
    propose(s: WaveSession): Proposal | undefined {
      if (s.index !== 1) return undefined;
      const group = nextGroup(s);
      if (group === undefined) return undefined;
      // Forceful commands do not wait for validation: their pods may go where anything pending may.
      const sim = s.simulate(group.nodes, "full", { toUninitialized: true });
      if (sim.unschedulable.length > 0)
        s.run.warnings.push({
          code: "evicted_pods_unschedulable",
          nodePool: group.pool,
          message: `${group.method} of ${group.nodes.map((n) => n.name).join(", ")} leaves ${sim.unschedulable.length} pod(s) pending: ${sim.unschedulable
            .slice(0, 5)
            .map((u) => `${u.pod} (${u.message})`)
            .join("; ")}`,
        });
      return {
        method: group.method,
        reason: group.reasons.join("; "),
        candidates: group.nodes,
        sim,
        replacements: launchAnyPrice(s.run.catalog, s.run.pools, sim),
      };
    },
  };
}

/** The first (method, NodePool) group of nodes due to go, in that order. */
function nextGroup(
  s: WaveSession,
): { method: MethodName; pool: string; nodes: Node[]; reasons: string[] } | undefined {
  const rebalance = s.run.input.options?.rebalanceRecommendations ?? false;
  const interrupted = new Map<string, string>();
  for (const e of s.run.input.interruptions ?? []) {
    if (!FORCEFUL_KINDS.has(e.kind) && !(rebalance && e.kind === "rebalance_recommendation")) continue;
    for (const n of s.view.nodes.values())
      if (
        n.providerID !== undefined &&
        (n.providerID === e.instanceId || n.providerID.endsWith(`/${e.instanceId}`))
      )
        interrupted.set(
          n.name,
          `${e.kind} ${e.id}${e.deadline === undefined ? "" : ` before ${e.deadline}`}`,
        );
  }
  const groups: { method: MethodName; pool: string; nodes: Node[]; reasons: string[] }[] = [];
  for (const n of s.view.nodes.values()) {
    const pool = n.nodePool === undefined ? undefined : s.run.pools.get(n.nodePool);
    if (pool === undefined || n.deleting || n.inFlight || s.isTouched(n.name)) continue;
    const expiry = expiresAt(n, pool, parseDurationMillis);
    let method: MethodName | undefined;
    let why = "";
    if (expiry !== undefined && expiry <= s.run.nowMillis) {
      method = "expiration";
      why = `expired at ${new Date(expiry).toISOString()}`;
    } else if (interrupted.has(n.name)) {
      method = "interruption";
      why = interrupted.get(n.name) as string;
    }
    if (method === undefined) continue;
    let g = groups.find((x) => x.method === method && x.pool === pool.name);
    if (g === undefined) groups.push((g = { method, pool: pool.name, nodes: [], reasons: [] }));
    g.nodes.push(n);
    g.reasons.push(`${n.name}: ${why}`);
  }
  return groups.sort((a, b) => cmp(a.method, b.method) || cmp(a.pool, b.pool))[0];
}
