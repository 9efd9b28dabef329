/**
 * The kernel's ABI: an encoded packing problem in typed arrays, and its result. Everything here is
 * numbers: strings, labels and requirement algebra stay in TypeScript (packages/core encodes).
 */

/** Bumped whenever the header layout or a region's meaning changes. */
export const KERNEL_ABI_VERSION = 4;

/** `solve` error: the header's ABI version is not the kernel's. */
export const ERROR_ABI_MISMATCH = -1;
/** `solve` error: a count in the header is negative. */
export const ERROR_BAD_HEADER = -2;
/** `solve` error: more new bins were needed than `options.maxBins`. */
export const ERROR_TOO_MANY_BINS = -3;
/** `solve` error: more placement triples were needed than `options.maxPlacements`. */
export const ERROR_TOO_MANY_PLACEMENTS = -4;

/** Unplaced reason: every pod of the group was placed. */
export const REASON_NONE = 0;
/** Unplaced reason: no compatible offering, and no compatible existing bin with room. */
export const REASON_NO_COMPATIBLE_OFFERING = 1;
/** Unplaced reason: compatible offerings exist but none fits one pod. */
export const REASON_TOO_LARGE = 2;
/** Unplaced reason: it would fit, but every pool whose offerings fit is at its limits. */
export const REASON_POOL_LIMIT = 3;
/** Unplaced reason: one of the group's class caps is 0, or every candidate was blocked by class caps. */
export const REASON_CLASS_CAP = 4;
/** Unplaced reason: offerings that fit within pool limits exist, but their cap groups have no launch left. */
export const REASON_LAUNCH_CAP = 5;

/** `groups.classFlags` bit: the group's pods count toward the class (a conditional class's count). */
export const CLASS_COUNTED = 1;
/** `groups.classFlags` bit: the group's pods carry the constraint (they activate a conditional class's bin). */
export const CLASS_ACTIVATES = 2;

/**
 * Word indexes of the i32 header `solve(headerPtr)` reads (assembly/kernel.ts has the same numbers).
 * Counts and options first, then the byte offset of every input region, then of every output region,
 * then the two counts the kernel writes back (new bins and placement triples), then (since ABI 3) the
 * cap-group count and its two regions. f64 regions are 16-byte aligned by the kernel's allocator.
 */
export const HEADER = {
  abi: 0,
  R: 1,
  G: 2,
  T: 3,
  E: 4,
  P: 5,
  C: 6,
  maxBins: 7,
  maxPlacements: 8,
  candidateShapes: 9,
  improve: 10,
  groupRequests: 11,
  groupCounts: 12,
  groupCompat: 13,
  groupExistingCompat: 14,
  groupClassStart: 15,
  groupClassList: 16,
  groupValue: 17,
  offerAllocatable: 18,
  offerCapacity: 19,
  offerPrice: 20,
  offerPool: 21,
  offerShape: 22,
  poolLimits: 23,
  poolUsed: 24,
  existingRemaining: 25,
  existingClass: 26,
  classCap: 27,
  outBinOffering: 28,
  outBinOptions: 29,
  outBinPool: 30,
  outPlacements: 31,
  outUnplaced: 32,
  outUnplacedReason: 33,
  outNewBins: 34,
  outPlacementCount: 35,
  groupClassFlags: 36,
  classConditional: 37,
  capGroups: 38,
  offerCapGroup: 39,
  capGroupMaxBins: 40,
  /** Header size in i32 words. */
  words: 41,
} as const;

/** The most bytes the kernel's memory can address (a 32-bit WebAssembly memory, less headroom). */
const MAX_KERNEL_BYTES = 2 ** 31;

