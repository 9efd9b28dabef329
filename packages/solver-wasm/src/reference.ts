import {
  type EncodedProblem,
  ERROR_TOO_MANY_BINS,
  ERROR_TOO_MANY_PLACEMENTS,
  type KernelResult,
  REASON_CLASS_CAP,
  REASON_LAUNCH_CAP,
  REASON_NO_COMPATIBLE_OFFERING,
  REASON_POOL_LIMIT,
  REASON_TOO_LARGE,
  wordsFor,
} from "./problem.ts";

/**
 * The pure-TypeScript kernel: the test oracle for the WebAssembly build and the fallback where
 * WebAssembly is unavailable. assembly/kernel.ts is the same algorithm, statement for statement, so
 * both produce identical results (same float operations in the same order, ties by index).
 *
 * 1. Existing bins first (Karpenter's rule): each group, in order, first-fit over existing bins.
 * 2. New bins by pattern: the first group with pods left anchors a pattern; its pool is the first one
 *    with a compatible offering that fits and respects limits; the top K offering shapes (by an
 *    efficiency estimate on the remaining demand mix) are each filled greedily (anchor first, then the
 *    following groups); the pattern with the most pod value per dollar wins and is replicated as many
 *    times as the remaining counts allow (and as its launched offering's cap group allows).
 * 3. Improvement: empty the least-utilized bins into other bins' slack without raising their price,
 *    then merge pairs of weak bins when one offering serves both for less.
 *
 * Read it beside assembly/kernel.ts: the functions below are the kernel's, in the kernel's order and
 * under its names, and `KernelState` holds what the kernel keeps in module globals.
 *
 *   reference.ts            assembly/kernel.ts
 *   bit                     bit (with f/n/u and the other @inline memory accessors: typed arrays here)
 *   KernelState             the module globals (problem regions, state, poolLimited, sel/selU,
 *                           shapeStamp/shapeFits/stamp); its constructor is solve()'s preamble that
 *                           reads the header and fills them
 *   take                    take
 *   find                    find
 *   fitCount                fitCount (a Float64Array and a base instead of a pointer)
 *   classRoom               classRoom (`more` undefined where the kernel passes 0)
 *   addClasses              addClasses
 *   fitsOne                 fitsOne
 *   limitOk                 limitOk
 *   capOk, capTake          capOk, capTake
 *   addPlacement            addPlacement
 *   andWords                andWords (explicit bases instead of pointers)
 *   priceOf                 priceOf
 *   solveReference          solve (phases 1, 2, 3 and the compaction; `fail` builds the result the
 *                           kernel signals with a negative return)
 *   util                    util
 *   select                  select
 *   loadFits                loadFits
 *   refreshBin              refreshBin
 *   kill                    kill
 *   orderByPoolAndPrice     orderByPoolAndPrice
 *   offeringAfter           offeringAfter
 *   improve                 improve
 *
 * The kernel's abiVersion/reset/alloc, header decoding and region/scratch allocation have no
 * counterpart: the problem arrives as typed arrays.
 */

const INT_MAX = 2147483647;
const TAIL_REPAIR_BINS = 256;
const MERGE_BINS = 64;
const INF = Number.POSITIVE_INFINITY;

/** Bit i of the bitset starting at words[base]. */
function bit(words: Uint32Array, base: number, i: number): boolean {
  return (((words[base + (i >>> 5)] as number) >>> (i & 31)) & 1) === 1;
}

/** The kernel's module globals: the problem's dimensions and arrays, and the solve's mutable state. */
class KernelState {
  // Problem dimensions and regions.
  readonly R: number;
  readonly R1: number;
  readonly G: number;
  readonly T: number;
  readonly E: number;
  readonly P: number;
  readonly C: number;
  readonly C2: number;
  readonly W: number;
  readonly WE: number;
  readonly maxBins: number;
  readonly maxPl: number;
  readonly req: Float64Array;
  readonly compat: Uint32Array;
  readonly exCompat: Uint32Array;
  readonly cStart: Int32Array;
  readonly cList: Int32Array;
  readonly value: Float64Array;
  readonly alloc: Float64Array;
  readonly capacity: Float64Array;
  readonly price: Float64Array;
  readonly poolOf: Int32Array;
  readonly shape: Int32Array;
  readonly limits: Float64Array;
  readonly cap: Int32Array;
  /**
   * Class state per bin: counts[base + 2c] pods counted, counts[base + 2c + 1] activating pods (> 0:
   * the bin is active). Entry flags (1 counted, 2 activates) are 3 for an unconditional class.
   */
  readonly cFlag: Int32Array;
  readonly capGroup: Int32Array;
  /**
   * Launch caps: a bin holds one unit of its launched offering's cap group, taken when it launches
   * (or relaunches as another offering) and given back when it dies or changes offering.
   */
  readonly capLeft: Int32Array;
  readonly hasCaps: boolean;
  // State.
  readonly rem: Int32Array;
  readonly unplaced: Int32Array;
  readonly reason: Int32Array;
  readonly exRem: Float64Array;
  readonly exClass: Int32Array;
  readonly used: Float64Array;
  readonly skip: Int32Array;
  readonly plG: Int32Array;
  readonly plB: Int32Array;
  readonly plN: Int32Array;
  readonly plNext: Int32Array;
  np = 0;
  readonly bLoad: Float64Array;
  readonly bSet: Uint32Array;
  readonly bCompat: Uint32Array;
  readonly bPool: Int32Array;
  readonly bOff: Int32Array;
  readonly bValue: Float64Array;
  readonly bRes: Float64Array;
  readonly bClass: Int32Array;
  readonly bAlive: Uint8Array;
  readonly bHead: Int32Array;
  nb = 0;
  /** Remaining demand mix, for the efficiency estimate. */
  readonly totReq: Float64Array;
  totPods = 0;
  totVal = 0;
  readonly reserve: Float64Array;
  /** Pools without any finite limit skip limit checks entirely. */
  readonly poolLimited: Uint8Array;
  // improve()'s: the selected weakest bins and their utilization.
  sel: Int32Array = new Int32Array(0);
  selU: Float64Array = new Float64Array(0);
  // improve()'s: fit of the current load per offering shape, valid while shapeStamp[s] === stamp.
  shapeStamp: Int32Array = new Int32Array(0);
  shapeFits: Uint8Array = new Uint8Array(0);
  stamp = 0;

