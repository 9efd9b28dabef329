import { cmp } from "../compare.ts";
import type { InstanceType, Node, NodePool, Offering } from "../model.ts";
import { poolAccepts } from "../provisioning/compat.ts";
import { instanceTypesFor } from "../provisioning/input.ts";
import { LABEL_CAPACITY_TYPE } from "../well-known-labels.ts";
import type { DisruptionInput } from "./input.ts";

/**
 * The catalog as the disruption planner sees it: each NodePool's full list (what a replacement may
 * launch as), a pruned list for the search (dominated types dropped), and the label keys anything in
 * the cluster can select on (which decide when two types are interchangeable).
 */
export interface DisruptionCatalog {
  /** Per NodePool: every instance type by name. The key "" is the list shared by all NodePools. */
  readonly full: ReadonlyMap<string, ReadonlyMap<string, InstanceType>>;
  /** Per NodePool: the types simulations use (see `pruneDominated`). */
  readonly pruned: Readonly<Record<string, readonly InstanceType[]>>;
  /** Per NodePool: label keys any requirement, selector, affinity or spread in the cluster names. */
  readonly selectable: ReadonlyMap<string, readonly string[]>;
  /**
   * Per NodePool: the types its requirements allow (an offering it accepts), each with its signature
   * on the selectable keys: replacements' launch options are looked for among these.
   */
  readonly launchable: ReadonlyMap<string, ReadonlyMap<InstanceType, string>>;
  /**
   * The least any launchable offering of any NodePool costs per millicore and per memory byte: what new
   * capacity can cost at best, for bounds that let a search skip what cannot pay.
   */
  readonly cheapestRates: { cpuMillis: number; memoryBytes: number };
  /**
   * No pod constrains another (no topology spread, pod affinity or anti-affinity, host port): a
   * simulation then needs only the evicted pods and each node's room left, not every bound pod.
   */
  readonly independentPods: boolean;
  /**
   * What a NodeClaim a simulation opens costs at least when it cannot launch as spot, or undefined when
   * that cannot be told from the catalog (`onDemandFloor`). Found on first use.
   */
  readonly onDemandFloor: () => OnDemandFloor | undefined;
}

/**
 * The least a claim that may not launch as spot costs: its price, and per millicore and per byte of what
 * it holds (Infinity when every claim may launch as spot).
 */
export interface OnDemandFloor {
  pricePerHour: number;
  perCpuMilli: number;
  perMemoryByte: number;
}

export function disruptionCatalog(input: DisruptionInput): DisruptionCatalog {
  const full = new Map<string, Map<string, InstanceType>>();
  const pruned: Record<string, readonly InstanceType[]> = {};
  const selectable = new Map<string, string[]>();
  const launchable = new Map<string, Map<InstanceType, string>>();
  const requested = requestedResources(input);
  const cheapestRates = { cpuMillis: Number.POSITIVE_INFINITY, memoryBytes: Number.POSITIVE_INFINITY };
  const podKeys = podSelectableKeys(input);
  for (const pool of input.nodePools) {
    const types = instanceTypesFor(input, pool.name);
    full.set(pool.name, new Map(types.map((t) => [t.name, t])));
    const keys = poolSelectableKeys(pool, podKeys);
    selectable.set(pool.name, keys);
    const allowed = types.filter((t) => t.offerings.some((o) => poolAccepts(pool, t, o)));
    for (const t of allowed)
      for (const o of t.offerings) {
        if (!o.available || !poolAccepts(pool, t, o)) continue;
        for (const r of ["cpuMillis", "memoryBytes"] as const) {
          const alloc = t.allocatable[r] ?? 0;
          if (alloc > 0) cheapestRates[r] = Math.min(cheapestRates[r], o.pricePerHour / alloc);
        }
      }
    launchable.set(pool.name, new Map(allowed.map((t) => [t, signature(t, keys)])));
    pruned[pool.name] = Object.freeze(pruneDominated(input, pool, allowed, keys, requested));
  }
  // Unmanaged nodes are priced from a catalog shared by all NodePools, when there is one.
  full.set("", new Map(instanceTypesFor(input, "").map((t) => [t.name, t])));
  const independentPods = input.pods.every(
    (p) =>
      p.topologySpreadConstraints.length === 0 &&
      p.hostPorts.length === 0 &&
      p.podAffinity.required.length === 0 &&
      p.podAffinity.preferred.length === 0 &&
      p.podAntiAffinity.required.length === 0 &&
      p.podAntiAffinity.preferred.length === 0,
  );
  let floor: { value: OnDemandFloor | undefined } | undefined;
  // Frozen lists: deeply frozen when the types are, so encoding may remember its offerings for them.
  return {
    full,
    pruned: Object.freeze(pruned),
    selectable,
    launchable,
    cheapestRates,
    independentPods,
    onDemandFloor: () =>
      (floor ??= { value: onDemandFloor(input.nodePools, pruned, podKeys, requested) }).value,
  };
}

