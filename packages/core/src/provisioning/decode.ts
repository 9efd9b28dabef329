import type { KernelResult } from "@nodeplan/solver-wasm";
import { cmp } from "../compare.ts";
import { offeringCosts } from "../costs.ts";
import {
  type InstanceType,
  type NodePool,
  type NodeSelectorRequirement,
  type Offering,
  type Pod,
  podKey,
} from "../model.ts";
import type { Plan, PlannedNodeClaim } from "../plan.ts";
import type { UnschedulableReason } from "../reasons.ts";
import { renderUnschedulable } from "../render.ts";
import {
  checkMinValues,
  type MinValuesCandidate,
  type MinValuesShortfall,
  Requirements,
} from "../requirements.ts";
import { LABEL_CAPACITY_RESERVATION_ID } from "../well-known-labels.ts";
import type { EncodedOffering, Encoding, PodGroup } from "./encode.ts";
import type { ProvisioningInput } from "./input.ts";
import { truncateKeepingMinValues } from "./min-values.ts";
import type { TopologyResult } from "./topology.ts";

/**
 * Decoding: the kernel's (group, bin, count) triples and per-bin option bitsets back into Plan terms,
 * pods on bins and NodeClaims with their launch options and requirements.
 */

const DEFAULT_MAX_INSTANCE_TYPES = 600;

/** The pods a topology bundle (a hostname self-affinity set packed as one pod) stands for. */
export function unbundle(topo: TopologyResult | undefined, pods: readonly Pod[]): readonly Pod[] {
  return topo === undefined || topo.bundles.size === 0
    ? pods
    : pods.flatMap((p) => topo.bundles.get(p) ?? [p]);
}

/** Where the kernel put the pods: per new bin its pods, and the pods it put on existing nodes. */
export interface PlacedPods {
  /** Pods of new bin b (bins after the existing nodes), in group and queue order. */
  binPods: Pod[][];
  existing: { pod: Pod; node: string }[];
}

/** Placements: each group's pods in queue order fill the kernel's (group, bin, count) triples. */
export function placePods(enc: Encoding, result: KernelResult, topo: TopologyResult | undefined): PlacedPods {
  const E = enc.existing.length;
  const next = new Int32Array(enc.groups.length);
  const binPods: Pod[][] = Array.from({ length: result.newBins }, () => []);
  const existing: PlacedPods["existing"] = [];
  for (let i = 0; i < result.placements.length; i += 3) {
    const g = result.placements[i] as number;
    const bin = result.placements[i + 1] as number;
    const count = result.placements[i + 2] as number;
    const group = enc.groups[g] as PodGroup;
    const start = next[g] as number;
    next[g] = start + count;
    for (const pod of unbundle(topo, group.pods.slice(start, start + count))) {
      if (bin < E) existing.push({ pod, node: (enc.existing[bin] as { name: string }).name });
      else binPods[bin - E]?.push(pod);
    }
  }
  return { binPods, existing };
}

/** The new claims of a solve, and what minValues did to them. */
export interface DecodedClaims {
  nodeClaims: PlannedNodeClaim[];
  /** Claims not launched (Strict minValues): their pods are in `unschedulable`. */
  dropped: ReadonlySet<string>;
  unschedulable: Plan["unschedulable"];
}

/**
 * One NodeClaim per new bin, named `<nodePool>-<n>` (or by `claimName`) in bin order. Under Strict
 * minValues a claim whose options fall short is not launched: its pods stay pending, and it takes no
 * name; under BestEffort it is launched annotated.
 */
