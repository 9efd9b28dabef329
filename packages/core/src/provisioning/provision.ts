import {
  type EncodedProblem,
  ERROR_TOO_MANY_BINS,
  ERROR_TOO_MANY_PLACEMENTS,
  type Kernel,
  type KernelResult,
} from "@nodeplan/solver-wasm";
import type { InstanceType, NodeSelectorRequirement, Pod, ResourceVector } from "../model.ts";
import type { Plan, PlannedNodeClaim } from "../plan.ts";
import type { UnschedulableReason } from "../reasons.ts";
import { renderUnschedulable } from "../render.ts";
import { diagnoseUnplaced } from "./diagnose.ts";
import { type EncodedOffering, type Encoding, encode, type PodGroup } from "./encode.ts";
import { instanceTypesFor, type ProvisioningInput } from "./input.ts";
import {
  type BoundClass,
  type BoundOffering,
  computeLowerBound,
  type LowerBoundResult,
} from "./lower-bound.ts";

const DEFAULT_MAX_INSTANCE_TYPES = 600;

/** Plans new capacity for the pending pods of `input` with `kernel` (see `createSolver`). */
export function provision(kernel: Kernel, input: ProvisioningInput): Plan {
  const enc = encode(input);
  // Values first: the LP over all pending pods prices each pod group in dollars, which is what the
  // kernel's cost-aware offering choice maximizes per dollar.
  const upfront = lowerBoundFor(
    enc,
    enc.groups.map((g) => g.pods.length),
  );
  setGroupValues(enc, upfront);
  const result = solveWithCapacity(kernel, enc.problem);

  // Placements: each group's pods in queue order fill the kernel's (group, bin, count) triples.
  const E = enc.existing.length;
  const W = Math.ceil(enc.offerings.length / 32);
  const next = new Int32Array(enc.groups.length);
  const binPods: Pod[][] = Array.from({ length: result.newBins }, () => []);
  const placements: Plan["placements"] = [];
  const existingPods: { pod: Pod; node: string }[] = [];
  for (let i = 0; i < result.placements.length; i += 3) {
    const g = result.placements[i] as number;
    const bin = result.placements[i + 1] as number;
    const count = result.placements[i + 2] as number;
    const group = enc.groups[g] as PodGroup;
    const start = next[g] as number;
    next[g] = start + count;
    for (const pod of group.pods.slice(start, start + count)) {
      if (bin < E) existingPods.push({ pod, node: (enc.existing[bin] as { name: string }).name });
      else binPods[bin - E]?.push(pod);
    }
  }

  const maxTypes = input.options?.maxInstanceTypes ?? DEFAULT_MAX_INSTANCE_TYPES;
  const counters = new Map<string, number>();
  const nodeClaims: PlannedNodeClaim[] = [];
  const tables = decodeTables(enc);
  for (let b = 0; b < result.newBins; b++) {
    const claim = decodeClaim(enc, tables, result, b, W, binPods[b] as Pod[], maxTypes, input, counters);
    nodeClaims.push(claim);
  }
  for (const { pod, node } of existingPods) placements.push({ pod: key(pod), node });
  for (const c of nodeClaims) for (const p of c.pods) placements.push({ pod: p, node: c.name });

  const unschedulable: Plan["unschedulable"] = [];
  // Only a failed group needs the NodePools' usage (to name the limit that stopped it).
  let usage: Map<string, Record<string, number>> | undefined;
  enc.groups.forEach((group, g) => {
    const left = result.unplaced[g] as number;
    if (left === 0) return;
    usage ??= poolUsage(input, nodeClaims);
    const reason: UnschedulableReason = diagnoseUnplaced(
      enc,
      group,
      result.unplacedReason[g] as number,
      input,
      usage,
    );
    for (const pod of group.pods.slice(group.pods.length - left)) {
      unschedulable.push({ pod: key(pod), reason, message: renderUnschedulable(reason) });
    }
  });
  unschedulable.sort((a, b) => cmp(a.pod, b.pod));
  placements.sort((a, b) => cmp(a.pod, b.pod));

  // The bound covers exactly the pods the plan puts on new claims.
  const onNew = new Int32Array(enc.groups.length);
  for (let i = 0; i < result.placements.length; i += 3) {
    if ((result.placements[i + 1] as number) >= E) {
      const g = result.placements[i] as number;
      onNew[g] = (onNew[g] as number) + (result.placements[i + 2] as number);
    }
  }
  // Usually every pending pod lands on a new claim: then the LP is the one already solved.
  const same = enc.groups.every((g, i) => onNew[i] === g.pods.length);
  const { bound } = same ? upfront : lowerBoundFor(enc, Array.from(onNew));
  const currentPerHour = input.nodes.reduce((s, n) => s + (n.pricePerHour ?? 0), 0);
  const newPerHour = nodeClaims.reduce((s, c) => s + c.pricePerHour, 0);
  const lowerBoundPerHour = Math.min(bound.lowerBoundPerHour, newPerHour);
  return {
    nodeClaims,
    placements,
    unschedulable,
    cost: {
      currentPerHour,
      newPerHour,
      plannedPerHour: currentPerHour + newPerHour,
      lowerBoundPerHour,
      ratio: lowerBoundPerHour > 0 ? newPerHour / lowerBoundPerHour : null,
    },
    lowerBound: { method: bound.method, certificate: bound.certificate },
    warnings: unenforcedConstraints(enc),
    errors: [],
  };
}