/** A packing problem (see ../shared/ARCHITECTURE.md "The kernel boundary"). */
export interface EncodedProblem {
  /** R: resource dimensions in a fixed order chosen by the encoder (cpu millis, memory bytes, pods, ...). */
  resources: number;
  groups: {
    /** G */
    count: number;
    /** G*R per-pod request vector (integers as f64). */
    requests: Float64Array;
    /** G: pods in the group. */
    counts: Int32Array;
    /** G*W, W = ceil(T/32): bit t set => the group may run on offering t. */
    compat: Uint32Array;
    /** G*WE, WE = ceil(E/32): bit e set => the group may run on existing bin e. */
    existingCompat: Uint32Array;
    /**
     * G+1 offsets into `classList`: group g belongs to the cap classes classList[classStart[g] ..
     * classStart[g+1]) (none when equal; classStart[0] = 0). A placement must respect every one.
     */
    classStart: Int32Array;
    /** classStart[G] class indexes, distinct within a group. */
    classList: Int32Array;
    /**
     * classStart[G], per classList entry: CLASS_COUNTED | CLASS_ACTIVATES bits, read for conditional
     * classes only (an unconditional class counts every entry).
     */
    classFlags: Int32Array;
    /** G: value of one placed pod (> 0), used to score offerings (micro-dollars per hour). */
    value: Float64Array;
  };
  offerings: {
    /** T */
    count: number;
    /** T*R usable per node (already minus DaemonSet overhead). */
    allocatable: Float64Array;
    /** T*R counted against NodePool limits. */
    capacity: Float64Array;
    /** T: integer micro-dollars per hour (exact in f64). */
    priceMicros: Float64Array;
    /** T: pool index; pool 0 has the highest priority. */
    pool: Int32Array;
    /** T: the representative offering of t's equivalence class (same pool, allocatable, price, cap group, compat column); shape[t] <= t. */
    shape: Int32Array;
    /** T: the launch cap group of t (-1: uncapped). A new bin launched as t uses one unit of it. */
    capGroup: Int32Array;
  };
  /** Launch caps shared by offerings (a capacity reservation): at most maxBins[k] new bins launch as an offering of group k. */
  capGroups: { count: number; maxBins: Int32Array };
  pools: {
    /** P */
    count: number;
    /** P*(R+1): per resource, then nodes at index R; Infinity = no limit. */
    limits: Float64Array;
    /** P*(R+1): already used by existing nodes. */
    used: Float64Array;
  };
  existing: {
    /** E: existing nodes and in-flight claims (bins 0..E-1). */
    count: number;
    /** E*R free allocatable. */
    remaining: Float64Array;
    /** E*C pods of each class already there. */
    classCount: Int32Array;
  };
  /**
   * C classes: at most capPerBin[c] pods of class c in one bin. A conditional class binds only an
   * active bin, one holding a pod of a group with CLASS_ACTIVATES for it (existing bins start
   * inactive), and counts only groups with CLASS_COUNTED: pods of a counted group may crowd an
   * inactive bin, and an activating pod may join a bin only if its count is within the cap.
   */
  classes: { count: number; capPerBin: Int32Array; conditional: Uint8Array };
  options: {
    /** Capacity of the new-bin outputs. */
    maxBins: number;
    /** Capacity of the placement output (triples). */
    maxPlacements: number;
    /** Candidate shapes scored per new pattern (0 = all). */
    candidateShapes: number;
    /** Run the improvement phase. */
    improve: boolean;
  };
}

/** The kernel's answer. */
export interface KernelResult {
  /** >= 0: number of new bins; < 0: an ERROR_* code. */
  status: number;
  newBins: number;
  /** Per new bin: the cheapest offering in its option set. */
  binOffering: Int32Array;
  /** newBins*W: offerings still possible for each new bin. */
  binOptions: Uint32Array;
  /** Per new bin: its pool. */
  binPool: Int32Array;
  /** Triples (group, bin, count); bin < E is an existing bin, bin >= E is new bin (bin - E). */
  placements: Int32Array;
  /** G: pods of each group left unplaced. */
  unplaced: Int32Array;
  /** G: REASON_* of the first failure (0 when all placed). */
  unplacedReason: Int32Array;
}

/** Words of a bitset over `bits` items (W = ceil(T/32) for offerings, WE = ceil(E/32) for existing bins). */
export function wordsFor(bits: number): number {
  return (bits + 31) >>> 5;
}

/**
 * Checks sizes and values before any kernel call (the kernel trusts its input); returns up to 20
 * problems found, as text (empty = valid).
 */
