import { cmp } from "../compare.ts";
import {
  type InstanceType,
  type NodePool,
  type NodeSelectorRequirement,
  type Pod,
  podKey,
} from "../model.ts";
import type { PlannedNodeClaim } from "../plan.ts";
import type { KeptReason } from "../reasons.ts";
import { LABEL_CAPACITY_TYPE, LABEL_INSTANCE_TYPE, LABEL_TOPOLOGY_ZONE } from "../well-known-labels.ts";
import { cheapestPrice, type DisruptionCatalog, worstLaunchPrice } from "./catalog.ts";
import type { Simulation } from "./simulate.ts";

/** Karpenter's spot-to-spot single-node consolidation needs this many cheaper types, and launches that many. */
export const SPOT_TO_SPOT_MIN_TYPES = 15;
/**
 * "Cheaper" means cheaper by at least a micro-dollar an hour: prices are floats, and a sum that beats a
 * price by a rounding error is not a saving (the independent checker uses the same tolerance).
 */
export const MIN_SAVING_PER_HOUR = 1e-6;
/** Karpenter core's default cap on a NodeClaim's instance type options. */
const MAX_OPTIONS = 600;

/** What a consolidation command must satisfy to be launched. */
export interface LaunchRule {
  /** The savings the command must exceed under its replacements' worst launch prices ($/h; 0 = strictly cheaper). */
  thresholdPerHour: number;
  /** Karpenter's SpotToSpotConsolidation feature gate. */
  spotToSpot: boolean;
  /**
   * Karpenter multi-node's filterOutSameInstanceType: a replacement may not be one of the candidates'
   * instance types unless it is cheaper than that candidate (instance type -> its cheapest candidate price).
   */
  sameType?: ReadonlyMap<string, number>;
}

/** The replacements as they may launch, or why the command is not worth it. */
export type LaunchVerdict =
  | { ok: true; claims: PlannedNodeClaim[]; worstPerHour: number }
  | { ok: false; kept: KeptReason };

/**
 * Turns a simulation's claims into replacements that pay for themselves, as Karpenter's consolidation
 * does (disruption/consolidation.go computeConsolidation, RemoveInstanceTypeOptionsByPriceAndMinValues):
 *
 * - options come from the NodePool's full catalog (the search ran on a pruned one): every type with the
 *   same values on the keys anything selects on as one of the kernel's options, that holds the claim's
 *   pods and DaemonSets, offered in the claim's zones;
 * - a replacement launches as the capacity type it was priced at;
 * - its options are cut to those whose worst launch price is under a cap. The caps share out what the
 *   candidates cost, less the threshold, in proportion to the replacements' own prices, so the candidates'
 *   price minus the replacements' summed worst launch prices always exceeds the threshold (for one
 *   replacement and threshold 0 this is Karpenter's "launch price < candidate price");
 * - minValues must still hold on what is left; with every candidate on spot and a replacement that may
 *   be spot, spot-to-spot must be enabled (checked first, before any price: `spotToSpotDisabled`), and a
 *   single candidate needs 15 cheaper options and launches the 15 cheapest.
 */