export function decodeClaims(
  enc: Encoding,
  result: KernelResult,
  binPods: readonly Pod[][],
  input: ProvisioningInput,
): DecodedClaims {
  const ctx: DecodeContext = {
    enc,
    tables: decodeTables(enc),
    result,
    W: Math.ceil(enc.offerings.length / 32),
    maxTypes: input.options?.maxInstanceTypes ?? DEFAULT_MAX_INSTANCE_TYPES,
    input,
  };
  const strict = (input.options?.minValuesPolicy ?? "Strict") === "Strict";
  const counters = new Map<string, number>();
  const nodeClaims: PlannedNodeClaim[] = [];
  const dropped = new Set<string>();
  const unschedulable: Plan["unschedulable"] = [];
  for (let b = 0; b < result.newBins; b++) {
    const pool = (enc.offerings[result.binOffering[b] as number] as EncodedOffering).nodePool.name;
    const index = counters.get(pool) ?? 0;
    const { claim, short: shortfall } = decodeClaim(ctx, { b, pods: binPods[b] as Pod[], index });
    const short: UnschedulableReason | undefined =
      shortfall === undefined
        ? undefined
        : { code: "min_values_unsatisfiable", ...shortfall, nodePool: claim.nodePool };
    if (short !== undefined && strict) {
      // Karpenter will not launch it: its pods stay pending, named after the key that fell short.
      dropped.add(claim.name);
      for (const pod of claim.pods)
        unschedulable.push({ pod, reason: short, message: renderUnschedulable(short) });
      continue;
    }
    counters.set(pool, index + 1);
    if (short !== undefined)
      claim.annotations = { ...claim.annotations, "karpenter.sh/nodeclaim-min-values-relaxed": "true" };
    nodeClaims.push(claim);
  }
  return { nodeClaims, dropped, unschedulable };
}

/** What decoding one bin reads: the encoding, the kernel's result and the per-encoding tables. */
interface DecodeContext {
  enc: Encoding;
  tables: DecodeTables;
  result: KernelResult;
  /** Words per bin in `result.binOptions`. */
  W: number;
  /** Instance types listed per claim. */
  maxTypes: number;
  input: ProvisioningInput;
}

/** One new bin: its index, its pods, and its claim's index within its NodePool. */
interface BinToDecode {
  b: number;
  pods: readonly Pod[];
  index: number;
}

/** A bin's claim, and the first NodePool minValues key its options fall short of. */
interface DecodedClaim {
  claim: PlannedNodeClaim;
  short: MinValuesShortfall | undefined;
}

/** Per-encoding lookup tables that make decoding a claim O(set bits) with no sorting. */
interface DecodeTables {
  typeIndex: Int32Array;
  typeStamp: Int32Array;
  stamp: number;
  /** Decoded option sets by a hash of their bitset: replicated bins share one, so each is walked once. */
  decoded: Map<number, { words: Uint32Array; decoded: DecodedOptions }[]>;
  last?: { words: Uint32Array; decoded: DecodedOptions };
  /** Per option set: as minValues leaves it (see minValuesVerdict). */
  minValues: WeakMap<DecodedOptions, MinValuesVerdict>;
  /** Per NodePool with minValues: each instance type's labels, with its name under the instance-type key. */
  typeLabels: Map<NodePool, Map<string, Record<string, string>>>;
}

/** A bin's option set in NodeClaim terms: instance types by price, zones, capacity types, worst price. */
interface DecodedOptions {
  options: readonly string[];
  zones: readonly string[];
  capacityTypes: readonly string[];
  worst: number;
}

/**
 * A bin's launch options. A reserved claim launches into the reservation the kernel charged it to, so
 * its options are that reservation's offerings in the set. Any other claim leaves reserved offerings
 * out, and when it may launch both spot and on-demand, spot offerings priced above its cheapest
 * on-demand offering go too (Karpenter's SpotInstanceFilter, per offering).
 */
function decodeOptions(ctx: DecodeContext, b: number): DecodedOptions {
  const { enc, tables, result, W, maxTypes } = ctx;
  const words = result.binOptions.subarray(b * W, b * W + W);
  const chosen = (enc.offerings[result.binOffering[b] as number] as EncodedOffering).offering;
  if (chosen.capacityType === "reserved") return walkOptions(enc, tables, words, maxTypes, chosen);
  // Bins of one option set are usually neighbours: compare with the previous bin's before hashing.
  if (tables.last !== undefined && sameWords(tables.last.words, words)) return tables.last.decoded;
  let hash = 2166136261;
  for (let w = 0; w < W; w++) hash = Math.imul(hash ^ (words[w] as number), 16777619);
  const bucket = tables.decoded.get(hash);
  const hit = bucket?.find((e) => sameWords(e.words, words));
  if (hit !== undefined) {
    tables.last = hit;
    return hit.decoded;
  }
  const decoded = walkOptions(enc, tables, words, maxTypes, undefined);
  const entry = { words: Uint32Array.from(words), decoded };
  if (bucket === undefined) tables.decoded.set(hash, [entry]);
  else bucket.push(entry);
  tables.last = entry;
  return decoded;
}