export function validateEncodedProblem(p: EncodedProblem): string[] {
  const errors: string[] = [];
  const R = p.resources;
  const G = p.groups.count;
  const T = p.offerings.count;
  const E = p.existing.count;
  const P = p.pools.count;
  const C = p.classes.count;
  const K = p.capGroups.count;
  const W = wordsFor(T);
  const WE = wordsFor(E);
  const size = (name: string, array: { length: number }, expected: number) => {
    if (array.length !== expected) errors.push(`${name} has ${array.length} entries, expected ${expected}`);
  };
  if (!Number.isInteger(R) || R < 1) errors.push("resources must be a positive integer");
  for (const [name, n] of [
    ["groups", G],
    ["offerings", T],
    ["existing", E],
    ["pools", P],
    ["classes", C],
    ["capGroups", K],
  ] as const) {
    if (!Number.isInteger(n) || n < 0) errors.push(`${name}.count must be a non-negative integer`);
  }
  size("groups.requests", p.groups.requests, G * R);
  size("groups.counts", p.groups.counts, G);
  size("groups.compat", p.groups.compat, G * W);
  size("groups.existingCompat", p.groups.existingCompat, G * WE);
  size("groups.classStart", p.groups.classStart, G + 1);
  if (errors.length === 0) {
    size("groups.classList", p.groups.classList, p.groups.classStart[G] as number);
    size("groups.classFlags", p.groups.classFlags, p.groups.classStart[G] as number);
  }
  size("groups.value", p.groups.value, G);
  size("offerings.allocatable", p.offerings.allocatable, T * R);
  size("offerings.capacity", p.offerings.capacity, T * R);
  size("offerings.priceMicros", p.offerings.priceMicros, T);
  size("offerings.pool", p.offerings.pool, T);
  size("offerings.shape", p.offerings.shape, T);
  size("offerings.capGroup", p.offerings.capGroup, T);
  size("capGroups.maxBins", p.capGroups.maxBins, K);
  size("pools.limits", p.pools.limits, P * (R + 1));
  size("pools.used", p.pools.used, P * (R + 1));
  size("existing.remaining", p.existing.remaining, E * R);
  size("existing.classCount", p.existing.classCount, E * C);
  size("classes.capPerBin", p.classes.capPerBin, C);
  size("classes.conditional", p.classes.conditional, C);
  if (errors.length > 0) return errors;
  const finiteNonNegative = (name: string, array: Float64Array) => {
    for (let i = 0; i < array.length; i++) {
      const x = array[i] as number;
      if (!(x >= 0) || !Number.isFinite(x)) errors.push(`${name}[${i}] must be a finite number >= 0`);
    }
  };
  finiteNonNegative("groups.requests", p.groups.requests);
  finiteNonNegative("offerings.allocatable", p.offerings.allocatable);
  finiteNonNegative("offerings.capacity", p.offerings.capacity);
  finiteNonNegative("pools.used", p.pools.used);
  finiteNonNegative("existing.remaining", p.existing.remaining);
  for (let i = 0; i < p.pools.limits.length; i++)
    if (!((p.pools.limits[i] as number) >= 0))
      errors.push(`pools.limits[${i}] must be >= 0 (Infinity = no limit)`);
  for (let i = 0; i < p.existing.classCount.length; i++)
    if ((p.existing.classCount[i] as number) < 0) errors.push(`existing.classCount[${i}] must be >= 0`);
  for (let g = 0; g < G; g++) {
    if ((p.groups.counts[g] as number) < 0) errors.push(`groups.counts[${g}] must be >= 0`);
    if (!((p.groups.value[g] as number) > 0) || !Number.isFinite(p.groups.value[g] as number))
      errors.push(`groups.value[${g}] must be a positive finite number`);
    const from = p.groups.classStart[g] as number;
    const to = p.groups.classStart[g + 1] as number;
    if (!(from >= 0 && from <= to && to <= p.groups.classList.length)) {
      errors.push(
        `groups.classStart[${g + 1}] must be between groups.classStart[${g}] and classList's length`,
      );
      continue;
    }
    for (let i = from; i < to; i++) {
      const c = p.groups.classList[i] as number;
      if (!(c >= 0 && c < C)) errors.push(`groups.classList[${i}] must be a class index`);
      else if (p.groups.classList.subarray(from, i).includes(c))
        errors.push(`groups.classList[${i}]: class ${c} listed twice for group ${g}`);
    }
  }
  if (p.groups.classStart[0] !== 0) errors.push("groups.classStart[0] must be 0");
  for (let t = 0; t < T; t++) {
    const price = p.offerings.priceMicros[t] as number;
    if (!Number.isInteger(price) || price < 0)
      errors.push(`offerings.priceMicros[${t}] must be a non-negative integer`);
    const pool = p.offerings.pool[t] as number;
    if (pool < 0 || pool >= P) errors.push(`offerings.pool[${t}] must be a pool index`);
    const s = p.offerings.shape[t] as number;
    if (s < 0 || s > t || p.offerings.shape[s] !== s)
      errors.push(`offerings.shape[${t}] must point at a representative at or before it`);
    else if (!sameShape(p, s, t))
      errors.push(`offerings.shape[${t}]: offering ${s} differs in pool, price, allocatable or cap group`);
    const k = p.offerings.capGroup[t] as number;
    if (!(k >= -1 && k < K)) errors.push(`offerings.capGroup[${t}] must be -1 or a cap group index`);
  }
  for (let k = 0; k < K; k++)
    if ((p.capGroups.maxBins[k] as number) < 0) errors.push(`capGroups.maxBins[${k}] must be >= 0`);
  for (let c = 0; c < C; c++) {
    if ((p.classes.capPerBin[c] as number) < 0) errors.push(`classes.capPerBin[${c}] must be >= 0`);
    if ((p.classes.conditional[c] as number) > 1) errors.push(`classes.conditional[${c}] must be 0 or 1`);
  }
  for (let i = 0; i < p.groups.classFlags.length; i++) {
    const flags = p.groups.classFlags[i] as number;
    if (!(flags >= 0 && flags <= (CLASS_COUNTED | CLASS_ACTIVATES)))
      errors.push(`groups.classFlags[${i}] must be a combination of CLASS_COUNTED and CLASS_ACTIVATES`);
  }
  if (!Number.isInteger(p.options.maxBins) || p.options.maxBins < 0)
    errors.push("options.maxBins must be a non-negative integer");
  if (!Number.isInteger(p.options.maxPlacements) || p.options.maxPlacements < 0)
    errors.push("options.maxPlacements must be a non-negative integer");
  if (!Number.isInteger(p.options.candidateShapes) || p.options.candidateShapes < 0)
    errors.push("options.candidateShapes must be a non-negative integer (0 = all)");
  // The kernel keeps inputs, outputs and its scratch (about 3 copies of the per-bin state) in one
  // 32-bit memory: refuse sizes that cannot fit rather than fail inside it.
  const bytes =
    2 * (p.groups.requests.byteLength + p.offerings.allocatable.byteLength) +
    4 * p.options.maxBins * (W * 4 + (R + 1) * 16 + C * 8 + 24) +
    3 * p.options.maxPlacements * 16 +
    p.groups.compat.byteLength;
  if (bytes >= MAX_KERNEL_BYTES)
    errors.push(`the problem needs about ${bytes} bytes of kernel memory, over ${MAX_KERNEL_BYTES}`);
  return errors.slice(0, 20);
}