  constructor(p: EncodedProblem) {
    const R = p.resources;
    this.R = R;
    this.R1 = R + 1;
    this.G = p.groups.count;
    this.T = p.offerings.count;
    this.E = p.existing.count;
    this.P = p.pools.count;
    this.C = p.classes.count;
    this.C2 = 2 * this.C;
    this.W = wordsFor(this.T);
    this.WE = wordsFor(this.E);
    this.maxBins = p.options.maxBins;
    this.maxPl = p.options.maxPlacements;
    this.req = p.groups.requests;
    this.compat = p.groups.compat;
    this.exCompat = p.groups.existingCompat;
    this.cStart = p.groups.classStart;
    this.cList = p.groups.classList;
    this.value = p.groups.value;
    this.alloc = p.offerings.allocatable;
    this.capacity = p.offerings.capacity;
    this.price = p.offerings.priceMicros;
    this.poolOf = p.offerings.pool;
    this.shape = p.offerings.shape;
    this.limits = p.pools.limits;
    this.cap = p.classes.capPerBin;
    this.capGroup = p.offerings.capGroup;
    this.hasCaps = p.capGroups.count > 0;
    this.capLeft = Int32Array.from(p.capGroups.maxBins);
    const { G, E, C, C2, P, R1, W } = this;
    const maxBins = this.maxBins;
    const maxPl = this.maxPl;

    this.rem = Int32Array.from(p.groups.counts);
    this.unplaced = new Int32Array(G);
    this.reason = new Int32Array(G);
    this.exRem = Float64Array.from(p.existing.remaining);
    this.exClass = new Int32Array(E * C2);
    for (let i = 0; i < E * C; i++) this.exClass[2 * i] = p.existing.classCount[i] as number;
    this.cFlag = Int32Array.from(this.cList, (c, i) =>
      p.classes.conditional[c] ? (p.groups.classFlags[i] as number) : 3,
    );
    this.used = Float64Array.from(p.pools.used);
    this.skip = new Int32Array(G + 1);
    for (let g = 0; g <= G; g++) this.skip[g] = g + 1;
    this.plG = new Int32Array(maxPl);
    this.plB = new Int32Array(maxPl);
    this.plN = new Int32Array(maxPl);
    this.plNext = new Int32Array(maxPl);
    this.bLoad = new Float64Array(maxBins * R);
    this.bSet = new Uint32Array(maxBins * W);
    this.bCompat = new Uint32Array(maxBins * W);
    this.bPool = new Int32Array(maxBins);
    this.bOff = new Int32Array(maxBins);
    this.bValue = new Float64Array(maxBins);
    this.bRes = new Float64Array(maxBins * R1);
    this.bClass = new Int32Array(maxBins * C2);
    this.bAlive = new Uint8Array(maxBins);
    this.bHead = new Int32Array(maxBins).fill(-1);
    this.poolLimited = new Uint8Array(P);
    for (let q = 0; q < P; q++)
      for (let r = 0; r <= R; r++) if (this.limits[q * R1 + r] !== INF) this.poolLimited[q] = 1;
    this.totReq = new Float64Array(R);
    for (let g = 0; g < G; g++) {
      const n = this.rem[g] as number;
      for (let r = 0; r < R; r++)
        this.totReq[r] = (this.totReq[r] as number) + n * (this.req[g * R + r] as number);
      this.totPods += n;
      this.totVal += n * (this.value[g] as number);
    }
    this.reserve = new Float64Array(R1);
  }
}

function take(s: KernelState, g: number, n: number): void {
  const { R, req, totReq } = s;
  s.rem[g] = (s.rem[g] as number) - n;
  for (let r = 0; r < R; r++) totReq[r] = (totReq[r] as number) - n * (req[g * R + r] as number);
  s.totPods -= n;
  s.totVal -= n * (s.value[g] as number);
}

/** Smallest h >= g with pods remaining (G when none). */
function find(s: KernelState, g: number): number {
  const { G, rem, skip } = s;
  let h = g;
  while (h < G && rem[h] === 0) h = skip[h] as number;
  let i = g;
  while (i < h) {
    const next = skip[i] as number;
    skip[i] = h;
    i = next;
  }
  return h;
}

/** How many pods of group g fit in `space` at `base` (capped at INT_MAX). */
function fitCount(s: KernelState, space: Float64Array, base: number, g: number): number {
  const { R, req } = s;
  let k = INT_MAX;
  for (let r = 0; r < R; r++) {
    const q = req[g * R + r] as number;
    if (q > 0) {
      const f = Math.floor((space[base + r] as number) / q);
      if (f < k) k = f;
    }
  }
  return Math.max(0, k);
}

/**
 * k capped so that k more pods of group g keep every class of the bin at counts[base..] (plus
 * more[base..]) within its cap wherever the bin is, or becomes, active.
 */
