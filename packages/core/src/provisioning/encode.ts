import { type EncodedProblem, encodedProblem } from "@nodeplan/solver-wasm";
import { cmp } from "../compare.ts";
import { deeplyFrozen } from "../frozen.ts";
import type { DaemonSet, InstanceType, Node, NodePool, Offering, Pod, ResourceVector } from "../model.ts";
import {
  constraintsOf,
  daemonSetFits,
  nodeAccepts,
  offeringAccepts,
  type PodConstraints,
  poolAccepts,
} from "./compat.ts";
import { instanceTypesFor, isProvisionable, type ProvisioningInput } from "./input.ts";

/**
 * Turns a provisioning input into the kernel's integer-indexed problem: identical pods become one
 * group, every (NodePool, instance type, zone, capacity type) becomes an offering with its allocatable
 * net of DaemonSet overhead, compatibility becomes bitsets. Strings stay on this side of the boundary.
 */

/** A pod group: pods with identical requests and scheduling constraints. */
export interface PodGroup {
  /** Pods in Karpenter's queue order (creation time, then uid). */
  pods: Pod[];
  requests: ResourceVector;
  /** Index of the group's constraint class (pods with the same scheduling constraints). */
  constraintClass: number;
}

/** One offering as the kernel sees it, with what decoding needs to name it. */
export interface EncodedOffering {
  nodePool: NodePool;
  instanceType: InstanceType;
  offering: Offering;
  /** DaemonSet requests landing on a node of this offering. */
  overhead: ResourceVector;
  allocatable: ResourceVector;
  key: string;
}

/** Everything decoding needs besides the kernel's result. */
export interface Encoding {
  problem: EncodedProblem;
  resources: string[];
  groups: PodGroup[];
  constraintClasses: PodConstraints[];
  offerings: readonly EncodedOffering[];
  existing: Node[];
  /** NodePools in priority order (weight descending, then name). */
  pools: NodePool[];
  /** Compatibility of each constraint class with each offering (before fit). */
  classOfferings: Uint8Array[];
  /**
   * Each constraint class's key: its constraints' key, and whether exotic offerings are cut. Over the
   * same offerings list, the same key has the same row in `classOfferings`.
   */
  classKeys: string[];
}

const FIRST_RESOURCES = ["cpuMillis", "memoryBytes", "pods"];

/** Karpenter's queue order: cpu desc, memory desc, creation time, uid. */
export function comparePods(a: Pod, b: Pod): number {
  const cpu = (b.requests.cpuMillis ?? 0) - (a.requests.cpuMillis ?? 0);
  if (cpu !== 0) return cpu;
  const mem = (b.requests.memoryBytes ?? 0) - (a.requests.memoryBytes ?? 0);
  if (mem !== 0) return mem;
  return cmp(a.creationTimestamp, b.creationTimestamp) || cmp(a.uid, b.uid);
}

/** NodePools by weight descending, ties by name descending (Karpenter's order). */
export function poolOrder(pools: readonly NodePool[]): NodePool[] {
  return [...pools].sort((a, b) => b.weight - a.weight || cmp(b.name, a.name));
}

/**
 * The usable offerings of every NodePool, pools in `pools` order, each pool's cheapest first (see
 * `encode`). Remembered when the catalog, NodePools and DaemonSets are deeply frozen: a disruption
 * search encodes the same catalog for every candidate set it tries.
 */
function offeringsOf(input: ProvisioningInput, pools: readonly NodePool[]): readonly EncodedOffering[] {
  const daemonSets = input.daemonSets ?? NO_DAEMONSETS;
  const lasting =
    deeplyFrozen(input.instanceTypes) && deeplyFrozen(input.nodePools) && deeplyFrozen(daemonSets);
  let byPools: WeakMap<object, WeakMap<object, readonly EncodedOffering[]>> | undefined;
  let byDaemonSets: WeakMap<object, readonly EncodedOffering[]> | undefined;
  if (lasting) {
    byPools = offeringsCache.get(input.instanceTypes);
    if (byPools === undefined) offeringsCache.set(input.instanceTypes, (byPools = new WeakMap()));
    byDaemonSets = byPools.get(input.nodePools);
    if (byDaemonSets === undefined) byPools.set(input.nodePools, (byDaemonSets = new WeakMap()));
    const known = byDaemonSets.get(daemonSets);
    if (known !== undefined) return known;
  }
  const offerings: EncodedOffering[] = [];
  for (const pool of pools) {
    const poolOfferings: EncodedOffering[] = [];
    for (const it of instanceTypesFor(input, pool.name)) {
      for (const o of it.offerings) {
        if (!o.available || o.reservationCapacity === 0) continue;
        const usable = usableOffering(daemonSets, pool, it, o);
        if (usable !== undefined) poolOfferings.push(usable);
      }
    }
    poolOfferings.sort(
      (a, b) =>
        a.offering.pricePerHour - b.offering.pricePerHour ||
        LAUNCH_PRECEDENCE[a.offering.capacityType] - LAUNCH_PRECEDENCE[b.offering.capacityType] ||
        cmp(a.instanceType.name, b.instanceType.name) ||
        cmp(a.offering.zone, b.offering.zone) ||
        cmp(a.offering.reservationId ?? "", b.offering.reservationId ?? ""),
    );
    offerings.push(...poolOfferings);
  }
  byDaemonSets?.set(daemonSets, offerings);
  return offerings;
}

