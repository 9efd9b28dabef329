import { cmp } from "../../compare.ts";
import { type InstanceType, type Node, podKey } from "../../model.ts";
import type { PlannedNodeClaim } from "../../plan.ts";
import type { KeptReason } from "../../reasons.ts";
import { LABEL_CAPACITY_TYPE, LABEL_INSTANCE_TYPE, LABEL_TOPOLOGY_ZONE } from "../../well-known-labels.ts";
import { launchable } from "../replacements.ts";
import type { Proposal, WaveSession } from "../session.ts";
import { type Simulation, wouldNotFit } from "../simulate.ts";
import { bySavingsRatio } from "./emptiness.ts";
import type { Method } from "./method.ts";

/** Karpenter's multi-node consolidation looks at no more than this many candidates. */
const MULTI_NODE_MAX = 100;
/** Single-node attempts per loop (Karpenter bounds them by a 3-minute timeout; we bound by count). */
const SINGLE_NODE_ATTEMPTS = 500;

/** Consolidatable, non-empty graceful candidates across NodePools; the rest get their verdict. */
function consolidatable(s: WaveSession): Node[] {
  const out: Node[] = [];
  for (const nodes of s.candidatesByPool().values())
    for (const n of nodes) {
      if (s.isEmpty(n)) continue;
      const blocked = s.consolidationBlocker(n);
      if (blocked === undefined) out.push(n);
      else s.run.verdicts.set(n.name, blocked);
    }
  return out;
}

/**
 * Karpenter's computeConsolidation on a set of candidates: every pod placed, at most one new claim
 * (several of the kernel's are merged into one when one offering holds them all), strictly cheaper at
 * the worst launch price, spot-to-spot behind its gate; `sameType` is multi-node's filterOutSameInstanceType.
 */
function compute(
  s: WaveSession,
  nodes: Node[],
  sameType: boolean,
): { proposal: Proposal } | { kept: KeptReason } {
  const sim = oneClaim(s, s.simulate(nodes));
  if (sim.unschedulable.length > 0) return { kept: wouldNotFit(sim) };
  if (sim.claims.length > 1)
    return {
      kept: {
        code: "no_cheaper_replacement",
        pricePerHour: sim.removedPerHour,
        cheapestPerHour: sim.newPerHour,
      },
    };
  const verdict = launchable(s.run.catalog, s.run.pools, sim, {
    thresholdPerHour: 0,
    spotToSpot: s.run.spotToSpot,
    ...(sameType ? { sameType: candidateTypePrices(s, nodes) } : {}),
  });
  if (!verdict.ok) return { kept: verdict.kept };
  const m = verdict.claims.length;
  return {
    proposal: {
      method: "consolidation",
      reason: `${nodes.length}->${m}: ${m === 0 ? "delete" : "replace"}`,
      candidates: nodes,
      sim,
      replacements: verdict.claims,
    },
  };
}

/** Each candidate instance type's cheapest candidate price (filterOutSameInstanceType). */
function candidateTypePrices(s: WaveSession, nodes: readonly Node[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of nodes) {
    if (n.instanceType === undefined) continue;
    const p = s.run.price(n);
    if (p < (out.get(n.instanceType) ?? Number.POSITIVE_INFINITY)) out.set(n.instanceType, p);
  }
  return out;
}

/**
 * Karpenter's multi-node consolidation (disruption/multinodeconsolidation.go): candidates across
 * NodePools by price / RescheduleCost, those the budgets do not allow dropped first, at most 100, then
 * a binary search over prefixes of two or more for the largest N->0 or N->1 that works.
 */