/** Do offerings s and t share pool, price, cap group and allocatable, as members of one shape must? */
function sameShape(p: EncodedProblem, s: number, t: number): boolean {
  const R = p.resources;
  if (p.offerings.pool[s] !== p.offerings.pool[t]) return false;
  if (p.offerings.priceMicros[s] !== p.offerings.priceMicros[t]) return false;
  if (p.offerings.capGroup[s] !== p.offerings.capGroup[t]) return false;
  for (let r = 0; r < R; r++)
    if (p.offerings.allocatable[s * R + r] !== p.offerings.allocatable[t * R + r]) return false;
  return true;
}

/**
 * A value per pod (micro-dollars per hour) for callers without LP duals. Per resource r, the market
 * rate is the lowest `priceMicros / allocatable_r` over offerings with `allocatable_r > 0`; a pod of
 * group g is worth `max over r of request_r * rate_r`, what its dominant resource costs at the
 * cheapest rate. A pod that requests nothing priced is worth 1, so values stay > 0 as the kernel needs.
 * The sum over groups of `count * value` is thus a rough lower bound on the price of placing them all.
 */
export function defaultGroupValues(p: EncodedProblem): Float64Array {
  const R = p.resources;
  const rates = new Float64Array(R).fill(Number.POSITIVE_INFINITY);
  for (let t = 0; t < p.offerings.count; t++) {
    for (let r = 0; r < R; r++) {
      const a = p.offerings.allocatable[t * R + r] as number;
      if (a > 0) rates[r] = Math.min(rates[r] as number, (p.offerings.priceMicros[t] as number) / a);
    }
  }
  const values = new Float64Array(p.groups.count);
  for (let g = 0; g < p.groups.count; g++) {
    let v = 0;
    for (let r = 0; r < R; r++) {
      const rate = rates[r] as number;
      if (Number.isFinite(rate)) v = Math.max(v, (p.groups.requests[g * R + r] as number) * rate);
    }
    values[g] = v > 0 ? v : 1;
  }
  return values;
}

/**
 * The parts of a problem its builder needs; every region left out takes its neutral default. Counts
 * are read from the arrays: G from `groups.counts`, T from `offerings.priceMicros`, E from
 * `existing.remaining` (E*R), P from `pools.limits` (P*(R+1)), C from `classes.capPerBin`, K from
 * `capGroups.maxBins`.
 */