/**
 * Scheduling constraints the solver does not model yet (topology spread, pod affinity and
 * anti-affinity, host ports) are reported, never silently dropped: a plan for such pods may break them.
 */
function unenforcedConstraints(enc: Encoding): Plan["warnings"] {
  const counts = { spread: 0, affinity: 0, antiAffinity: 0, hostPorts: 0 };
  for (const g of enc.groups) {
    for (const p of g.pods) {
      if (p.topologySpreadConstraints.some((c) => c.whenUnsatisfiable === "DoNotSchedule")) counts.spread++;
      if (p.podAffinity.required.length > 0) counts.affinity++;
      if (p.podAntiAffinity.required.length > 0) counts.antiAffinity++;
      if (p.hostPorts.length > 0) counts.hostPorts++;
    }
  }
  const parts = [
    counts.spread > 0 ? `${counts.spread} with DoNotSchedule topology spread` : "",
    counts.affinity > 0 ? `${counts.affinity} with required pod affinity` : "",
    counts.antiAffinity > 0 ? `${counts.antiAffinity} with required pod anti-affinity` : "",
    counts.hostPorts > 0 ? `${counts.hostPorts} with host ports` : "",
  ].filter((x) => x !== "");
  if (parts.length === 0) return [];
  return [
    {
      code: "constraint_not_enforced",
      message: `pending pods whose constraints this version does not enforce yet (the plan may violate them): ${parts.join(", ")}`,
    },
  ];
}

/** The LP bound for `podsPerGroup[g]` pods of each group; classes are keyed by compatible offerings. */
function lowerBoundFor(
  enc: Encoding,
  podsPerGroup: readonly number[],
): { bound: LowerBoundResult; groupClass: Int32Array } {
  const offerings: BoundOffering[] = enc.offerings.map((o) => ({
    key: o.key,
    pricePerHour: o.offering.pricePerHour,
    allocatable: o.allocatable,
  }));
  const classIndex = new Map<string, number>();
  const classes: (BoundClass & { demand: Record<string, number> })[] = [];
  const groupClass = new Int32Array(enc.groups.length).fill(-1);
  enc.groups.forEach((group, g) => {
    const n = podsPerGroup[g] as number;
    if (n === 0) return;
    const row = enc.classOfferings[group.constraintClass] as Uint8Array;
    const compatible: number[] = [];
    for (let t = 0; t < row.length; t++) {
      if (row[t] === 1 && fitsAlone(group.requests, (enc.offerings[t] as EncodedOffering).allocatable))
        compatible.push(t);
    }
    const k = compatible.join(",");
    let c = classIndex.get(k);
    if (c === undefined) {
      c = classes.length;
      classIndex.set(k, c);
      classes.push({ pods: 0, demand: {}, compatible });
    }
    groupClass[g] = c;
    const cls = classes[c] as BoundClass & { demand: Record<string, number> };
    cls.pods += n;
    for (const [r, v] of Object.entries(group.requests)) cls.demand[r] = (cls.demand[r] ?? 0) + v * n;
  });
  return { bound: computeLowerBound(offerings, classes), groupClass };
}

/**
 * Each group's value per pod in micro-dollars: its requests at its class's dual rates. Groups the LP
 * could not price (zero rates on everything they request) get a small positive value.
 */