function classRoom(
  s: KernelState,
  g: number,
  k: number,
  counts: Int32Array,
  base: number,
  more?: Int32Array,
): number {
  const { cStart, cList, cFlag, cap } = s;
  for (let i = cStart[g] as number; i < (cStart[g + 1] as number); i++) {
    const j = base + 2 * (cList[i] as number);
    const fl = cFlag[i] as number;
    const room =
      (cap[cList[i] as number] as number) - (counts[j] as number) - (more ? (more[j] as number) : 0);
    const act = (counts[j + 1] as number) + (more ? (more[j + 1] as number) : 0);
    if ((fl & 1) !== 0) {
      if (((fl & 2) !== 0 || act > 0) && room < k) k = room;
    } else if ((fl & 2) !== 0 && room < 0) k = 0;
  }
  return k;
}

/** Adds k pods of group g to the class state at counts[base..]. */
function addClasses(s: KernelState, g: number, k: number, counts: Int32Array, base: number): void {
  const { cStart, cList, cFlag } = s;
  for (let i = cStart[g] as number; i < (cStart[g + 1] as number); i++) {
    const j = base + 2 * (cList[i] as number);
    if (((cFlag[i] as number) & 1) !== 0) counts[j] = (counts[j] as number) + k;
    if (((cFlag[i] as number) & 2) !== 0) counts[j + 1] = (counts[j + 1] as number) + k;
  }
}

function fitsOne(s: KernelState, t: number, g: number): boolean {
  const { R, req, alloc } = s;
  for (let r = 0; r < R; r++) if ((req[g * R + r] as number) > (alloc[t * R + r] as number)) return false;
  return true;
}

/** Does one node of offering t fit the pool's limit room? */
function limitOk(s: KernelState, t: number): boolean {
  const { R, R1, poolOf, limits, used, capacity } = s;
  if (s.poolLimited[poolOf[t] as number] === 0) return true;
  const base = (poolOf[t] as number) * R1;
  for (let r = 0; r < R; r++) {
    const lim = limits[base + r] as number;
    if (lim !== INF && (used[base + r] as number) + (capacity[t * R + r] as number) > lim) return false;
  }
  const nodeLim = limits[base + R] as number;
  return nodeLim === INF || (used[base + R] as number) + 1 <= nodeLim;
}

/** May one more bin launch as offering t (its cap group, if any, has a unit left)? */
function capOk(s: KernelState, t: number): boolean {
  if (!s.hasCaps) return true;
  const k = s.capGroup[t] as number;
  return k < 0 || (s.capLeft[k] as number) > 0;
}

/** Takes n units of offering t's cap group (gives them back for n < 0). */
function capTake(s: KernelState, t: number, n: number): void {
  if (!s.hasCaps) return;
  const k = s.capGroup[t] as number;
  if (k >= 0) s.capLeft[k] = (s.capLeft[k] as number) - n;
}

function addPlacement(s: KernelState, g: number, bin: number, n: number): boolean {
  const np = s.np;
  if (np >= s.maxPl) return false;
  s.plG[np] = g;
  s.plB[np] = bin;
  s.plN[np] = n;
  s.plNext[np] = -1;
  if (bin >= s.E) {
    const b = bin - s.E;
    s.plNext[np] = s.bHead[b] as number;
    s.bHead[b] = np;
  }
  s.np = np + 1;
  return true;
}

/** dst[dBase + w] = a[aBase + w] & b[bBase + w] for W words. */
function andWords(
  s: KernelState,
  dst: Uint32Array,
  dBase: number,
  a: Uint32Array,
  aBase: number,
  b: Uint32Array,
  bBase: number,
): void {
  const W = s.W;
  for (let w = 0; w < W; w++) dst[dBase + w] = ((a[aBase + w] as number) & (b[bBase + w] as number)) >>> 0;
}

function priceOf(s: KernelState, t: number): number {
  const p = s.price[t] as number;
  return p > 0 ? p : 0.5;
}