export function launchable(
  catalog: DisruptionCatalog,
  pools: ReadonlyMap<string, NodePool>,
  sim: Simulation,
  rule: LaunchRule,
): LaunchVerdict {
  const claims = sim.claims;
  const kernelPerHour = claims.reduce((s, c) => s + c.pricePerHour, 0);
  const noCheaper: KeptReason = {
    code: "no_cheaper_replacement",
    pricePerHour: sim.removedPerHour,
    cheapestPerHour: kernelPerHour,
  };
  const allSpot = sim.removed.every((n) => n.capacityType === "spot");
  // Karpenter's computeConsolidation takes the spot-to-spot path before it looks at prices: with the
  // feature gate off, no replacement that may launch as spot is taken, whatever it costs.
  if (
    allSpot &&
    !rule.spotToSpot &&
    claims.some((c) => requirementValues(c.requirements, LABEL_CAPACITY_TYPE).has("spot"))
  )
    return { ok: false, kept: spotToSpotDisabled(sim.removedPerHour) };
  const slack = sim.removedPerHour - kernelPerHour - rule.thresholdPerHour - MIN_SAVING_PER_HOUR;
  if (!(slack > 0)) {
    if (claims.length === 0 || sim.removedPerHour - kernelPerHour <= MIN_SAVING_PER_HOUR)
      return { ok: false, kept: noCheaper };
    return {
      ok: false,
      kept: {
        code: "savings_below_threshold",
        savingsPerHour: sim.removedPerHour - kernelPerHour,
        thresholdPerHour: rule.thresholdPerHour,
      },
    };
  }
  if (claims.length === 0) return { ok: true, claims: [], worstPerHour: 0 };
  const evicted = placedByKey(sim);
  const out: PlannedNodeClaim[] = [];
  let worstPerHour = 0;
  for (const c of claims) {
    const pool = pools.get(c.nodePool) as NodePool;
    const allowed = requirementValues(c.requirements, LABEL_CAPACITY_TYPE);
    // With the gate off, a claim that may be spot refused the command above.
    const spotToSpot = allSpot && allowed.has("spot");
    if (spotToSpot && c.capacityType !== "spot") return { ok: false, kept: noCheaper };
    const capacityTypes = new Set([c.capacityType]);
    const zones = requirementValues(c.requirements, LABEL_TOPOLOGY_ZONE);
    const share = kernelPerHour > 0 ? c.pricePerHour / kernelPerHour : 1 / claims.length;
    let cap = c.pricePerHour + slack * share;
    if (rule.sameType !== undefined)
      for (const name of c.instanceTypeOptions) {
        const p = rule.sameType.get(name);
        if (p !== undefined && p - MIN_SAVING_PER_HOUR < cap) cap = p - MIN_SAVING_PER_HOUR;
      }
    const ranked = launchOptions(catalog, pool, c, zones, capacityTypes, evicted).filter(
      (o) => o.worst < cap,
    );
    let options = keepMinValues(ranked, pool, MAX_OPTIONS);
    if (options === undefined || options.length === 0) return { ok: false, kept: noCheaper };
    if (spotToSpot && sim.removed.length === 1) {
      if (options.length < SPOT_TO_SPOT_MIN_TYPES) return { ok: false, kept: noCheaper };
      options = keepMinValues(options, pool, SPOT_TO_SPOT_MIN_TYPES) ?? options;
    }
    const claim = claimWith(c, options);
    worstPerHour += claim.worstPricePerHour;
    out.push(claim);
  }
  // The caps guarantee this; a float rounding at the edge must not let a command through.
  if (!(sim.removedPerHour - worstPerHour > rule.thresholdPerHour + MIN_SAVING_PER_HOUR))
    return { ok: false, kept: noCheaper };
  return { ok: true, claims: out, worstPerHour };
}

/** Why a command whose candidates are all spot is refused while spot-to-spot consolidation is disabled. */
export function spotToSpotDisabled(removedPerHour: number): KeptReason {
  return { code: "no_cheaper_replacement", pricePerHour: removedPerHour, spotToSpotDisabled: true };
}

/**
 * The replacements of a command that goes ahead whatever it costs (expiration, interruption, drift):
 * the kernel's claims with launch options taken from the full catalog, nothing cut for price.
 */
export function launchAnyPrice(
  catalog: DisruptionCatalog,
  pools: ReadonlyMap<string, NodePool>,
  sim: Simulation,
): PlannedNodeClaim[] {
  const evicted = placedByKey(sim);
  return sim.claims.map((c) => {
    const pool = pools.get(c.nodePool) as NodePool;
    const zones = requirementValues(c.requirements, LABEL_TOPOLOGY_ZONE);
    const ranked = launchOptions(catalog, pool, c, zones, new Set([c.capacityType]), evicted);
    const options = keepMinValues(ranked, pool, MAX_OPTIONS) ?? [];
    return options.length === 0 ? c : claimWith(c, options);
  });
}

/** The pods a simulation placed (evicted and migrating), by key: what its claims must hold. */
function placedByKey(sim: Simulation): Map<string, Pod> {
  const out = new Map<string, Pod>();
  for (const p of sim.evicted) out.set(podKey(p), p);
  for (const p of sim.migrating) out.set(podKey(p), p);
  return out;
}

/** A claim narrowed to `options` (cheapest first): priced at the first, worst at the dearest. */
function claimWith(c: PlannedNodeClaim, options: readonly RankedOption[]): PlannedNodeClaim {
  const first = options[0] as RankedOption;
  let worst = 0;
  for (const o of options) if (o.worst > worst) worst = o.worst;
  const names = options.map((o) => o.type.name);
  return {
    ...c,
    instanceType: first.type.name,
    instanceTypeOptions: names,
    zone: first.zone,
    pricePerHour: first.cheapest,
    worstPricePerHour: worst,
    requirements: c.requirements.map(
      (r): NodeSelectorRequirement =>
        r.key === LABEL_INSTANCE_TYPE
          ? { ...r, operator: "In", values: names }
          : r.key === LABEL_CAPACITY_TYPE
            ? { ...r, operator: "In", values: [c.capacityType] }
            : r,
    ),
  };
}