function setGroupValues(enc: Encoding, { bound, groupClass }: ReturnType<typeof lowerBoundFor>): void {
  const value = enc.problem.groups.value;
  let min = Number.POSITIVE_INFINITY;
  enc.groups.forEach((group, g) => {
    const c = groupClass[g] as number;
    let v = 0;
    if (c >= 0) {
      const rates = bound.classRates[c] as number[];
      bound.certificate.resources.forEach((r, i) => {
        v += (group.requests[r] ?? 0) * (rates[i] as number);
      });
    }
    value[g] = v * 1e6;
    if (v > 0) min = Math.min(min, v * 1e6);
  });
  const floor = Number.isFinite(min) ? min * 1e-3 : 1;
  for (let g = 0; g < value.length; g++) if (!((value[g] as number) > 0)) value[g] = floor;
}

/** Runs the kernel, growing the output regions until they are large enough. */
function solveWithCapacity(kernel: Kernel, problem: EncodedProblem): KernelResult {
  let pods = 0;
  for (const c of problem.groups.counts) pods += c;
  let maxBins = Math.min(Math.max(16, Math.ceil(pods / 8) + problem.groups.count), Math.max(1, pods));
  let maxPlacements = Math.max(64, 4 * maxBins + 2 * problem.groups.count + problem.existing.count);
  for (;;) {
    problem.options.maxBins = maxBins;
    problem.options.maxPlacements = maxPlacements;
    const result = kernel.solve(problem);
    if (result.status === ERROR_TOO_MANY_BINS && maxBins < pods) {
      maxBins = Math.min(pods, maxBins * 4);
      maxPlacements = Math.max(maxPlacements, 4 * maxBins);
      continue;
    }
    if (result.status === ERROR_TOO_MANY_PLACEMENTS) {
      maxPlacements *= 4;
      continue;
    }
    if (result.status < 0) throw new Error(`packing kernel failed with status ${result.status}`);
    return result;
  }
}

/** Per-encoding lookup tables that make decoding a claim O(set bits) with no sorting. */
interface DecodeTables {
  typeIndex: Int32Array;
  typeStamp: Int32Array;
  stamp: number;
  /** Decoded option sets by their bitset: replicated bins share one, so each is walked once. */
  decoded: Map<string, DecodedOptions>;
}

/** A bin's option set in NodeClaim terms: instance types by price, zones, capacity types, worst price. */
interface DecodedOptions {
  options: readonly string[];
  zones: readonly string[];
  capacityTypes: readonly string[];
  worst: number;
}

function decodeOptions(
  enc: Encoding,
  tables: DecodeTables,
  result: KernelResult,
  b: number,
  W: number,
  maxTypes: number,
): DecodedOptions {
  const words = result.binOptions.subarray(b * W, b * W + W);
  const cacheKey = words.join(",");
  const cached = tables.decoded.get(cacheKey);
  if (cached !== undefined) return cached;
  // Offerings are encoded cheapest first (ties by name), so walking the set bits in order meets each
  // instance type first at its cheapest offering: the options come out in price order unsorted.
  const stamp = ++tables.stamp;
  const options: string[] = [];
  const zones = new Set<string>();
  const capacityTypes = new Set<string>();
  let worst = 0;
  for (let w = 0; w < W; w++) {
    let word = words[w] as number;
    while (word !== 0) {
      const low = word & -word;
      const t = w * 32 + (31 - Math.clz32(low));
      word = (word ^ low) >>> 0;
      const ti = tables.typeIndex[t] as number;
      const o = enc.offerings[t] as EncodedOffering;
      if (tables.typeStamp[ti] !== stamp) {
        if (tables.typeStamp[ti] === -stamp || options.length >= maxTypes) {
          tables.typeStamp[ti] = -stamp;
          continue;
        }
        tables.typeStamp[ti] = stamp;
        options.push(o.instanceType.name);
      }
      zones.add(o.offering.zone);
      capacityTypes.add(o.offering.capacityType);
      if (o.offering.pricePerHour > worst) worst = o.offering.pricePerHour;
    }
  }
  const decoded = { options, zones: [...zones].sort(), capacityTypes: [...capacityTypes].sort(), worst };
  tables.decoded.set(cacheKey, decoded);
  return decoded;
}

function decodeTables(enc: Encoding): DecodeTables {
  const index = new Map<InstanceType, number>();
  const typeIndex = new Int32Array(enc.offerings.length);
  enc.offerings.forEach((o, t) => {
    let i = index.get(o.instanceType);
    if (i === undefined) {
      i = index.size;
      index.set(o.instanceType, i);
    }
    typeIndex[t] = i;
  });
  return { typeIndex, typeStamp: new Int32Array(index.size), stamp: 0, decoded: new Map() };
}