/** Solves an encoded problem in TypeScript. The problem is assumed valid (`validateEncodedProblem`). */
export function solveReference(p: EncodedProblem): KernelResult {
  const s = new KernelState(p);
  const { R, R1, G, T, E, P, C2, W, WE, maxBins, req, compat, cStart, cList, value, alloc, capacity } = s;
  const { price, poolOf, shape, limits, cap, cFlag, capGroup, capLeft, rem, unplaced, reason, exRem } = s;
  const { exClass, used, bLoad, bSet, bCompat, bPool, bOff, bValue, bRes, bClass, bAlive, bHead } = s;
  const { totReq, reserve } = s;
  const poolMask = new Uint32Array(P * W);
  for (let t = 0; t < T; t++) {
    const i = (poolOf[t] as number) * W + (t >>> 5);
    poolMask[i] = (poolMask[i] as number) | (1 << (t & 31));
  }

  const fail = (status: number): KernelResult => ({
    status,
    newBins: 0,
    binOffering: new Int32Array(0),
    binOptions: new Uint32Array(0),
    binPool: new Int32Array(0),
    placements: new Int32Array(0),
    unplaced,
    unplacedReason: reason,
  });

  // 1. Existing bins.
  for (let g = 0; g < G; g++) {
    if (rem[g] === 0) continue;
    for (let e = 0; e < E; e++) {
      if (!bit(s.exCompat, g * WE, e)) continue;
      let k = fitCount(s, exRem, e * R, g);
      if (k > (rem[g] as number)) k = rem[g] as number;
      k = classRoom(s, g, k, exClass, e * C2);
      if (k <= 0) continue;
      for (let r = 0; r < R; r++)
        exRem[e * R + r] = (exRem[e * R + r] as number) - k * (req[g * R + r] as number);
      addClasses(s, g, k, exClass, e * C2);
      take(s, g, k);
      if (!addPlacement(s, g, e, k)) return fail(ERROR_TOO_MANY_PLACEMENTS);
      if (rem[g] === 0) break;
    }
  }

  // 2. New bins, pattern by pattern.
  const K = p.options.candidateShapes > 0 ? Math.min(p.options.candidateShapes, T) : T;
  const candT = new Int32Array(Math.max(K, 1));
  const candEff = new Float64Array(Math.max(K, 1));
  const space = new Float64Array(R);
  const demand = new Float64Array(R);
  const minReq = new Float64Array(R);
  const patG = new Int32Array(G);
  const patN = new Int32Array(G);
  const bestG = new Int32Array(G);
  const bestN = new Int32Array(G);
  const patClass = new Int32Array(C2);
  const load = new Float64Array(R);
  const mask = new Uint32Array(W);

  let anchor = find(s, 0);
  while (anchor < G) {
    const g0 = anchor;
    let capped = false;
    for (let i = cStart[g0] as number; i < (cStart[g0 + 1] as number); i++)
      if (cap[cList[i] as number] === 0 && cFlag[i] === 3) capped = true;
    let pool = P;
    let anyCompat = false;
    let anyFit = false;
    let launchCapped = false;
    if (!capped) {
      for (let t = 0; t < T; t++) {
        if (!bit(compat, g0 * W, t)) continue;
        anyCompat = true;
        if (!fitsOne(s, t, g0)) continue;
        anyFit = true;
        if ((poolOf[t] as number) < pool && limitOk(s, t)) {
          if (!capOk(s, t)) {
            launchCapped = true;
            continue;
          }
          pool = poolOf[t] as number;
          if (pool === 0) break;
        }
      }
    }
    if (pool === P) {
      reason[g0] = capped
        ? REASON_CLASS_CAP
        : !anyCompat
          ? REASON_NO_COMPATIBLE_OFFERING
          : !anyFit
            ? REASON_TOO_LARGE
            : launchCapped
              ? REASON_LAUNCH_CAP
              : REASON_POOL_LIMIT;
      unplaced[g0] = (unplaced[g0] as number) + (rem[g0] as number);
      take(s, g0, rem[g0] as number);
      anchor = find(s, anchor);
      continue;
    }

    // Candidate shapes by estimated value per dollar on the remaining mix; keep the top K.
    let nc = 0;
    const totPods = s.totPods;
    const avgVal = s.totVal / totPods;
    for (let t = 0; t < T; t++) {
      if (
        shape[t] !== t ||
        poolOf[t] !== pool ||
        !bit(compat, g0 * W, t) ||
        !fitsOne(s, t, g0) ||
        !limitOk(s, t) ||
        !capOk(s, t)
      )
        continue;
      let n = INF;
      for (let r = 0; r < R; r++) {
        if ((totReq[r] as number) > 0) {
          const x = (alloc[t * R + r] as number) / ((totReq[r] as number) / totPods);
          if (x < n) n = x;
        }
      }
      // Whole average pods: a shape that holds 1.3 of them really holds 1, which is what fragments.
      const eff = (Math.floor(n) * avgVal) / priceOf(s, t);
      if (nc < K) {
        let i = nc++;
        while (i > 0 && (candEff[i - 1] as number) < eff) {
          candEff[i] = candEff[i - 1] as number;
          candT[i] = candT[i - 1] as number;
          i--;
        }
        candEff[i] = eff;
        candT[i] = t;
      } else if (eff > (candEff[K - 1] as number)) {
        let i = K - 1;
        while (i > 0 && (candEff[i - 1] as number) < eff) {
          candEff[i] = candEff[i - 1] as number;
          candT[i] = candT[i - 1] as number;
          i--;
        }
        candEff[i] = eff;
        candT[i] = t;
      }
    }

    // Per pattern, once: the remaining demand mix, and the smallest request per resource (a bin with
    // less room than that in some resource can take no more pods).
    for (let r = 0; r < R; r++) {
      demand[r] = 0;
      minReq[r] = INF;
    }
    let maxRem = 0;
    for (let h = g0; h < G; h = find(s, h + 1)) {
      if ((rem[h] as number) > maxRem) maxRem = rem[h] as number;
      for (let r = 0; r < R; r++) {
        const q = req[h * R + r] as number;
        demand[r] = (demand[r] as number) + (rem[h] as number) * q;
        if (q < (minReq[r] as number)) minReq[r] = q;
      }
    }

    let bestT = -1;
    let bestScore = -1;
    let bestLen = 0;
    for (let c = 0; c < nc; c++) {
      const t = candT[c] as number;
      for (let r = 0; r < R; r++) space[r] = alloc[t * R + r] as number;
      patClass.fill(0);
      // How many bins of this shape the remaining demand needs: each bin first takes that share of
      // every group (a balanced mix, as the LP relaxation would), then tops up greedily.
      let bins = 1;
      for (let r = 0; r < R; r++) {
        const a = alloc[t * R + r] as number;
        if (a > 0 && (demand[r] as number) / a > bins) bins = (demand[r] as number) / a;
      }
      let pv = 0;
      let len = 0;
      let full = false;
      // The balanced pass only matters when some group has a share of at least one pod per bin.
      for (let pass = bins > 1 && Math.floor(maxRem / bins) >= 1 ? 0 : 1; pass < 2 && !full; pass++) {
        for (let h = g0; h < G; h = find(s, h + 1)) {
          if (!bit(compat, h * W, t)) continue;
          let k = fitCount(s, space, 0, h);
          const left = (rem[h] as number) - (patN[h] as number);
          if (k > left) k = left;
          if (pass === 0) {
            let share = Math.floor((rem[h] as number) / bins);
            if (share < 1 && h === g0) share = 1;
            if (k > share) k = share;
          }
          k = classRoom(s, h, k, patClass, 0);
          if (k <= 0) continue;
          for (let r = 0; r < R; r++) space[r] = (space[r] as number) - k * (req[h * R + r] as number);
          addClasses(s, h, k, patClass, 0);
          pv += k * (value[h] as number);
          if (patN[h] === 0) patG[len++] = h;
          patN[h] = (patN[h] as number) + k;
          for (let r = 0; r < R; r++)
            if ((minReq[r] as number) > 0 && (space[r] as number) < (minReq[r] as number)) full = true;
          if (full) break;
        }
      }
      const score = pv / priceOf(s, t);
      if (len > 0 && score > bestScore) {
        bestScore = score;
        bestT = t;
        bestLen = len;
        for (let i = 0; i < len; i++) {
          bestG[i] = patG[i] as number;
          bestN[i] = patN[patG[i] as number] as number;
        }
      }
      for (let i = 0; i < len; i++) patN[patG[i] as number] = 0;
    }
    if (bestT < 0) {
      // Unreachable for valid input (the pool choice guarantees a candidate); stay safe.
      reason[g0] = REASON_TOO_LARGE;
      unplaced[g0] = (unplaced[g0] as number) + (rem[g0] as number);
      take(s, g0, rem[g0] as number);
      anchor = find(s, anchor);
      continue;
    }

    // Replicate the winning pattern.
    let copies = INT_MAX;
    for (let r = 0; r < R; r++) load[r] = 0;
    for (let i = 0; i < bestLen; i++) {
      const h = bestG[i] as number;
      const n = bestN[i] as number;
      const c = Math.floor((rem[h] as number) / n);
      if (c < copies) copies = c;
      for (let r = 0; r < R; r++) load[r] = (load[r] as number) + n * (req[h * R + r] as number);
    }
    for (let w = 0; w < W; w++) mask[w] = poolMask[pool * W + w] as number;
    for (let i = 0; i < bestLen; i++) andWords(s, mask, 0, mask, 0, compat, (bestG[i] as number) * W);
    for (let r = 0; r <= R; r++) reserve[r] = 0;
    reserve[R] = 1;
    let cheapest = -1;
    if (s.nb >= maxBins) return fail(ERROR_TOO_MANY_BINS);
    const setBase = s.nb * W;
    for (let w = 0; w < W; w++) {
      let m = mask[w] as number;
      let kept = 0;
      while (m !== 0) {
        const low = m & -m;
        const t = (w << 5) + (31 - Math.clz32(low));
        m = (m ^ low) >>> 0;
        let ok = limitOk(s, t) && capOk(s, t);
        for (let r = 0; ok && r < R; r++) if ((load[r] as number) > (alloc[t * R + r] as number)) ok = false;
        if (!ok) continue;
        kept |= low;
        for (let r = 0; r < R; r++)
          if ((capacity[t * R + r] as number) > (reserve[r] as number))
            reserve[r] = capacity[t * R + r] as number;
        if (cheapest < 0 || (price[t] as number) < (price[cheapest] as number)) cheapest = t;
      }
      bSet[setBase + w] = kept >>> 0;
    }
    const pbase = pool * R1;
    for (let r = 0; r <= R; r++) {
      const lim = limits[pbase + r] as number;
      if (lim !== INF && (reserve[r] as number) > 0) {
        const c = Math.floor((lim - (used[pbase + r] as number)) / (reserve[r] as number));
        if (c < copies) copies = c;
      }
    }
    if (copies < 1) copies = 1;
    const k0 = s.hasCaps ? (capGroup[cheapest] as number) : -1;
    if (k0 >= 0 && (capLeft[k0] as number) < copies) copies = capLeft[k0] as number;
    if (copies > maxBins - s.nb) copies = maxBins - s.nb;
    capTake(s, cheapest, copies);
    for (let c = 0; c < copies; c++) {
      const b = s.nb++;
      for (let w = 0; w < W; w++) {
        bSet[b * W + w] = bSet[setBase + w] as number;
        bCompat[b * W + w] = mask[w] as number;
      }
      for (let r = 0; r < R; r++) bLoad[b * R + r] = load[r] as number;
      for (let r = 0; r <= R; r++) bRes[b * R1 + r] = reserve[r] as number;
      bClass.fill(0, b * C2, b * C2 + C2);
      bPool[b] = pool;
      bOff[b] = cheapest;
      bAlive[b] = 1;
      bHead[b] = -1;
      let v = 0;
      for (let i = 0; i < bestLen; i++) {
        const h = bestG[i] as number;
        const n = bestN[i] as number;
        v += n * (value[h] as number);
        addClasses(s, h, n, bClass, b * C2);
        if (!addPlacement(s, h, E + b, n)) return fail(ERROR_TOO_MANY_PLACEMENTS);
      }
      bValue[b] = v;
    }
    for (let r = 0; r <= R; r++)
      used[pbase + r] = (used[pbase + r] as number) + copies * (reserve[r] as number);
    for (let i = 0; i < bestLen; i++) take(s, bestG[i] as number, copies * (bestN[i] as number));
    anchor = find(s, anchor);
  }

  // 3. Improvement.
  if (p.options.improve && s.nb > 1) improve(s);

  // Compact: live bins in order, placements in creation order.
  const nb = s.nb;
  const np = s.np;
  const { plG, plB, plN } = s;
  const newIndex = new Int32Array(nb);
  let live = 0;
  for (let b = 0; b < nb; b++) newIndex[b] = bAlive[b] === 1 ? live++ : -1;
  const binOffering = new Int32Array(live);
  const binPool = new Int32Array(live);
  const binOptions = new Uint32Array(live * W);
  for (let b = 0; b < nb; b++) {
    const i = newIndex[b] as number;
    if (i < 0) continue;
    binOffering[i] = bOff[b] as number;
    binPool[i] = bPool[b] as number;
    for (let w = 0; w < W; w++) binOptions[i * W + w] = bSet[b * W + w] as number;
  }
  let count = 0;
  for (let e = 0; e < np; e++) if ((plN[e] as number) > 0) count++;
  const placements = new Int32Array(count * 3);
  let o = 0;
  for (let e = 0; e < np; e++) {
    if ((plN[e] as number) <= 0) continue;
    const bin = plB[e] as number;
    placements[o++] = plG[e] as number;
    placements[o++] = bin < E ? bin : E + (newIndex[bin - E] as number);
    placements[o++] = plN[e] as number;
  }
  return {
    status: live,
    newBins: live,
    binOffering,
    binOptions,
    binPool,
    placements,
    unplaced,
    unplacedReason: reason,
  };
}