const offeringsCache = new WeakMap<object, WeakMap<object, WeakMap<object, readonly EncodedOffering[]>>>();

/** Builds the kernel problem. */
export function encode(
  input: ProvisioningInput,
  values?: (g: PodGroup, resources: string[]) => number,
): Encoding {
  const pending = input.pods.filter(isProvisionable).sort(comparePods);
  const pools = poolOrder(input.nodePools);

  // Resource dimensions: what pending pods request, and what NodePool limits constrain.
  const keys = new Set<string>(FIRST_RESOURCES);
  for (const p of pending) for (const k in p.requests) if ((p.requests[k] as number) > 0) keys.add(k);
  for (const pool of pools) for (const k of Object.keys(pool.limits)) if (k !== "nodes") keys.add(k);
  const resources = [...FIRST_RESOURCES, ...[...keys].filter((k) => !FIRST_RESOURCES.includes(k)).sort()];
  const R = resources.length;

  // Offerings per NodePool in priority order, cheapest first within a pool, ties by Karpenter's launch
  // precedence (reserved > spot > on-demand) then names, so that the kernel's "lowest index wins"
  // tie-break is the cheapest, then the preferred capacity type. A reservation with no instance left
  // is not an offering.
  const offerings = offeringsOf(input, pools);
  const T = offerings.length;
  const W = Math.ceil(T / 32);

  // Constraint classes and groups. A class is the pods' constraints plus whether they need an exotic
  // instance type (exoticNeeded: none of the other offerings they may use holds one of them); its row
  // is the offerings it may use. Pods are grouped per constraints by request vector in nested maps
  // keyed by value (no key strings per pod); a new group decides its class.
  const classIndex = new Map<string, number>();
  const constraintClasses: PodConstraints[] = [];
  const classOfferings: Uint8Array[] = [];
  const classKeys: string[] = [];
  const groups: PodGroup[] = [];
  const exotic = exoticOfferings(offerings);
  const bases = new Map<string, { constraints: PodConstraints; row: Uint8Array; groups: RequestTrie }>();
  const classOf = (constraints: PodConstraints, row: Uint8Array, withExotic: boolean): number => {
    const key = withExotic ? constraints.key : `${constraints.key}|no-exotic`;
    let c = classIndex.get(key);
    if (c === undefined) {
      c = constraintClasses.length;
      classIndex.set(key, c);
      constraintClasses.push(constraints);
      classOfferings.push(withExotic ? row : withoutExotic(row, exotic));
      classKeys.push(key);
    }
    return c;
  };
  let unconstrained: PodConstraints | undefined;
  for (const pod of pending) {
    // Most pods have no node constraints at all: one shared constraints object for them.
    const constraints = hasNodeConstraints(pod) ? constraintsOf(pod) : (unconstrained ??= constraintsOf(pod));
    let base = bases.get(constraints.key);
    if (base === undefined) {
      const row = new Uint8Array(T);
      for (let t = 0; t < T; t++) {
        const o = offerings[t] as EncodedOffering;
        row[t] = offeringAccepts(constraints, o.nodePool, o.instanceType, o.offering) ? 1 : 0;
      }
      base = { constraints, row, groups: new Map() };
      bases.set(constraints.key, base);
    }
    let level = base.groups;
    for (let r = 0; r < R - 1; r++) {
      const v = pod.requests[resources[r] as string] ?? 0;
      let next = level.get(v) as RequestTrie | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(v, next);
      }
      level = next;
    }
    const last = pod.requests[resources[R - 1] as string] ?? 0;
    let g = level.get(last) as number | undefined;
    if (g === undefined) {
      g = groups.length;
      level.set(last, g);
      const needs = exotic === undefined || exoticNeeded(base.row, exotic, offerings, pod.requests);
      groups.push({
        pods: [],
        requests: pod.requests,
        constraintClass: classOf(base.constraints, base.row, needs),
      });
    }
    groups[g]?.pods.push(pod);
  }
  // (Spot priced above on-demand is Karpenter's launch-time rule over a whole claim: decoding applies
  // it to each claim's options.)

  // Capacity reservations: one launch cap per reservation id, shared by every NodePool that offers it.
  // A reserved offering without a known count is left uncapped.
  const capGroup = new Int32Array(T).fill(-1);
  const capMax: number[] = [];
  const groupOf = new Map<string, number>();
  offerings.forEach(({ offering: o, instanceType: it }, t) => {
    if (o.capacityType !== "reserved" || o.reservationCapacity === undefined) return;
    const id = o.reservationId ?? `${it.name}/${o.zone}`;
    let k = groupOf.get(id);
    if (k === undefined) {
      k = capMax.length;
      groupOf.set(id, k);
      capMax.push(o.reservationCapacity);
    }
    capMax[k] = Math.min(capMax[k] as number, o.reservationCapacity);
    capGroup[t] = k;
  });

  // Existing nodes and in-flight claims that can take pods.
  const existing = input.nodes.filter((n) => !n.deleting && !n.unschedulable);
  // Callers mostly pass nodes in name order already (a disruption view keeps them so).
  let sorted = true;
  for (let e = 1; e < existing.length && sorted; e++)
    sorted = cmp((existing[e - 1] as Node).name, (existing[e] as Node).name) < 0;
  if (!sorted) existing.sort((a, b) => cmp(a.name, b.name));
  const E = existing.length;
  const WE = Math.ceil(E / 32);
  // What the pods bound to each existing node request, per resource dimension (summed in pod order).
  // Only these nodes' sums are needed: pods elsewhere are skipped without reading their requests.
  const boundSums = new Map<string, Float64Array>();
  for (const n of existing) if (!boundSums.has(n.name)) boundSums.set(n.name, new Float64Array(R));
  for (const p of input.pods) {
    if (p.nodeName === undefined || p.terminating || p.phase === "Succeeded" || p.phase === "Failed")
      continue;
    const sum = boundSums.get(p.nodeName);
    if (sum === undefined) continue;
    for (let j = 0; j < R; j++) sum[j] = (sum[j] as number) + (p.requests[resources[j] as string] ?? 0);
  }
  const classExisting = constraintClasses.map((c) => existing.map((n) => nodeAccepts(c, n)));

  const G = groups.length;
  const requests = new Float64Array(G * R);
  const counts = new Int32Array(G);
  const compat = new Uint32Array(G * W);
  const existingCompat = new Uint32Array(G * WE);
  const value = new Float64Array(G);
  groups.forEach((g, i) => {
    resources.forEach((r, j) => {
      requests[i * R + j] = g.requests[r] ?? 0;
    });
    counts[i] = g.pods.length;
    const row = classOfferings[g.constraintClass] as Uint8Array;
    for (let t = 0; t < T; t++)
      if (row[t] === 1) compat[i * W + (t >>> 5)] = (compat[i * W + (t >>> 5)] as number) | (1 << (t & 31));
    const ex = classExisting[g.constraintClass] as boolean[];
    for (let e = 0; e < E; e++)
      if (ex[e])
        existingCompat[i * WE + (e >>> 5)] = (existingCompat[i * WE + (e >>> 5)] as number) | (1 << (e & 31));
    value[i] = values === undefined ? 0 : values(g, resources);
  });

  const allocatable = new Float64Array(T * R);
  const capacity = new Float64Array(T * R);
  const priceMicros = new Float64Array(T);
  const pool = new Int32Array(T);
  const shape = new Int32Array(T);
  // Offerings of one shape (same pool, price, allocatable, capacity, reservation group and accepting
  // classes) are interchangeable: each gets its first such offering as representative. Found by a
  // numeric hash checked field by field: a string key per offering was most of encoding's time when
  // the disruption planner encodes the same catalog thousands of times (a simulated day).
  const C = classOfferings.length;
  const buckets = new Map<number, number[]>();
  const bits = new Float64Array(1);
  const words = new Int32Array(bits.buffer);
  const mix = (h: number, x: number) => {
    bits[0] = x;
    h = Math.imul(h ^ (words[0] as number), 0x9e3779b1);
    return Math.imul(h ^ (words[1] as number), 0x85ebca77);
  };
  const sameShape = (a: number, b: number) => {
    if (pool[a] !== pool[b] || priceMicros[a] !== priceMicros[b] || capGroup[a] !== capGroup[b]) return false;
    for (let j = 0; j < R; j++)
      if (allocatable[a * R + j] !== allocatable[b * R + j] || capacity[a * R + j] !== capacity[b * R + j])
        return false;
    for (let c = 0; c < C; c++) {
      const row = classOfferings[c] as Uint8Array;
      if ((row[a] === 1) !== (row[b] === 1)) return false;
    }
    return true;
  };
  for (let t = 0; t < T; t++) {
    const o = offerings[t] as EncodedOffering;
    let h = 0x811c9dc5;
    for (let j = 0; j < R; j++) {
      const r = resources[j] as string;
      allocatable[t * R + j] = o.allocatable[r] ?? 0;
      capacity[t * R + j] = o.instanceType.capacity[r] ?? 0;
      h = mix(mix(h, allocatable[t * R + j] as number), capacity[t * R + j] as number);
    }
    priceMicros[t] = Math.round(o.offering.pricePerHour * 1e6);
    pool[t] = pools.indexOf(o.nodePool);
    h = mix(mix(mix(h, pool[t] as number), priceMicros[t] as number), capGroup[t] as number);
    for (let c = 0; c < C; c++)
      h = Math.imul(h ^ ((classOfferings[c] as Uint8Array)[t] === 1 ? c + 1 : 0), 0x01000193);
    const seen = buckets.get(h);
    const rep = seen?.find((u) => sameShape(u, t));
    if (rep === undefined) {
      if (seen === undefined) buckets.set(h, [t]);
      else seen.push(t);
    }
    shape[t] = rep ?? t;
  }

  const P = pools.length;
  const limits = new Float64Array(P * (R + 1)).fill(Number.POSITIVE_INFINITY);
  const used = new Float64Array(P * (R + 1));
  pools.forEach((p, i) => {
    resources.forEach((r, j) => {
      const limit = p.limits[r];
      if (limit !== undefined) limits[i * (R + 1) + j] = limit;
    });
    if (p.limits.nodes !== undefined) limits[i * (R + 1) + R] = p.limits.nodes;
  });
  // Only pools with limits read what their nodes use.
  const limitedPool = new Map<string, number>();
  pools.forEach((p, i) => {
    if (Object.keys(p.limits).length > 0 && !limitedPool.has(p.name)) limitedPool.set(p.name, i);
  });
  if (limitedPool.size > 0)
    for (const n of input.nodes) {
      const i = limitedPool.get(n.nodePool as string);
      if (i === undefined) continue;
      for (let j = 0; j < R; j++) {
        const r = resources[j] as string;
        used[i * (R + 1) + j] = (used[i * (R + 1) + j] as number) + (n.capacity[r] ?? n.allocatable[r] ?? 0);
      }
      used[i * (R + 1) + R] = (used[i * (R + 1) + R] as number) + 1;
    }

  const remaining = new Float64Array(E * R);
  for (let e = 0; e < E; e++) {
    const n = existing[e] as Node;
    const bound = boundSums.get(n.name) as Float64Array;
    for (let j = 0; j < R; j++)
      remaining[e * R + j] = Math.max(0, (n.allocatable[resources[j] as string] ?? 0) - (bound[j] as number));
  }

  // The output regions are sized per solve (see solveWithCapacity).
  const problem = encodedProblem({
    resources: R,
    groups: { requests, counts, compat, existingCompat, value },
    offerings: { allocatable, capacity, priceMicros, pool, shape, capGroup },
    capGroups: { maxBins: Int32Array.from(capMax) },
    pools: { limits, used },
    existing: { remaining },
    options: {
      maxBins: 0,
      maxPlacements: 0,
      candidateShapes: input.options?.candidateShapes ?? 24,
      improve: input.options?.improve ?? true,
    },
  });
  return {
    problem,
    resources,
    groups,
    constraintClasses,
    offerings,
    existing,
    pools,
    classOfferings,
    classKeys,
  };
}

