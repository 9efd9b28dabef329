import type { Kernel } from "@nodeplan/solver-wasm";
import type { BudgetReason } from "../disruption/budgets.ts";
import { consolidationBlocker, gracefulBlocker } from "../disruption/candidates.ts";
import type { DisruptionInput } from "../disruption/input.ts";
import { launchable } from "../disruption/replacements.ts";
import { PlanRun, WaveSession } from "../disruption/session.ts";
import { clusterView } from "../disruption/state.ts";
import type { DisruptionStatics } from "../disruption/statics.ts";
import type { Node } from "../model.ts";
import type { DisruptionCommand, PlannedNodeClaim } from "../plan.ts";
import { renderKept } from "../render.ts";

/** A re-validated command: what to launch, or why it is dropped. */
export type Revalidation =
  | { ok: true; replacements: PlannedNodeClaim[]; savingsPerHour: number }
  | { ok: false; why: string };

/**
 * Karpenter's validation of a consolidation command after its 15 s wait (disruption/validation.go),
 * on the cluster as it is now: every candidate is still there and still a candidate (no pod nominated
 * to it, no do-not-disrupt, PDBs allow, consolidatable), its NodePool's budget still lets it go, and
 * removing the candidates is simulated again: every pod must still find a home (an empty node must
 * still be empty) and a consolidation must still pay for itself at its replacements' worst launch
 * prices, with the catalog as it is now (offerings found unavailable meanwhile are gone). The karpenter
 * strategy requires the same number of replacements (Karpenter drops a command whose simulation now
 * needs a different count) and launches the replacements it decided; nodeplan accepts no more replacements
 * than decided and launches the fresh ones (priced on the catalog as it is now).
 *
 * `input` is the cluster now with the nodes of other commands in progress marked as being deleted (they
 * count against budgets). Uses the disruption planner's own simulation; no logic of its own.
 */
export function revalidate(
  kernel: Kernel,
  input: DisruptionInput,
  statics: DisruptionStatics,
  command: DisruptionCommand,
  karpenter: boolean,
): Revalidation {
  const run = new PlanRun(kernel, input, statics);
  const view = clusterView(input.nodes, input.pods);
  const wave = new WaveSession(run, view, 1);
  const candidates: Node[] = [];
  for (const name of command.candidates) {
    const n = view.nodes.get(name);
    if (n === undefined) return { ok: false, why: `candidate ${name} is gone` };
    const blocked = gracefulBlocker(n, wave.ctx) ?? consolidationBlocker(n, wave.ctx);
    if (blocked !== undefined) return { ok: false, why: `${name}: ${renderKept(blocked)}` };
    candidates.push(n);
  }
  const reason: BudgetReason = command.method === "emptiness" ? "Empty" : "Underutilized";
  const perPool = new Map<string, number>();
  for (const n of candidates) perPool.set(n.nodePool as string, (perPool.get(n.nodePool as string) ?? 0) + 1);
  for (const [pool, count] of perPool) {
    const allowed = wave.budget(pool, reason).allowed;
    if (count > allowed)
      return {
        ok: false,
        why: `NodePool ${pool}'s ${reason} budget now allows ${allowed} node(s), the command takes ${count}`,
      };
  }
  const sim = wave.simulate(candidates, "full");
  if (sim.unschedulable.length > 0)
    return {
      ok: false,
      why: `${sim.unschedulable.length} pod(s) would no longer fit: ${sim.unschedulable
        .slice(0, 3)
        .map((u) => `${u.pod} (${u.message})`)
        .join("; ")}`,
    };
  if (command.method === "emptiness") {
    if (sim.evicted.length > 0) return { ok: false, why: `no longer empty (${sim.evicted.length} pod(s))` };
    return { ok: true, replacements: [], savingsPerHour: sim.removedPerHour };
  }
  const verdict = launchable(run.catalog, run.pools, sim, {
    thresholdPerHour: run.thresholdPerHour(sim.removedPerHour),
    spotToSpot: run.spotToSpot,
  });
  if (!verdict.ok) return { ok: false, why: `no longer pays: ${renderKept(verdict.kept)}` };
  // A command that now needs more replacements is another command (a delete became a replace): the
  // next pass finds it if it is worth it. Karpenter requires the same count.
  if (
    karpenter
      ? verdict.claims.length !== command.replacements.length
      : verdict.claims.length > command.replacements.length
  )
    return {
      ok: false,
      why: `the simulation now needs ${verdict.claims.length} replacement(s), the command ${command.replacements.length}`,
    };
  if (karpenter) {
    const added = command.replacements.reduce((s, c) => s + c.pricePerHour, 0);
    return { ok: true, replacements: command.replacements, savingsPerHour: sim.removedPerHour - added };
  }
  const added = verdict.claims.reduce((s, c) => s + c.pricePerHour, 0);
  return { ok: true, replacements: verdict.claims, savingsPerHour: sim.removedPerHour - added };
}