/** Pod value per dollar of bin b's launched offering. */
function util(s: KernelState, b: number): number {
  return (s.bValue[b] as number) / priceOf(s, s.bOff[b] as number);
}

/** The (at most `limit`) live bins of lowest utilization into sel/selU, ascending (ties by index); returns how many. */
function select(s: KernelState, limit: number): number {
  const { nb, bAlive, sel, selU } = s;
  let n = 0;
  for (let b = 0; b < nb; b++) {
    if (bAlive[b] === 0) continue;
    const u = util(s, b);
    if (n < limit) {
      let i = n++;
      while (i > 0 && (selU[i - 1] as number) > u) {
        selU[i] = selU[i - 1] as number;
        sel[i] = sel[i - 1] as number;
        i--;
      }
      selU[i] = u;
      sel[i] = b;
    } else if (u < (selU[limit - 1] as number)) {
      let i = limit - 1;
      while (i > 0 && (selU[i - 1] as number) > u) {
        selU[i] = selU[i - 1] as number;
        sel[i] = sel[i - 1] as number;
        i--;
      }
      selU[i] = u;
      sel[i] = b;
    }
  }
  return n;
}

/**
 * Does `load` (R values from `base`) fit offering t's allocatable? Cached per shape (members share
 * allocatable) for the current stamp, so a set of 3 zones x N types is tested N times, not 3N.
 */