function decodeClaim(
  enc: Encoding,
  tables: DecodeTables,
  result: KernelResult,
  b: number,
  W: number,
  pods: Pod[],
  maxTypes: number,
  input: ProvisioningInput,
  counters: Map<string, number>,
): PlannedNodeClaim {
  const chosen = enc.offerings[result.binOffering[b] as number] as EncodedOffering;
  const pool = chosen.nodePool;
  const { options, zones, capacityTypes, worst } = decodeOptions(enc, tables, result, b, W, maxTypes);
  const narrowed = new Set([
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/zone",
    "karpenter.sh/capacity-type",
    "karpenter.sh/nodepool",
  ]);
  const requirements: NodeSelectorRequirement[] = [
    ...pool.template.requirements.filter((r) => !narrowed.has(r.key)),
    ...podSelectorRequirements(pods, pool.template.requirements, narrowed),
    { key: "karpenter.sh/capacity-type", operator: "In", values: [...capacityTypes] },
    { key: "karpenter.sh/nodepool", operator: "In", values: [pool.name] },
    { key: "node.kubernetes.io/instance-type", operator: "In", values: [...options] },
    { key: "topology.kubernetes.io/zone", operator: "In", values: [...zones] },
  ];
  const index = counters.get(pool.name) ?? 0;
  counters.set(pool.name, index + 1);
  const name = input.options?.claimName?.(pool.name, index) ?? `${pool.name}-${index}`;
  return {
    name,
    nodePool: pool.name,
    instanceType: chosen.instanceType.name,
    instanceTypeOptions: [...options],
    zone: chosen.offering.zone,
    capacityType: chosen.offering.capacityType,
    pricePerHour: chosen.offering.pricePerHour,
    worstPricePerHour: worst,
    requirements,
    daemonSetOverhead: chosen.overhead,
    pods: pods.map(key),
  };
}

/** nodeSelector labels of the claim's pods on keys the NodePool leaves open become claim requirements. */
function podSelectorRequirements(
  pods: readonly Pod[],
  poolRequirements: readonly NodeSelectorRequirement[],
  narrowed: Set<string>,
): NodeSelectorRequirement[] {
  const values = new Map<string, string>();
  for (const p of pods)
    for (const [k, v] of Object.entries(p.nodeSelector)) if (!narrowed.has(k)) values.set(k, v);
  return [...values.entries()]
    .filter(
      ([k]) => !poolRequirements.some((r) => r.key === k && r.operator === "In" && r.values.length === 1),
    )
    .sort((a, b) => cmp(a[0], b[0]))
    .map(([k, v]) => ({ key: k, operator: "In" as const, values: [v] }));
}

/** What each NodePool uses after the plan: existing capacity plus each claim's largest option (Karpenter's accounting). */
function poolUsage(
  input: ProvisioningInput,
  claims: readonly PlannedNodeClaim[],
): Map<string, Record<string, number>> {
  const usage = new Map<string, Record<string, number>>();
  const add = (pool: string, v: ResourceVector) => {
    const u = usage.get(pool) ?? {};
    for (const [k, x] of Object.entries(v)) u[k] = (u[k] ?? 0) + x;
    usage.set(pool, u);
  };
  for (const n of input.nodes) if (n.nodePool !== undefined) add(n.nodePool, { ...n.capacity, nodes: 1 });
  const typesByPool = new Map<string, Map<string, InstanceType>>();
  for (const c of claims) {
    let types = typesByPool.get(c.nodePool);
    if (types === undefined) {
      types = new Map(instanceTypesFor(input, c.nodePool).map((t) => [t.name, t]));
      typesByPool.set(c.nodePool, types);
    }
    const max: Record<string, number> = { nodes: 1 };
    for (const name of c.instanceTypeOptions) {
      for (const [k, v] of Object.entries(types.get(name)?.capacity ?? {})) max[k] = Math.max(max[k] ?? 0, v);
    }
    add(c.nodePool, max);
  }
  return usage;
}

function fitsAlone(requests: ResourceVector, allocatable: ResourceVector): boolean {
  for (const [k, v] of Object.entries(requests)) if (v > 0 && v > (allocatable[k] ?? 0)) return false;
  return true;
}

function key(p: Pod): string {
  return `${p.namespace}/${p.name}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