export interface ProblemParts {
  resources: number;
  groups: {
    requests: Float64Array;
    counts: Int32Array;
    compat: Uint32Array;
    /** Default: no existing bin. */
    existingCompat?: Uint32Array;
    /** Default: no group in a cap class (with classList and classFlags). */
    classStart?: Int32Array;
    classList?: Int32Array;
    classFlags?: Int32Array;
    /** Default: `defaultGroupValues` of the problem. */
    value?: Float64Array;
  };
  offerings: {
    allocatable: Float64Array;
    /** Default: a copy of `allocatable`. */
    capacity?: Float64Array;
    priceMicros: Float64Array;
    /** Default: every offering in pool 0. */
    pool?: Int32Array;
    /** Default: every offering its own shape. */
    shape?: Int32Array;
    /** Default: no launch cap (-1). */
    capGroup?: Int32Array;
  };
  /** Default: none. */
  capGroups?: { maxBins: Int32Array };
  /** Default: one pool without limits and nothing used. */
  pools?: { limits: Float64Array; used?: Float64Array };
  /** Default: none. */
  existing?: { remaining: Float64Array; classCount?: Int32Array };
  /** Default: none. */
  classes?: { capPerBin: Int32Array; conditional?: Uint8Array };
  /**
   * Default: room for every pod on a bin of its own, 24 candidate shapes, improvement on (a caller that
   * grows the output regions on demand, as core does, passes its own).
   */
  options?: Partial<EncodedProblem["options"]>;
}

/**
 * The one place a problem literal is written: `parts` with every region left out at its default and
 * every count read from its arrays. Throws when an array's length is not a whole multiple of its row.
 */
export function encodedProblem(parts: ProblemParts): EncodedProblem {
  const R = parts.resources;
  const G = parts.groups.counts.length;
  const T = parts.offerings.priceMicros.length;
  const E = wholeRows("existing.remaining", parts.existing?.remaining.length ?? 0, R);
  const P = parts.pools === undefined ? 1 : wholeRows("pools.limits", parts.pools.limits.length, R + 1);
  const C = parts.classes?.capPerBin.length ?? 0;
  const K = parts.capGroups?.maxBins.length ?? 0;
  let pods = 0;
  for (const c of parts.groups.counts) pods += c;
  const g = parts.groups;
  const o = parts.offerings;
  const problem: EncodedProblem = {
    resources: R,
    groups: {
      count: G,
      requests: g.requests,
      counts: g.counts,
      compat: g.compat,
      existingCompat: g.existingCompat ?? new Uint32Array(G * wordsFor(E)),
      classStart: g.classStart ?? new Int32Array(G + 1),
      classList: g.classList ?? new Int32Array(0),
      classFlags: g.classFlags ?? new Int32Array(0),
      value: g.value ?? new Float64Array(G),
    },
    offerings: {
      count: T,
      allocatable: o.allocatable,
      capacity: o.capacity ?? o.allocatable.slice(),
      priceMicros: o.priceMicros,
      pool: o.pool ?? new Int32Array(T),
      shape: o.shape ?? Int32Array.from({ length: T }, (_, t) => t),
      capGroup: o.capGroup ?? new Int32Array(T).fill(-1),
    },
    capGroups: { count: K, maxBins: parts.capGroups?.maxBins ?? new Int32Array(0) },
    pools: {
      count: P,
      limits: parts.pools?.limits ?? new Float64Array(R + 1).fill(Number.POSITIVE_INFINITY),
      used: parts.pools?.used ?? new Float64Array(P * (R + 1)),
    },
    existing: {
      count: E,
      remaining: parts.existing?.remaining ?? new Float64Array(0),
      classCount: parts.existing?.classCount ?? new Int32Array(E * C),
    },
    classes: {
      count: C,
      capPerBin: parts.classes?.capPerBin ?? new Int32Array(0),
      conditional: parts.classes?.conditional ?? new Uint8Array(C),
    },
    options: {
      maxBins: parts.options?.maxBins ?? Math.max(1, pods),
      maxPlacements: parts.options?.maxPlacements ?? Math.max(64, pods + G),
      candidateShapes: parts.options?.candidateShapes ?? 24,
      improve: parts.options?.improve ?? true,
    },
  };
  if (g.value === undefined) problem.groups.value.set(defaultGroupValues(problem));
  return problem;
}

/** Rows of `width` entries in an array of `length` entries; throws when it is not whole. */
function wholeRows(name: string, length: number, width: number): number {
  const rows = length / width;
  if (!Number.isInteger(rows)) throw new Error(`${name} has ${length} entries, not a multiple of ${width}`);
  return rows;
}