function loadFits(s: KernelState, load: Float64Array, base: number, t: number): boolean {
  const { R, alloc, shapeStamp, shapeFits } = s;
  const sh = s.shape[t] as number;
  if (shapeStamp[sh] === s.stamp) return shapeFits[sh] === 1;
  let ok = true;
  for (let r = 0; ok && r < R; r++)
    if ((load[base + r] as number) > (alloc[sh * R + r] as number)) ok = false;
  shapeStamp[sh] = s.stamp;
  shapeFits[sh] = ok ? 1 : 0;
  return ok;
}

/** Recomputes bin b's option set from its compat mask and load, its cheapest offering and reservation. */
function refreshBin(s: KernelState, b: number): void {
  const { R, R1, W, limits, used, capacity, price, reserve, bSet, bCompat, bLoad, bRes } = s;
  const pool = s.bPool[b] as number;
  const pbase = pool * R1;
  const limited = s.poolLimited[pool] === 1;
  s.stamp++;
  for (let r = 0; r <= R; r++) used[pbase + r] = (used[pbase + r] as number) - (bRes[b * R1 + r] as number);
  capTake(s, s.bOff[b] as number, -1);
  for (let r = 0; r <= R; r++) reserve[r] = 0;
  reserve[R] = 1;
  let cheapest = -1;
  for (let w = 0; w < W; w++) {
    let m = (bSet[b * W + w] as number) & (bCompat[b * W + w] as number);
    let kept = 0;
    while (m !== 0) {
      const low = m & -m;
      const t = (w << 5) + (31 - Math.clz32(low));
      m = (m ^ low) >>> 0;
      let ok = loadFits(s, bLoad, b * R, t) && capOk(s, t);
      for (let r = 0; ok && limited && r < R; r++) {
        const lim = limits[pbase + r] as number;
        if (lim !== INF && (used[pbase + r] as number) + (capacity[t * R + r] as number) > lim) ok = false;
      }
      if (!ok) continue;
      kept |= low;
      for (let r = 0; r < R; r++)
        if ((capacity[t * R + r] as number) > (reserve[r] as number))
          reserve[r] = capacity[t * R + r] as number;
      if (cheapest < 0 || (price[t] as number) < (price[cheapest] as number)) cheapest = t;
    }
    bSet[b * W + w] = kept >>> 0;
  }
  s.bOff[b] = cheapest;
  capTake(s, cheapest, 1);
  for (let r = 0; r <= R; r++) {
    bRes[b * R1 + r] = reserve[r] as number;
    used[pbase + r] = (used[pbase + r] as number) + (reserve[r] as number);
  }
}

/** Empties bin b: gives back its reservation and cap unit, zeroes its placements. */
function kill(s: KernelState, b: number): void {
  const { R, R1, used, bRes, plN, plNext, bHead } = s;
  const pbase = (s.bPool[b] as number) * R1;
  for (let r = 0; r <= R; r++) used[pbase + r] = (used[pbase + r] as number) - (bRes[b * R1 + r] as number);
  capTake(s, s.bOff[b] as number, -1);
  s.bAlive[b] = 0;
  for (let e = bHead[b] as number; e >= 0; e = plNext[e] as number) plN[e] = 0;
  bHead[b] = -1;
}