/** The options of a set: of `reservation`'s offerings when given, else of its spot and on-demand offerings. */
function walkOptions(
  enc: Encoding,
  tables: DecodeTables,
  words: Uint32Array,
  maxTypes: number,
  reservation: Offering | undefined,
  keep?: ReadonlySet<string>,
): DecodedOptions {
  const W = words.length;
  // Offerings are encoded cheapest first (ties by capacity type, then name), so walking the set bits
  // in order meets each instance type first at its cheapest offering: the options come out in price
  // order unsorted. A set is one NodePool's, so the first on-demand offering met is the cheapest, and
  // a spot offering met before it is no dearer.
  const stamp = ++tables.stamp;
  const options: string[] = [];
  const zones = new Set<string>();
  const capacityTypes = new Set<string>();
  let worst = 0;
  let spotCeiling = Number.POSITIVE_INFINITY;
  for (let w = 0; w < W; w++) {
    let word = words[w] as number;
    while (word !== 0) {
      const low = word & -word;
      const t = w * 32 + (31 - Math.clz32(low));
      word = (word ^ low) >>> 0;
      const ti = tables.typeIndex[t] as number;
      const o = enc.offerings[t] as EncodedOffering;
      const { capacityType, pricePerHour } = o.offering;
      if (keep !== undefined && !keep.has(o.instanceType.name)) continue;
      if (reservation !== undefined) {
        if (capacityType !== "reserved" || o.offering.reservationId !== reservation.reservationId) continue;
      } else if (capacityType === "reserved" || (capacityType === "spot" && pricePerHour > spotCeiling)) {
        continue;
      } else if (capacityType === "on-demand" && spotCeiling === Number.POSITIVE_INFINITY) {
        spotCeiling = pricePerHour;
      }
      if (tables.typeStamp[ti] !== stamp) {
        if (tables.typeStamp[ti] === -stamp || options.length >= maxTypes) {
          tables.typeStamp[ti] = -stamp;
          continue;
        }
        tables.typeStamp[ti] = stamp;
        options.push(o.instanceType.name);
      }
      zones.add(o.offering.zone);
      capacityTypes.add(capacityType);
      if (pricePerHour > worst) worst = pricePerHour;
    }
  }
  return { options, zones: [...zones].sort(), capacityTypes: [...capacityTypes].sort(), worst };
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
  return {
    typeIndex,
    typeStamp: new Int32Array(index.size),
    stamp: 0,
    decoded: new Map(),
    minValues: new WeakMap(),
    typeLabels: new Map(),
  };
}