/**
 * The least a claim costs when it may not launch as spot. A claim's capacity types are those of its
 * option set (decode.ts: a reserved claim is only reserved, and spot dearer than the set's cheapest
 * on-demand offering is dropped), so it may launch as spot unless its set's cheapest offering is
 * on-demand (spot goes first at one price), and it is priced at that offering. A bin's option set is
 * the offerings compatible with its pods that hold its load (narrowed as the load grows), so when an
 * on-demand offering is covered (a spot offering in its zone, at most as dear, of a type at least as
 * large in every requested resource that pods and DaemonSets cannot tell apart from it: the same values
 * on the keys they select on, not exotic unless it is), that spot offering is in every set it is in.
 * A claim that may not launch as spot is therefore priced at an uncovered on-demand offering that
 * holds its pods: the floor is the least such price, and the least such price per millicore and per
 * byte. Undefined when a pod or DaemonSet names the capacity type, or a NodePool has limits, minValues
 * or an available reserved offering (claims may then be on-demand or reserved for other reasons).
 */
function onDemandFloor(
  pools: readonly NodePool[],
  pruned: Readonly<Record<string, readonly InstanceType[]>>,
  keys: readonly string[],
  requested: ReadonlySet<string>,
): OnDemandFloor | undefined {
  if (keys.includes(LABEL_CAPACITY_TYPE)) return undefined;
  const resources = [...requested];
  const floor = {
    pricePerHour: Number.POSITIVE_INFINITY,
    perCpuMilli: Number.POSITIVE_INFINITY,
    perMemoryByte: Number.POSITIVE_INFINITY,
  };
  for (const pool of pools) {
    const types = pruned[pool.name] ?? [];
    if (types.length === 0) continue;
    if (
      Object.keys(pool.limits).length > 0 ||
      pool.template.requirements.some((r) => r.minValues !== undefined)
    )
      return undefined;
    // Per type: its signature, and its cheapest accepted spot offering per zone.
    const spot = types.map((t) => {
      const byZone = new Map<string, number>();
      for (const o of t.offerings)
        if (o.available && o.capacityType === "spot" && poolAccepts(pool, t, o))
          byZone.set(o.zone, Math.min(byZone.get(o.zone) ?? Number.POSITIVE_INFINITY, o.pricePerHour));
      return { t, sig: signature(t, keys), byZone };
    });
    for (const a of spot)
      for (const o of a.t.offerings) {
        if (!o.available || !poolAccepts(pool, a.t, o)) continue;
        if (o.capacityType === "reserved") return undefined;
        if (o.capacityType !== "on-demand") continue;
        const covered = spot.some(
          (b) =>
            (b.byZone.get(o.zone) ?? Number.POSITIVE_INFINITY) <= o.pricePerHour &&
            b.sig === a.sig &&
            (b.t.exotic !== true || a.t.exotic === true) &&
            resources.every((r) => (b.t.allocatable[r] ?? 0) >= (a.t.allocatable[r] ?? 0)),
        );
        if (covered) continue;
        const cpu = a.t.allocatable.cpuMillis ?? 0;
        const mem = a.t.allocatable.memoryBytes ?? 0;
        floor.pricePerHour = Math.min(floor.pricePerHour, o.pricePerHour);
        // A type without cpu or memory holds none of it: it bounds nothing per unit.
        floor.perCpuMilli = Math.min(floor.perCpuMilli, cpu > 0 ? o.pricePerHour / cpu : 0);
        floor.perMemoryByte = Math.min(floor.perMemoryByte, mem > 0 ? o.pricePerHour / mem : 0);
      }
  }
  return floor;
}

/** A node's price: its own, else its offering's in the catalog, else 0. */
export function nodePrice(catalog: DisruptionCatalog, n: Node): number {
  if (n.pricePerHour !== undefined) return n.pricePerHour;
  const it = (catalog.full.get(n.nodePool ?? "") ?? catalog.full.get(""))?.get(n.instanceType ?? "");
  return it?.offerings.find((o) => o.zone === n.zone && o.capacityType === n.capacityType)?.pricePerHour ?? 0;
}

/**
 * Karpenter's worst launch price of an instance type under a claim's zones and capacity types
 * (cloudprovider Offerings.WorstLaunchPrice): among its available offerings there, those of the
 * capacity type it would launch as (reserved, then spot, then on-demand), the dearest. Infinity when
 * none is left.
 */
export function worstLaunchPrice(
  offerings: readonly Offering[],
  zones: ReadonlySet<string>,
  capacityTypes: ReadonlySet<string>,
): number {
  for (const ct of ["reserved", "spot", "on-demand"] as const) {
    if (!capacityTypes.has(ct)) continue;
    let worst = Number.NEGATIVE_INFINITY;
    for (const o of offerings)
      if (o.available && o.capacityType === ct && zones.has(o.zone) && o.pricePerHour > worst)
        worst = o.pricePerHour;
    if (worst > Number.NEGATIVE_INFINITY) return worst;
  }
  return Number.POSITIVE_INFINITY;
}

/** The cheapest available offering of a type in the given zones and capacity types (Infinity: none). */
export function cheapestPrice(
  offerings: readonly Offering[],
  zones: ReadonlySet<string>,
  capacityTypes: ReadonlySet<string>,
): number {
  let best = Number.POSITIVE_INFINITY;
  for (const o of offerings)
    if (o.available && zones.has(o.zone) && capacityTypes.has(o.capacityType) && o.pricePerHour < best)
      best = o.pricePerHour;
  return best;
}