/** Offerings ordered by (pool, price, index) into `order`; `poolStart[q]` is where pool q begins. */
function orderByPoolAndPrice(s: KernelState, order: Int32Array, poolStart: Int32Array): void {
  const { T, P, poolOf } = s;
  for (let t = 0; t < T; t++) {
    order[t] = t;
    poolStart[(poolOf[t] as number) + 1] = (poolStart[(poolOf[t] as number) + 1] as number) + 1;
  }
  for (let q = 0; q < P; q++) poolStart[q + 1] = (poolStart[q + 1] as number) + (poolStart[q] as number);
  // Bottom-up merge sort: the key is a strict total order, so any correct sort gives this order.
  let src: Int32Array = order;
  let dst: Int32Array = new Int32Array(T);
  for (let width = 1; width < T; width <<= 1) {
    for (let lo = 0; lo < T; lo += width << 1) {
      const mid = Math.min(lo + width, T);
      const hi = Math.min(lo + (width << 1), T);
      let i = lo;
      let j = mid;
      for (let o = lo; o < hi; o++) {
        if (j >= hi || (i < mid && !offeringAfter(s, src[i] as number, src[j] as number)))
          dst[o] = src[i++] as number;
        else dst[o] = src[j++] as number;
      }
    }
    const swap = src;
    src = dst;
    dst = swap;
  }
  if (src !== order) order.set(src);
}

/** Does offering a come after b in (pool, price, index) order? */
function offeringAfter(s: KernelState, a: number, b: number): boolean {
  const { poolOf, price } = s;
  if (poolOf[a] !== poolOf[b]) return (poolOf[a] as number) > (poolOf[b] as number);
  if (price[a] !== price[b]) return (price[a] as number) > (price[b] as number);
  return a > b;
}