/**
 * An offering as a NodePool may launch it (its DaemonSets' overhead taken off allocatable), or
 * undefined when the NodePool's requirements exclude it or its DaemonSets do not fit. A pure function
 * of its arguments, remembered per (DaemonSets, NodePool, offering) objects: a disruption plan
 * simulates dozens of times over the same catalog, and this was a tenth of each simulation.
 */
function usableOffering(
  daemonSets: readonly DaemonSet[],
  pool: NodePool,
  it: InstanceType,
  o: Offering,
): EncodedOffering | undefined {
  let byPool = usableCache.get(daemonSets);
  if (byPool === undefined) usableCache.set(daemonSets, (byPool = new WeakMap()));
  let byOffering = byPool.get(pool);
  if (byOffering === undefined) byPool.set(pool, (byOffering = new WeakMap()));
  const known = byOffering.get(o);
  if (known !== undefined && known.it === it) return known.usable;
  let usable: EncodedOffering | undefined;
  if (poolAccepts(pool, it, o)) {
    const overhead = daemonSetOverhead(daemonSets, pool, it, o);
    const allocatable: Record<string, number> = {};
    let negative = false;
    for (const [k, v] of Object.entries(it.allocatable)) {
      allocatable[k] = v - (overhead[k] ?? 0);
      if ((allocatable[k] as number) < 0) negative = true;
    }
    if (!negative)
      usable = {
        nodePool: pool,
        instanceType: it,
        offering: o,
        overhead,
        allocatable,
        key: `${pool.name}/${it.name}/${o.zone}/${o.capacityType}${o.reservationId === undefined ? "" : `/${o.reservationId}`}`,
      };
  }
  byOffering.set(o, { it, usable });
  return usable;
}