/** Resources something requests: only these can make one type better than another. */
function requestedResources(input: DisruptionInput): Set<string> {
  const resources = new Set<string>(["pods"]);
  for (const x of input.pods) for (const [k, v] of Object.entries(x.requests)) if (v > 0) resources.add(k);
  for (const x of input.daemonSets ?? [])
    for (const [k, v] of Object.entries(x.requests)) if (v > 0) resources.add(k);
  return resources;
}

/** Label keys anything in the cluster can select on for nodes of `pool`, sorted. */
export function selectableKeys(input: DisruptionInput, pool: NodePool): string[] {
  return poolSelectableKeys(pool, podSelectableKeys(input));
}

function poolSelectableKeys(pool: NodePool, podKeys: readonly string[]): string[] {
  const keys = new Set<string>([
    ...pool.template.requirements.map((r) => r.key),
    ...Object.keys(pool.template.labels),
    ...podKeys,
  ]);
  return [...keys].sort(cmp);
}

/** Label keys pods and DaemonSets select, spread or co-locate on, sorted. */
function podSelectableKeys(input: DisruptionInput): string[] {
  const keys = new Set<string>();
  const addTerms = (terms: readonly { matchExpressions: readonly { key: string }[] }[]) => {
    for (const t of terms) for (const e of t.matchExpressions) keys.add(e.key);
  };
  for (const p of input.pods) {
    for (const k of Object.keys(p.nodeSelector)) keys.add(k);
    addTerms(p.requiredNodeAffinity);
    addTerms(p.preferredNodeAffinity.map((x) => x.preference));
    for (const r of p.volumeRequirements) keys.add(r.key);
    for (const c of p.topologySpreadConstraints) keys.add(c.topologyKey);
    for (const t of [...p.podAffinity.required, ...p.podAntiAffinity.required]) keys.add(t.topologyKey);
    for (const t of [...p.podAffinity.preferred, ...p.podAntiAffinity.preferred])
      keys.add(t.term.topologyKey);
  }
  for (const d of input.daemonSets ?? []) {
    for (const k of Object.keys(d.nodeSelector)) keys.add(k);
    addTerms(d.requiredNodeAffinity);
  }
  return [...keys].sort(cmp);
}

/** A type's values on the selectable keys: types with equal signatures satisfy the same requirements. */
export function signature(t: InstanceType, keys: readonly string[]): string {
  let out = "";
  for (const k of keys) out += `${t.labels[k] ?? ""}\u0000`;
  return out;
}

/**
 * The catalog a simulation needs: an instance type is dropped when another one is at least as large
 * in every allocatable resource, carries the same value on every label key anything in the cluster
 * can select on, and has an offering at most as expensive in every zone and capacity type it has.
 * Any node of the dropped type can then be swapped for the other at no extra cost, so the cheapest
 * replacement is unchanged. Only the search uses this list: a replacement's launch options are taken
 * from the full catalog again (see replacements.ts). NodePools with limits or minValues keep their
 * whole catalog (a dominated type may be what fits under a limit or adds a value).
 */
export function pruneDominated(
  input: DisruptionInput,
  pool: NodePool,
  types: readonly InstanceType[],
  keys: readonly string[] = selectableKeys(input, pool),
  requested: ReadonlySet<string> = requestedResources(input),
): InstanceType[] {
  if (
    Object.keys(pool.limits).length > 0 ||
    pool.template.requirements.some((r) => r.minValues !== undefined)
  )
    return [...types];
  const resources = requested;
  const info = types.map((t) => {
    const offers = new Map<string, number>();
    for (const o of t.offerings) {
      const at = `${o.zone}/${o.capacityType}`;
      if (o.available) offers.set(at, Math.min(offers.get(at) ?? Number.POSITIVE_INFINITY, o.pricePerHour));
    }
    return {
      t,
      sig: signature(t, keys),
      alloc: [...resources].map((r) => t.allocatable[r] ?? 0),
      offers,
      cheapest: Math.min(...offers.values()),
    };
  });
  const dominates = (a: (typeof info)[number], b: (typeof info)[number]) => {
    if (a.sig !== b.sig) return false;
    for (let r = 0; r < a.alloc.length; r++)
      if ((a.alloc[r] as number) < (b.alloc[r] as number)) return false;
    for (const [at, price] of b.offers) {
      const other = a.offers.get(at);
      if (other === undefined || other > price) return false;
    }
    return true;
  };
  // Cheapest first against the types kept so far (dominance is transitive); a type with no available
  // offering is kept as it is (the simulation skips it anyway).
  info.sort((a, b) => a.cheapest - b.cheapest || cmp(a.t.name, b.t.name));
  const kept: (typeof info)[number][] = [];
  for (const b of info) if (b.offers.size === 0 || !kept.some((a) => dominates(a, b))) kept.push(b);
  return kept.map((x) => x.t).sort((a, b) => cmp(a.name, b.name));
}