function improve(s: KernelState): void {
  const { R, R1, G, T, P, C, C2, W, E, maxPl, req, compat, value, alloc, capacity, price, shape } = s;
  const { limits, cap, capGroup, capLeft, used, plG, plN, plB, plNext, poolLimited } = s;
  const { bLoad, bSet, bCompat, bPool, bOff, bValue, bRes, bClass, bAlive, bHead } = s;
  const nb = s.nb;
  // Offerings ordered by (pool, price, index), for the merge search; pool q starts at poolStart[q].
  const order = new Int32Array(T);
  const poolStart = new Int32Array(P + 1);
  orderByPoolAndPrice(s, order, poolStart);
  // The same order over representatives only (shape[t] === t), for pools without limits.
  const repOrder = new Int32Array(T);
  const repStart = new Int32Array(P + 1);
  let nrep = 0;
  for (let q = 0; q < P; q++) {
    repStart[q] = nrep;
    for (let i = poolStart[q] as number; i < (poolStart[q + 1] as number); i++)
      if (shape[order[i] as number] === order[i]) repOrder[nrep++] = order[i] as number;
  }
  repStart[P] = nrep;
  const stale = new Uint8Array(nb);
  const pairLoad = new Float64Array(R);
  s.shapeStamp = new Int32Array(T);
  s.shapeFits = new Uint8Array(T);
  s.stamp = 0;
  s.sel = new Int32Array(TAIL_REPAIR_BINS);
  s.selU = new Float64Array(TAIL_REPAIR_BINS);
  const sel = s.sel;
  const extra = new Float64Array(nb * R);
  const extraClass = new Int32Array(nb * C2);
  const touched = new Int32Array(nb);
  const mvG = new Int32Array(maxPl);
  const mvB = new Int32Array(maxPl);
  const mvN = new Int32Array(maxPl);

  // (a) Tail repair: empty weak bins into other bins' slack at no extra price. Receivers: bins
  // whose slack holds, in every resource, the smallest request of any group. A receiver's launched
  // offering never changes (its set only shrinks and keeps it) and its load only grows, so a bin
  // left out here could never take a pod.
  const minAll = new Float64Array(R).fill(INF);
  for (let g = 0; g < G; g++)
    for (let r = 0; r < R; r++)
      if ((req[g * R + r] as number) < (minAll[r] as number)) minAll[r] = req[g * R + r] as number;
  const recv = new Int32Array(nb);
  let nr = 0;
  for (let b2 = 0; b2 < nb; b2++) {
    if (bAlive[b2] === 0) continue;
    const o2 = bOff[b2] as number;
    let room = true;
    for (let r = 0; room && r < R; r++)
      if ((alloc[o2 * R + r] as number) - (bLoad[b2 * R + r] as number) < (minAll[r] as number)) room = false;
    if (room) recv[nr++] = b2;
  }
  const n1 = select(s, TAIL_REPAIR_BINS);
  for (let si = 0; si < n1; si++) {
    const b = sel[si] as number;
    if (bAlive[b] === 0) continue;
    let nt = 0;
    let nm = 0;
    let ok = true;
    for (let e = bHead[b] as number; ok && e >= 0; e = plNext[e] as number) {
      const h = plG[e] as number;
      let left = plN[e] as number;
      for (let i = 0; left > 0 && i < nr; i++) {
        const b2 = recv[i] as number;
        if (b2 === b || bAlive[b2] === 0 || bPool[b2] !== bPool[b]) continue;
        const o2 = bOff[b2] as number;
        if (!bit(compat, h * W, o2)) continue;
        let k = INT_MAX;
        for (let r = 0; r < R; r++) {
          const q = req[h * R + r] as number;
          if (q > 0) {
            const f = Math.floor(
              ((alloc[o2 * R + r] as number) -
                (bLoad[b2 * R + r] as number) -
                (extra[b2 * R + r] as number)) /
                q,
            );
            if (f < k) k = f;
          }
        }
        if (k > left) k = left;
        k = classRoom(s, h, k, bClass, b2 * C2, extraClass);
        if (k <= 0) continue;
        let seen = false;
        for (let i = 0; i < nt; i++) if (touched[i] === b2) seen = true;
        if (!seen) touched[nt++] = b2;
        for (let r = 0; r < R; r++)
          extra[b2 * R + r] = (extra[b2 * R + r] as number) + k * (req[h * R + r] as number);
        addClasses(s, h, k, extraClass, b2 * C2);
        // More moves than placement room left: the attempt fails (and the move lists stay in bounds).
        if (s.np + nm >= maxPl) {
          ok = false;
          break;
        }
        mvG[nm] = h;
        mvB[nm] = b2;
        mvN[nm] = k;
        nm++;
        left -= k;
      }
      if (left > 0) ok = false;
    }
    if (ok && s.np + nm > maxPl) ok = false;
    if (ok) {
      kill(s, b);
      for (let i = 0; i < nm; i++) {
        const h = mvG[i] as number;
        const b2 = mvB[i] as number;
        const n = mvN[i] as number;
        for (let r = 0; r < R; r++)
          bLoad[b2 * R + r] = (bLoad[b2 * R + r] as number) + n * (req[h * R + r] as number);
        addClasses(s, h, n, bClass, b2 * C2);
        bValue[b2] = (bValue[b2] as number) + n * (value[h] as number);
        andWords(s, bCompat, b2 * W, bCompat, b2 * W, compat, h * W);
        addPlacement(s, h, E + b2, n);
      }
      // In a pool without limits a receiver keeps its launched offering and nothing reads its set
      // until the end, where one re-filter by its final load gives the same set (the filter is monotone).
      for (let i = 0; i < nt; i++) {
        const b2 = touched[i] as number;
        if (poolLimited[bPool[b2] as number] === 1) refreshBin(s, b2);
        else stale[b2] = 1;
      }
    }
    for (let i = 0; i < nt; i++) {
      const b2 = touched[i] as number;
      for (let r = 0; r < R; r++) extra[b2 * R + r] = 0;
      extraClass.fill(0, b2 * C2, b2 * C2 + C2);
    }
  }

  // (b) Merge pairs of weak bins when one offering serves both for less.
  const n2 = select(s, MERGE_BINS);
  for (let i = 0; i < n2; i++) {
    const a = sel[i] as number;
    for (let j = i + 1; j < n2; j++) {
      const b = sel[j] as number;
      if (bAlive[a] === 0 || bAlive[b] === 0 || bPool[a] !== bPool[b]) continue;
      let ok = true;
      // The joint bin is active for a class if either is; then its joint count must be within the cap.
      for (let k = 0; ok && k < C; k++) {
        const j = a * C2 + 2 * k;
        const l = b * C2 + 2 * k;
        if (
          (bClass[j + 1] as number) + (bClass[l + 1] as number) > 0 &&
          (bClass[j] as number) + (bClass[l] as number) > (cap[k] as number)
        )
          ok = false;
      }
      if (!ok) continue;
      const pool = bPool[a] as number;
      const pbase = pool * R1;
      // The pool's offerings cheapest first: the first one both bins may use that holds their joint
      // load is the cheapest (ties by index); stop once none can beat the pair's price.
      const pairPrice = (price[bOff[a] as number] as number) + (price[bOff[b] as number] as number);
      for (let r = 0; r < R; r++) pairLoad[r] = (bLoad[a * R + r] as number) + (bLoad[b * R + r] as number);
      const limited = poolLimited[pool] === 1;
      s.stamp++;
      // Without limits, compat and fit are per shape and a representative is its shape's lowest
      // index, so the first representative that passes is the first offering that passes.
      const ord = limited ? order : repOrder;
      const start = limited ? poolStart : repStart;
      let cheapest = -1;
      for (let i = start[pool] as number; cheapest < 0 && i < (start[pool + 1] as number); i++) {
        const t = ord[i] as number;
        if (!((price[t] as number) < pairPrice)) break;
        if (!bit(bCompat, a * W, t) || !bit(bCompat, b * W, t)) continue;
        // A capped offering needs a unit left once the pair gives back its own.
        const k = s.hasCaps ? (capGroup[t] as number) : -1;
        if (
          k >= 0 &&
          (capLeft[k] as number) +
            (capGroup[bOff[a] as number] === k ? 1 : 0) +
            (capGroup[bOff[b] as number] === k ? 1 : 0) <=
            0
        )
          continue;
        let fits = loadFits(s, pairLoad, 0, t);
        for (let r = 0; fits && limited && r < R; r++) {
          const lim = limits[pbase + r] as number;
          if (
            lim !== INF &&
            (used[pbase + r] as number) -
              (bRes[a * R1 + r] as number) -
              (bRes[b * R1 + r] as number) +
              (capacity[t * R + r] as number) >
              lim
          )
            fits = false;
        }
        if (fits) cheapest = t;
      }
      if (cheapest < 0) continue;
      if (s.np + 1 > maxPl) continue;
      // Merge b into a: a's set becomes the joint compat mask, re-filtered by the joint load.
      for (let r = 0; r < R; r++)
        bLoad[a * R + r] = (bLoad[a * R + r] as number) + (bLoad[b * R + r] as number);
      for (let k = 0; k < C2; k++)
        bClass[a * C2 + k] = (bClass[a * C2 + k] as number) + (bClass[b * C2 + k] as number);
      bValue[a] = (bValue[a] as number) + (bValue[b] as number);
      andWords(s, bCompat, a * W, bCompat, a * W, bCompat, b * W);
      for (let w = 0; w < W; w++) bSet[a * W + w] = bCompat[a * W + w] as number;
      for (let e = bHead[b] as number; e >= 0; ) {
        const next = plNext[e] as number;
        plB[e] = E + a;
        plNext[e] = bHead[a] as number;
        bHead[a] = e;
        e = next;
      }
      bHead[b] = -1;
      const pb = (bPool[b] as number) * R1;
      for (let r = 0; r <= R; r++) used[pb + r] = (used[pb + r] as number) - (bRes[b * R1 + r] as number);
      capTake(s, bOff[b] as number, -1);
      bAlive[b] = 0;
      refreshBin(s, a);
      stale[a] = 0;
    }
  }
  for (let b = 0; b < nb; b++) if (stale[b] === 1 && bAlive[b] === 1) refreshBin(s, b);
}