const NO_DAEMONSETS: readonly DaemonSet[] = Object.freeze([]);

const usableCache = new WeakMap<
  readonly DaemonSet[],
  WeakMap<NodePool, WeakMap<Offering, { it: InstanceType; usable: EncodedOffering | undefined }>>
>();

function daemonSetOverhead(
  daemonSets: readonly DaemonSet[],
  pool: NodePool,
  it: InstanceType,
  o: Offering,
): ResourceVector {
  const out: Record<string, number> = {};
  for (const ds of daemonSets) {
    if (!daemonSetFits(ds, pool, it, o)) continue;
    for (const [k, v] of Object.entries(ds.requests)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

/** Group indexes by request vector: a map per resource, the last level holding the group index. */
type RequestTrie = Map<number, RequestTrie | number>;

/** Whether a pod has any node-facing constraint (selector, affinity, volume topology, toleration). */
function hasNodeConstraints(pod: Pod): boolean {
  if (pod.requiredNodeAffinity.length > 0 || pod.tolerations.length > 0 || pod.volumeRequirements.length > 0)
    return true;
  for (const _ in pod.nodeSelector) return true;
  return false;
}

/**
 * Offerings of exotic instance types (`InstanceType.exotic`: metal, GPUs, accelerators, special-quota
 * families), or undefined when there are none. As in Karpenter's launch filter, a NodePool with
 * minValues keeps them as ordinary options.
 */
function exoticOfferings(offerings: readonly EncodedOffering[]): Uint8Array | undefined {
  let any = false;
  const mask = new Uint8Array(offerings.length);
  offerings.forEach((o, t) => {
    if (
      o.instanceType.exotic === true &&
      !o.nodePool.template.requirements.some((r) => r.minValues !== undefined)
    ) {
      mask[t] = 1;
      any = true;
    }
  });
  return any ? mask : undefined;
}

/** Pods need an exotic type when no other offering they may use holds one of them. */
function exoticNeeded(
  row: Uint8Array,
  exotic: Uint8Array,
  offerings: readonly EncodedOffering[],
  requests: ResourceVector,
): boolean {
  for (let t = 0; t < row.length; t++) {
    if (row[t] !== 1 || exotic[t] === 1) continue;
    if (fitsAlone(requests, (offerings[t] as EncodedOffering).allocatable)) return false;
  }
  return true;
}

function withoutExotic(row: Uint8Array, exotic: Uint8Array | undefined): Uint8Array {
  if (exotic === undefined) return row;
  const out = Uint8Array.from(row);
  for (let t = 0; t < out.length; t++) if (exotic[t] === 1) out[t] = 0;
  return out;
}

/** Whether one pod's requests fit an allocatable (a resource missing there counts as 0). */
export function fitsAlone(requests: ResourceVector, allocatable: ResourceVector): boolean {
  // A for-in, not Object.entries: this runs for every group and offering, and the pairs were garbage.
  for (const k in requests) {
    const v = requests[k] as number;
    if (v > 0 && v > (allocatable[k] ?? 0)) return false;
  }
  return true;
}

/** Karpenter's launch precedence between capacity types at one price: reserved, then spot, then on-demand. */
const LAUNCH_PRECEDENCE: Readonly<Record<Offering["capacityType"], number>> = {
  reserved: 0,
  spot: 1,
  "on-demand": 2,
};