/** One bin as a NodeClaim: its chosen offering, launch options (cut by minValues) and requirements. */
function decodeClaim(ctx: DecodeContext, bin: BinToDecode): DecodedClaim {
  const { enc, tables, result, W, maxTypes, input } = ctx;
  const { b, pods, index } = bin;
  const chosen = enc.offerings[result.binOffering[b] as number] as EncodedOffering;
  const pool = chosen.nodePool;
  const plain = decodeOptions(ctx, b);
  let verdict = tables.minValues.get(plain);
  if (verdict === undefined) {
    verdict = minValuesVerdict(
      enc,
      tables,
      result.binOptions.subarray(b * W, b * W + W),
      plain,
      pool,
      maxTypes,
    );
    tables.minValues.set(plain, verdict);
  }
  const { decoded, short } = verdict;
  const { options, zones, capacityTypes, worst } = decoded;
  // A reserved claim names its reservation (Karpenter's FinalizeScheduling), as requirement and label.
  const reservation = chosen.offering.capacityType === "reserved" ? chosen.offering.reservationId : undefined;
  const narrowed = new Set([
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/zone",
    "karpenter.sh/capacity-type",
    "karpenter.sh/nodepool",
    ...(reservation === undefined ? [] : [LABEL_CAPACITY_RESERVATION_ID]),
  ]);
  const requirements: NodeSelectorRequirement[] = [
    ...pool.template.requirements.filter((r) => !narrowed.has(r.key)),
    ...podSelectorRequirements(pods, pool.template.requirements, narrowed),
    // Option lists are shared by every claim of one option set (tens of thousands of claims at 100k pods):
    // plans are data, never mutated, and copying 600 names per claim was most of the heap.
    { key: "karpenter.sh/capacity-type", operator: "In", values: capacityTypes as string[] },
    { key: "karpenter.sh/nodepool", operator: "In", values: [pool.name] },
    { key: "node.kubernetes.io/instance-type", operator: "In", values: options as string[] },
    { key: "topology.kubernetes.io/zone", operator: "In", values: zones as string[] },
    ...(reservation === undefined
      ? []
      : [{ key: LABEL_CAPACITY_RESERVATION_ID, operator: "In" as const, values: [reservation] }]),
  ];
  const name = input.options?.claimName?.(pool.name, index) ?? `${pool.name}-${index}`;
  const claim: PlannedNodeClaim = {
    name,
    nodePool: pool.name,
    instanceType: chosen.instanceType.name,
    instanceTypeOptions: options as string[],
    zone: chosen.offering.zone,
    capacityType: chosen.offering.capacityType,
    pricePerHour: chosen.offering.pricePerHour,
    costs: offeringCosts(chosen.offering),
    worstPricePerHour: worst,
    requirements,
    daemonSetOverhead: chosen.overhead,
    pods: pods.map(podKey),
    ...(reservation === undefined ? {} : { labels: { [LABEL_CAPACITY_RESERVATION_ID]: reservation } }),
  };
  return { claim, short };
}

/** An option set as minValues leaves it, and the first key still short of its minValues. */
interface MinValuesVerdict {
  decoded: DecodedOptions;
  short: MinValuesShortfall | undefined;
}

/**
 * The NodePool's minValues against an option set (instance types' labels, its zones and capacity
 * types). When the plain cut to `maxTypes` loses a value the whole set has (Karpenter fails or relaxes
 * there), the options are cut again to keep it. Strict drops a claim still short; BestEffort annotates it.
 */
function minValuesVerdict(
  enc: Encoding,
  tables: DecodeTables,
  words: Uint32Array,
  decoded: DecodedOptions,
  pool: NodePool,
  maxTypes: number,
): MinValuesVerdict {
  const withMin = pool.template.requirements.filter((r) => r.minValues !== undefined);
  if (withMin.length === 0) return { decoded, short: undefined };
  const reqs = Requirements.fromNodeSelectorRequirements(withMin);
  let labelsOf = tables.typeLabels.get(pool);
  if (labelsOf === undefined) {
    labelsOf = new Map();
    for (const o of enc.offerings)
      if (o.nodePool === pool && !labelsOf.has(o.instanceType.name))
        labelsOf.set(o.instanceType.name, {
          ...o.instanceType.labels,
          "node.kubernetes.io/instance-type": o.instanceType.name,
        });
    tables.typeLabels.set(pool, labelsOf);
  }
  const labels = labelsOf;
  const candidate = (name: string): MinValuesCandidate => ({ labels: labels.get(name) ?? {} });
  const fixed = (d: DecodedOptions): MinValuesCandidate[] => [
    ...d.zones.map((z) => ({ labels: { "topology.kubernetes.io/zone": z } })),
    ...d.capacityTypes.map((c) => ({ labels: { "karpenter.sh/capacity-type": c } })),
  ];
  const shortOf = (d: DecodedOptions) => checkMinValues(reqs, [...d.options.map(candidate), ...fixed(d)])[0];
  const short = shortOf(decoded);
  if (short === undefined || decoded.options.length < maxTypes) return { decoded, short };
  const full = walkOptions(enc, tables, words, Number.POSITIVE_INFINITY, undefined);
  const cut = truncateKeepingMinValues(
    full.options.length,
    maxTypes,
    (i) => candidate(full.options[i] as string),
    reqs,
    fixed(full),
  );
  if (cut === undefined) return { decoded, short };
  const kept = walkOptions(
    enc,
    tables,
    words,
    Number.POSITIVE_INFINITY,
    undefined,
    new Set(cut.map((i) => full.options[i] as string)),
  );
  return { decoded: kept, short: shortOf(kept) };
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