export function multiNode(): Method {
  return {
    name: "consolidation",
    propose(s: WaveSession): Proposal | undefined {
      const list = s.admit(bySavingsRatio(s, consolidatable(s)), "Underutilized");
      if (list.length < 2) return undefined;
      let lo = 1;
      let hi = list.length <= MULTI_NODE_MAX ? list.length - 1 : MULTI_NODE_MAX;
      let found: Proposal | undefined;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const result = compute(s, list.slice(0, mid + 1), true);
        if ("proposal" in result) {
          found = result.proposal;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return found;
    },
  };
}

/**
 * Karpenter's single-node consolidation (disruption/singlenodeconsolidation.go): candidates by price /
 * RescheduleCost, interleaved across NodePools, each within its NodePool's budget; the first that works.
 */
export function singleNode(): Method {
  return {
    name: "consolidation",
    propose(s: WaveSession): Proposal | undefined {
      const byPool = new Map<string, Node[]>();
      for (const n of bySavingsRatio(s, consolidatable(s))) {
        const list = byPool.get(n.nodePool as string);
        if (list === undefined) byPool.set(n.nodePool as string, [n]);
        else list.push(n);
      }
      const pools = [...byPool.keys()].sort(cmp);
      const longest = Math.max(0, ...[...byPool.values()].map((l) => l.length));
      const interleaved: Node[] = [];
      for (let i = 0; i < longest; i++)
        for (const p of pools) {
          const n = byPool.get(p)?.[i];
          if (n !== undefined) interleaved.push(n);
        }
      let attempts = 0;
      for (const n of s.admit(interleaved, "Underutilized", { alone: true })) {
        // A node proven unable to pay alone would fail Karpenter's simulation too: not simulated.
        const hopeless = s.cannotPayAlone(n);
        if (hopeless !== undefined) {
          s.run.verdicts.set(n.name, hopeless);
          continue;
        }
        if (attempts++ >= SINGLE_NODE_ATTEMPTS) return undefined;
        const result = compute(s, [n], false);
        if ("proposal" in result) return result.proposal;
        s.run.verdicts.set(n.name, result.kept);
      }
      return undefined;
    },
  };
}

/**
 * Karpenter's scheduler puts pods on as few new NodeClaims as it can; our kernel may prefer several
 * cheaper ones. For the karpenter strategy, several claims of one NodePool are merged into one when an
 * instance type every claim could use, in a zone and capacity type they all allow, holds all their
 * pods: the cheapest such offering prices it. Otherwise the simulation is returned unchanged.
 */
function oneClaim(s: WaveSession, sim: Simulation): Simulation {
  const [first, ...rest] = sim.claims;
  if (first === undefined || rest.length === 0 || rest.some((c) => c.nodePool !== first.nodePool)) return sim;
  const allowed = (c: PlannedNodeClaim, key: string) =>
    new Set(c.requirements.find((r) => r.key === key && r.operator === "In")?.values ?? []);
  const common = (key: string) =>
    [...allowed(first, key)].filter((v) => rest.every((c) => allowed(c, key).has(v)));
  const zones = new Set(common(LABEL_TOPOLOGY_ZONE));
  const capacityTypes = new Set(common(LABEL_CAPACITY_TYPE));
  const names = new Set(common(LABEL_INSTANCE_TYPE));
  const need: Record<string, number> = {};
  const overhead: Record<string, number> = {};
  const onClaims = new Set(sim.claims.flatMap((c) => c.pods));
  for (const p of sim.evicted)
    if (onClaims.has(podKey(p)))
      for (const [k, v] of Object.entries(p.requests)) need[k] = (need[k] ?? 0) + v;
  for (const c of sim.claims)
    for (const [k, v] of Object.entries(c.daemonSetOverhead)) overhead[k] = Math.max(overhead[k] ?? 0, v);
  const fitting: { t: InstanceType; zone: string; capacityType: string; price: number }[] = [];
  for (const t of s.run.catalog.pruned[first.nodePool] ?? []) {
    if (!names.has(t.name)) continue;
    if (Object.entries(need).some(([k, v]) => v > (t.allocatable[k] ?? 0) - (overhead[k] ?? 0))) continue;
    for (const o of t.offerings)
      if (o.available && zones.has(o.zone) && capacityTypes.has(o.capacityType))
        fitting.push({ t, zone: o.zone, capacityType: o.capacityType, price: o.pricePerHour });
  }
  fitting.sort((a, b) => a.price - b.price || cmp(a.t.name, b.t.name));
  const best = fitting[0];
  if (best === undefined) return sim;
  const options = [...new Set(fitting.map((f) => f.t.name))];
  let worst = 0;
  for (const f of fitting) if (f.price > worst) worst = f.price;
  const merged: PlannedNodeClaim = {
    ...first,
    instanceType: best.t.name,
    instanceTypeOptions: options,
    zone: best.zone,
    capacityType: best.capacityType as PlannedNodeClaim["capacityType"],
    pricePerHour: best.price,
    worstPricePerHour: worst,
    requirements: first.requirements.map((r) =>
      r.key === LABEL_INSTANCE_TYPE
        ? { ...r, values: options }
        : r.key === LABEL_TOPOLOGY_ZONE
          ? { ...r, values: [...zones].sort(cmp) }
          : r.key === LABEL_CAPACITY_TYPE
            ? { ...r, values: [...capacityTypes].sort(cmp) }
            : r,
    ),
    daemonSetOverhead: overhead,
    pods: sim.claims.flatMap((c) => c.pods).sort(cmp),
  };
  const renamed = new Set(rest.map((c) => c.name));
  return {
    ...sim,
    claims: [merged],
    placements: new Map([...sim.placements].map(([k, v]) => [k, renamed.has(v) ? first.name : v])),
    newPerHour: best.price,
  };
}