interface RankedOption {
  type: InstanceType;
  cheapest: number;
  /** Zone of the cheapest offering. */
  zone: string;
  worst: number;
}

/**
 * Every instance type a claim may launch as, cheapest first: the kernel's options, and, where the search
 * used a pruned catalog, every type of the full catalog interchangeable with one of them that holds the
 * claim's pods and DaemonSet overhead in the claim's zones and capacity types.
 */
function launchOptions(
  catalog: DisruptionCatalog,
  pool: NodePool,
  c: PlannedNodeClaim,
  zones: ReadonlySet<string>,
  capacityTypes: ReadonlySet<string>,
  evicted: ReadonlyMap<string, Pod>,
): RankedOption[] {
  const full = catalog.full.get(pool.name) ?? new Map<string, InstanceType>();
  const allowed = catalog.launchable.get(pool.name) ?? new Map<InstanceType, string>();
  let types: InstanceType[];
  if ((catalog.pruned[pool.name]?.length ?? 0) === allowed.size || c.capacityType === "reserved") {
    types = c.instanceTypeOptions.map((n) => full.get(n)).filter((t): t is InstanceType => t !== undefined);
  } else {
    const sigs = new Set<string>();
    for (const n of c.instanceTypeOptions) {
      const t = full.get(n);
      const sig = t === undefined ? undefined : allowed.get(t);
      if (sig !== undefined) sigs.add(sig);
    }
    const need: Record<string, number> = { ...c.daemonSetOverhead };
    for (const k of c.pods) {
      const p = evicted.get(k);
      if (p !== undefined) for (const [r, v] of Object.entries(p.requests)) need[r] = (need[r] ?? 0) + v;
    }
    const needs = Object.entries(need).filter(([, v]) => v > 0);
    types = [];
    for (const [t, sig] of allowed) {
      if (!sigs.has(sig)) continue;
      if (needs.every(([r, v]) => v <= (t.allocatable[r] ?? 0))) types.push(t);
    }
  }
  const out: RankedOption[] = [];
  for (const t of types) {
    const cheapest = cheapestPrice(t.offerings, zones, capacityTypes);
    if (!Number.isFinite(cheapest)) continue;
    const zone = t.offerings
      .filter((o) => o.available && zones.has(o.zone) && capacityTypes.has(o.capacityType))
      .sort((a, b) => a.pricePerHour - b.pricePerHour || cmp(a.zone, b.zone))[0]?.zone as string;
    out.push({ type: t, cheapest, zone, worst: worstLaunchPrice(t.offerings, zones, capacityTypes) });
  }
  return out.sort((a, b) => a.cheapest - b.cheapest || cmp(a.type.name, b.type.name));
}

/**
 * The first `limit` options, plus, for each NodePool requirement with minValues still short, the
 * cheapest options that add a missing value; undefined when even every option falls short.
 */
function keepMinValues(options: RankedOption[], pool: NodePool, limit: number): RankedOption[] | undefined {
  const withMin = pool.template.requirements.filter((r) => r.minValues !== undefined);
  const labelOf = (o: RankedOption, key: string) =>
    key === LABEL_INSTANCE_TYPE ? o.type.name : o.type.labels[key];
  const distinct = (list: readonly RankedOption[], key: string) =>
    new Set(list.map((o) => labelOf(o, key)).filter((x) => x !== undefined)).size;
  for (const r of withMin) if (distinct(options, r.key) < (r.minValues as number)) return undefined;
  const kept = options.slice(0, limit);
  for (const r of withMin) {
    const have = new Set(kept.map((o) => labelOf(o, r.key)));
    for (const o of options.slice(limit)) {
      if (have.size >= (r.minValues as number)) break;
      const v = labelOf(o, r.key);
      if (v === undefined || have.has(v)) continue;
      have.add(v);
      kept.push(o);
    }
  }
  return kept.sort((a, b) => a.cheapest - b.cheapest || cmp(a.type.name, b.type.name));
}

function requirementValues(reqs: readonly NodeSelectorRequirement[], key: string): Set<string> {
  return new Set(reqs.find((r) => r.key === key && r.operator === "In")?.values ?? []);
}
