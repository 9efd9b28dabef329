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
 */

const INT_MAX = 2147483647;
const TAIL_REPAIR_BINS = 256;
const MERGE_BINS = 64;

/** Solves an encoded problem in TypeScript. The problem is assumed valid (`validateEncodedProblem`). */
export function solveReference(p: EncodedProblem): KernelResult {
  const R = p.resources;
  const R1 = R + 1;
  const G = p.groups.count;
  const T = p.offerings.count;
  const E = p.existing.count;
  const P = p.pools.count;
  const C = p.classes.count;
  const C2 = 2 * C;
  const W = wordsFor(T);
  const WE = wordsFor(E);
  const maxBins = p.options.maxBins;
  const maxPl = p.options.maxPlacements;
  const req = p.groups.requests;
  const compat = p.groups.compat;
  const cStart = p.groups.classStart;
  const cList = p.groups.classList;
  const value = p.groups.value;
  const alloc = p.offerings.allocatable;
  const capacity = p.offerings.capacity;
  const price = p.offerings.priceMicros;
  const poolOf = p.offerings.pool;
  const shape = p.offerings.shape;
  const limits = p.pools.limits;
  const cap = p.classes.capPerBin;
  // Class state per bin: [base + 2c] pods counted, [base + 2c + 1] activating pods (> 0: the bin is
  // active). Entry flags (1 counted, 2 activates) are 3 for an unconditional class.
  const cFlag = Int32Array.from(cList, (c, i) => (p.classes.conditional[c] ? p.groups.classFlags[i]! : 3));
  const capGroup = p.offerings.capGroup;
  // Launch caps: a bin holds one unit of its launched offering's cap group, taken when it launches
  // (or relaunches as another offering) and given back when it dies or changes offering.
  const capLeft = Int32Array.from(p.capGroups.maxBins);
  const capOk = (t: number): boolean => {
    const k = capGroup[t]!;
    return k < 0 || capLeft[k]! > 0;
  };
  const capTake = (t: number, n: number): void => {
    const k = capGroup[t]!;
    if (k >= 0) capLeft[k] = capLeft[k]! - n;
  };

  const rem = Int32Array.from(p.groups.counts);
  const unplaced = new Int32Array(G);
  const reason = new Int32Array(G);
  const exRem = Float64Array.from(p.existing.remaining);
  const exClass = new Int32Array(E * C2);
  for (let i = 0; i < E * C; i++) exClass[2 * i] = p.existing.classCount[i]!;
  const used = Float64Array.from(p.pools.used);
  const skip = new Int32Array(G + 1);
  for (let g = 0; g <= G; g++) skip[g] = g + 1;

  const plG = new Int32Array(maxPl);
  const plB = new Int32Array(maxPl);
  const plN = new Int32Array(maxPl);
  const plNext = new Int32Array(maxPl);
  let np = 0;

  const bLoad = new Float64Array(maxBins * R);
  const bSet = new Uint32Array(maxBins * W);
  const bCompat = new Uint32Array(maxBins * W);
  const bPool = new Int32Array(maxBins);
  const bOff = new Int32Array(maxBins);
  const bValue = new Float64Array(maxBins);
  const bRes = new Float64Array(maxBins * R1);
  const bClass = new Int32Array(maxBins * C2);
  const bAlive = new Uint8Array(maxBins);
  const bHead = new Int32Array(maxBins).fill(-1);
  let nb = 0;

  // Pools without any finite limit skip limit checks entirely.
  const poolLimited = new Uint8Array(P);
  for (let q = 0; q < P; q++)
    for (let r = 0; r <= R; r++) if (limits[q * R1 + r] !== Number.POSITIVE_INFINITY) poolLimited[q] = 1;
  const poolMask = new Uint32Array(P * W);
  for (let t = 0; t < T; t++) {
    const i = poolOf[t]! * W + (t >>> 5);
    poolMask[i] = poolMask[i]! | (1 << (t & 31));
  }

  // Remaining demand mix, for the efficiency estimate.
  const totReq = new Float64Array(R);
  let totPods = 0;
  let totVal = 0;
  for (let g = 0; g < G; g++) {
    const n = rem[g]!;
    for (let r = 0; r < R; r++) totReq[r] = totReq[r]! + n * req[g * R + r]!;
    totPods += n;
    totVal += n * value[g]!;
  }
  const take = (g: number, n: number): void => {
    rem[g] = rem[g]! - n;
    for (let r = 0; r < R; r++) totReq[r] = totReq[r]! - n * req[g * R + r]!;
    totPods -= n;
    totVal -= n * value[g]!;
  };

  const bit = (words: Uint32Array, base: number, i: number): boolean =>
    ((words[base + (i >>> 5)]! >>> (i & 31)) & 1) === 1;

  /** Smallest h >= g with pods remaining (G when none). */
  const find = (g: number): number => {
    let h = g;
    while (h < G && rem[h] === 0) h = skip[h]!;
    let i = g;
    while (i < h) {
      const next = skip[i]!;
      skip[i] = h;
      i = next;
    }
    return h;
  };

  /** How many pods of group g fit in `space` at `base` (capped at INT_MAX). */
  const fitCount = (space: Float64Array, base: number, g: number): number => {
    let k = INT_MAX;
    for (let r = 0; r < R; r++) {
      const q = req[g * R + r]!;
      if (q > 0) {
        const f = Math.floor(space[base + r]! / q);
        if (f < k) k = f;
      }
    }
    return Math.max(0, k);
  };

  const fitsOne = (t: number, g: number): boolean => {
    for (let r = 0; r < R; r++) if (req[g * R + r]! > alloc[t * R + r]!) return false;
    return true;
  };

  /**
   * k capped so that k more pods of group g keep every class of the bin at counts[base..] (plus
   * more[base..]) within its cap wherever the bin is, or becomes, active.
   */
  const classRoom = (g: number, k: number, counts: Int32Array, base: number, more?: Int32Array): number => {
    for (let i = cStart[g]!; i < cStart[g + 1]!; i++) {
      const j = base + 2 * cList[i]!;
      const fl = cFlag[i]!;
      const room = cap[cList[i]!]! - counts[j]! - (more ? more[j]! : 0);
      const act = counts[j + 1]! + (more ? more[j + 1]! : 0);
      if ((fl & 1) !== 0) {
        if (((fl & 2) !== 0 || act > 0) && room < k) k = room;
      } else if ((fl & 2) !== 0 && room < 0) k = 0;
    }
    return k;
  };

  /** Adds k pods of group g to the class state at counts[base..]. */
  const addClasses = (g: number, k: number, counts: Int32Array, base: number): void => {
    for (let i = cStart[g]!; i < cStart[g + 1]!; i++) {
      const j = base + 2 * cList[i]!;
      if ((cFlag[i]! & 1) !== 0) counts[j] = counts[j]! + k;
      if ((cFlag[i]! & 2) !== 0) counts[j + 1] = counts[j + 1]! + k;
    }
  };

  /** Does one node of offering t fit the pool's limit room? */
  const limitOk = (t: number): boolean => {
    if (poolLimited[poolOf[t]!] === 0) return true;
    const base = poolOf[t]! * R1;
    for (let r = 0; r < R; r++) {
      const lim = limits[base + r]!;
      if (lim !== Number.POSITIVE_INFINITY && used[base + r]! + capacity[t * R + r]! > lim) return false;
    }
    const nodeLim = limits[base + R]!;
    return nodeLim === Number.POSITIVE_INFINITY || used[base + R]! + 1 <= nodeLim;
  };

  const addPlacement = (g: number, bin: number, n: number): boolean => {
    if (np >= maxPl) return false;
    plG[np] = g;
    plB[np] = bin;
    plN[np] = n;
    plNext[np] = -1;
    if (bin >= E) {
      const b = bin - E;
      plNext[np] = bHead[b]!;
      bHead[b] = np;
    }
    np++;
    return true;
  };

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
      if (!bit(p.groups.existingCompat, g * WE, e)) continue;
      let k = fitCount(exRem, e * R, g);
      if (k > rem[g]!) k = rem[g]!;
      k = classRoom(g, k, exClass, e * C2);
      if (k <= 0) continue;
      for (let r = 0; r < R; r++) exRem[e * R + r] = exRem[e * R + r]! - k * req[g * R + r]!;
      addClasses(g, k, exClass, e * C2);
      take(g, k);
      if (!addPlacement(g, e, k)) return fail(ERROR_TOO_MANY_PLACEMENTS);
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
  const reserve = new Float64Array(R1);
  const mask = new Uint32Array(W);

  let anchor = find(0);
  while (anchor < G) {
    const g0 = anchor;
    let capped = false;
    for (let i = cStart[g0]!; i < cStart[g0 + 1]!; i++)
      if (cap[cList[i]!] === 0 && cFlag[i] === 3) capped = true;
    let pool = P;
    let anyCompat = false;
    let anyFit = false;
    let launchCapped = false;
    if (!capped) {
      for (let t = 0; t < T; t++) {
        if (!bit(compat, g0 * W, t)) continue;
        anyCompat = true;
        if (!fitsOne(t, g0)) continue;
        anyFit = true;
        if (poolOf[t]! < pool && limitOk(t)) {
          if (!capOk(t)) {
            launchCapped = true;
            continue;
          }
          pool = poolOf[t]!;
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
      unplaced[g0] = unplaced[g0]! + rem[g0]!;
      take(g0, rem[g0]!);
      anchor = find(anchor);
      continue;
    }

    // Candidate shapes by estimated value per dollar on the remaining mix; keep the top K.
    let nc = 0;
    const avgVal = totVal / totPods;
    for (let t = 0; t < T; t++) {
      if (
        shape[t] !== t ||
        poolOf[t] !== pool ||
        !bit(compat, g0 * W, t) ||
        !fitsOne(t, g0) ||
        !limitOk(t) ||
        !capOk(t)
      )
        continue;
      let n = Number.POSITIVE_INFINITY;
      for (let r = 0; r < R; r++) {
        if (totReq[r]! > 0) {
          const x = alloc[t * R + r]! / (totReq[r]! / totPods);
          if (x < n) n = x;
        }
      }
      // Whole average pods: a shape that holds 1.3 of them really holds 1, which is what fragments.
      const pr = price[t]! > 0 ? price[t]! : 0.5;
      const eff = (Math.floor(n) * avgVal) / pr;
      if (nc < K) {
        let i = nc++;
        while (i > 0 && candEff[i - 1]! < eff) {
          candEff[i] = candEff[i - 1]!;
          candT[i] = candT[i - 1]!;
          i--;
        }
        candEff[i] = eff;
        candT[i] = t;
      } else if (eff > candEff[K - 1]!) {
        let i = K - 1;
        while (i > 0 && candEff[i - 1]! < eff) {
          candEff[i] = candEff[i - 1]!;
          candT[i] = candT[i - 1]!;
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
      minReq[r] = Number.POSITIVE_INFINITY;
    }
    let maxRem = 0;
    for (let h = g0; h < G; h = find(h + 1)) {
      if (rem[h]! > maxRem) maxRem = rem[h]!;
      for (let r = 0; r < R; r++) {
        const q = req[h * R + r]!;
        demand[r] = demand[r]! + rem[h]! * q;
        if (q < minReq[r]!) minReq[r] = q;
      }
    }

    let bestT = -1;
    let bestScore = -1;
    let bestLen = 0;
    for (let c = 0; c < nc; c++) {
      const t = candT[c]!;
      for (let r = 0; r < R; r++) space[r] = alloc[t * R + r]!;
      patClass.fill(0);
      // How many bins of this shape the remaining demand needs: each bin first takes that share of
      // every group (a balanced mix, as the LP relaxation would), then tops up greedily.
      let bins = 1;
      for (let r = 0; r < R; r++) {
        const a = alloc[t * R + r]!;
        if (a > 0 && demand[r]! / a > bins) bins = demand[r]! / a;
      }
      let pv = 0;
      let len = 0;
      let full = false;
      // The balanced pass only matters when some group has a share of at least one pod per bin.
      for (let pass = bins > 1 && Math.floor(maxRem / bins) >= 1 ? 0 : 1; pass < 2 && !full; pass++) {
        for (let h = g0; h < G; h = find(h + 1)) {
          if (!bit(compat, h * W, t)) continue;
          let k = fitCount(space, 0, h);
          const left = rem[h]! - patN[h]!;
          if (k > left) k = left;
          if (pass === 0) {
            let share = Math.floor(rem[h]! / bins);
            if (share < 1 && h === g0) share = 1;
            if (k > share) k = share;
          }
          k = classRoom(h, k, patClass, 0);
          if (k <= 0) continue;
          for (let r = 0; r < R; r++) space[r] = space[r]! - k * req[h * R + r]!;
          addClasses(h, k, patClass, 0);
          pv += k * value[h]!;
          if (patN[h] === 0) patG[len++] = h;
          patN[h] = patN[h]! + k;
          for (let r = 0; r < R; r++) if (minReq[r]! > 0 && space[r]! < minReq[r]!) full = true;
          if (full) break;
        }
      }
      const pr = price[t]! > 0 ? price[t]! : 0.5;
      const score = pv / pr;
      if (len > 0 && score > bestScore) {
        bestScore = score;
        bestT = t;
        bestLen = len;
        for (let i = 0; i < len; i++) {
          bestG[i] = patG[i]!;
          bestN[i] = patN[patG[i]!]!;
        }
      }
      for (let i = 0; i < len; i++) patN[patG[i]!] = 0;
    }
    if (bestT < 0) {
      // Unreachable for valid input (the pool choice guarantees a candidate); stay safe.
      reason[g0] = REASON_TOO_LARGE;
      unplaced[g0] = unplaced[g0]! + rem[g0]!;
      take(g0, rem[g0]!);
      anchor = find(anchor);
      continue;
    }

    // Replicate the winning pattern.
    let copies = INT_MAX;
    for (let r = 0; r < R; r++) load[r] = 0;
    for (let i = 0; i < bestLen; i++) {
      const h = bestG[i]!;
      const n = bestN[i]!;
      const c = Math.floor(rem[h]! / n);
      if (c < copies) copies = c;
      for (let r = 0; r < R; r++) load[r] = load[r]! + n * req[h * R + r]!;
    }
    for (let w = 0; w < W; w++) {
      let m = poolMask[pool * W + w]!;
      for (let i = 0; i < bestLen; i++) m &= compat[bestG[i]! * W + w]!;
      mask[w] = m >>> 0;
    }
    for (let r = 0; r <= R; r++) reserve[r] = 0;
    reserve[R] = 1;
    let cheapest = -1;
    const setBase = nb * W;
    if (nb >= maxBins) return fail(ERROR_TOO_MANY_BINS);
    for (let w = 0; w < W; w++) {
      let m = mask[w]!;
      let kept = 0;
      while (m !== 0) {
        const low = m & -m;
        const t = (w << 5) + (31 - Math.clz32(low));
        m = (m ^ low) >>> 0;
        let ok = limitOk(t) && capOk(t);
        for (let r = 0; ok && r < R; r++) if (load[r]! > alloc[t * R + r]!) ok = false;
        if (!ok) continue;
        kept |= low;
        for (let r = 0; r < R; r++) if (capacity[t * R + r]! > reserve[r]!) reserve[r] = capacity[t * R + r]!;
        if (cheapest < 0 || price[t]! < price[cheapest]!) cheapest = t;
      }
      bSet[setBase + w] = kept >>> 0;
    }
    const pbase = pool * R1;
    for (let r = 0; r <= R; r++) {
      const lim = limits[pbase + r]!;
      if (lim !== Number.POSITIVE_INFINITY && reserve[r]! > 0) {
        const c = Math.floor((lim - used[pbase + r]!) / reserve[r]!);
        if (c < copies) copies = c;
      }
    }
    if (copies < 1) copies = 1;
    const k0 = capGroup[cheapest]!;
    if (k0 >= 0 && capLeft[k0]! < copies) copies = capLeft[k0]!;
    if (copies > maxBins - nb) copies = maxBins - nb;
    capTake(cheapest, copies);
    for (let c = 0; c < copies; c++) {
      const b = nb++;
      for (let w = 0; w < W; w++) {
        bSet[b * W + w] = bSet[setBase + w]!;
        bCompat[b * W + w] = mask[w]!;
      }
      for (let r = 0; r < R; r++) bLoad[b * R + r] = load[r]!;
      for (let r = 0; r <= R; r++) bRes[b * R1 + r] = reserve[r]!;
      bClass.fill(0, b * C2, b * C2 + C2);
      bPool[b] = pool;
      bOff[b] = cheapest;
      bAlive[b] = 1;
      bHead[b] = -1;
      let v = 0;
      for (let i = 0; i < bestLen; i++) {
        const h = bestG[i]!;
        const n = bestN[i]!;
        v += n * value[h]!;
        addClasses(h, n, bClass, b * C2);
        if (!addPlacement(h, E + b, n)) return fail(ERROR_TOO_MANY_PLACEMENTS);
      }
      bValue[b] = v;
    }
    for (let r = 0; r <= R; r++) used[pbase + r] = used[pbase + r]! + copies * reserve[r]!;
    for (let i = 0; i < bestLen; i++) take(bestG[i]!, copies * bestN[i]!);
    anchor = find(anchor);
  }

  // 3. Improvement.
  if (p.options.improve && nb > 1) {
    const util = (b: number): number => bValue[b]! / (price[bOff[b]!]! > 0 ? price[bOff[b]!]! : 0.5);
    const sel = new Int32Array(TAIL_REPAIR_BINS);
    const selU = new Float64Array(TAIL_REPAIR_BINS);
    const select = (limit: number): number => {
      let n = 0;
      for (let b = 0; b < nb; b++) {
        if (bAlive[b] === 0) continue;
        const u = util(b);
        if (n < limit) {
          let i = n++;
          while (i > 0 && selU[i - 1]! > u) {
            selU[i] = selU[i - 1]!;
            sel[i] = sel[i - 1]!;
            i--;
          }
          selU[i] = u;
          sel[i] = b;
        } else if (u < selU[limit - 1]!) {
          let i = limit - 1;
          while (i > 0 && selU[i - 1]! > u) {
            selU[i] = selU[i - 1]!;
            sel[i] = sel[i - 1]!;
            i--;
          }
          selU[i] = u;
          sel[i] = b;
        }
      }
      return n;
    };
    // Offerings ordered by (pool, price, index), for the merge search; pool q starts at poolStart[q].
    const order = Int32Array.from({ length: T }, (_, t) => t).sort(
      (a, b) => poolOf[a]! - poolOf[b]! || price[a]! - price[b]! || a - b,
    );
    const poolStart = new Int32Array(P + 1);
    for (let t = 0; t < T; t++) poolStart[poolOf[t]! + 1] = poolStart[poolOf[t]! + 1]! + 1;
    for (let q = 0; q < P; q++) poolStart[q + 1] = poolStart[q + 1]! + poolStart[q]!;
    // The same order over representatives only (shape[t] === t), for pools without limits.
    const repOrder = new Int32Array(T);
    const repStart = new Int32Array(P + 1);
    let nrep = 0;
    for (let q = 0; q < P; q++) {
      repStart[q] = nrep;
      for (let i = poolStart[q]!; i < poolStart[q + 1]!; i++)
        if (shape[order[i]!] === order[i]) repOrder[nrep++] = order[i]!;
    }
    repStart[P] = nrep;
    const stale = new Uint8Array(nb);
    const extra = new Float64Array(nb * R);
    const extraClass = new Int32Array(nb * C2);
    const touched = new Int32Array(nb);
    const mvG = new Int32Array(maxPl);
    const mvB = new Int32Array(maxPl);
    const mvN = new Int32Array(maxPl);

    /** Recomputes bin b's option set from its compat mask and load, its cheapest offering and reservation. */
    // Fit of the current load per offering shape (members share allocatable): valid while
    // shapeStamp[s] === stamp, so a set of 3 zones x N types is tested N times, not 3N.
    const shapeStamp = new Int32Array(T);
    const shapeFits = new Uint8Array(T);
    let stamp = 0;
    /** Does `load` (R values from `base`) fit offering t's allocatable? Cached per shape for the current stamp. */
    const loadFits = (load: Float64Array, base: number, t: number): boolean => {
      const s = shape[t]!;
      if (shapeStamp[s] === stamp) return shapeFits[s] === 1;
      let ok = true;
      for (let r = 0; ok && r < R; r++) if (load[base + r]! > alloc[s * R + r]!) ok = false;
      shapeStamp[s] = stamp;
      shapeFits[s] = ok ? 1 : 0;
      return ok;
    };
    const pairLoad = new Float64Array(R);

    const refreshBin = (b: number): void => {
      const pool = bPool[b]!;
      const pbase = pool * R1;
      const limited = poolLimited[pool] === 1;
      stamp++;
      for (let r = 0; r <= R; r++) used[pbase + r] = used[pbase + r]! - bRes[b * R1 + r]!;
      capTake(bOff[b]!, -1);
      for (let r = 0; r <= R; r++) reserve[r] = 0;
      reserve[R] = 1;
      let cheapest = -1;
      for (let w = 0; w < W; w++) {
        let m = bSet[b * W + w]! & bCompat[b * W + w]!;
        let kept = 0;
        while (m !== 0) {
          const low = m & -m;
          const t = (w << 5) + (31 - Math.clz32(low));
          m = (m ^ low) >>> 0;
          let ok = loadFits(bLoad, b * R, t) && capOk(t);
          for (let r = 0; ok && limited && r < R; r++) {
            const lim = limits[pbase + r]!;
            if (lim !== Number.POSITIVE_INFINITY && used[pbase + r]! + capacity[t * R + r]! > lim) ok = false;
          }
          if (!ok) continue;
          kept |= low;
          for (let r = 0; r < R; r++)
            if (capacity[t * R + r]! > reserve[r]!) reserve[r] = capacity[t * R + r]!;
          if (cheapest < 0 || price[t]! < price[cheapest]!) cheapest = t;
        }
        bSet[b * W + w] = kept >>> 0;
      }
      bOff[b] = cheapest;
      capTake(cheapest, 1);
      for (let r = 0; r <= R; r++) {
        bRes[b * R1 + r] = reserve[r]!;
        used[pbase + r] = used[pbase + r]! + reserve[r]!;
      }
    };

    const kill = (b: number): void => {
      const pbase = bPool[b]! * R1;
      for (let r = 0; r <= R; r++) used[pbase + r] = used[pbase + r]! - bRes[b * R1 + r]!;
      capTake(bOff[b]!, -1);
      bAlive[b] = 0;
      for (let e = bHead[b]!; e >= 0; e = plNext[e]!) plN[e] = 0;
      bHead[b] = -1;
    };

    // (a) Tail repair: empty weak bins into other bins' slack at no extra price. Receivers: bins
    // whose slack holds, in every resource, the smallest request of any group. A receiver's launched
    // offering never changes (its set only shrinks and keeps it) and its load only grows, so a bin
    // left out here could never take a pod.
    const minAll = new Float64Array(R).fill(Number.POSITIVE_INFINITY);
    for (let g = 0; g < G; g++)
      for (let r = 0; r < R; r++) if (req[g * R + r]! < minAll[r]!) minAll[r] = req[g * R + r]!;
    const recv = new Int32Array(nb);
    let nr = 0;
    for (let b2 = 0; b2 < nb; b2++) {
      if (bAlive[b2] === 0) continue;
      const o2 = bOff[b2]!;
      let room = true;
      for (let r = 0; room && r < R; r++)
        if (alloc[o2 * R + r]! - bLoad[b2 * R + r]! < minAll[r]!) room = false;
      if (room) recv[nr++] = b2;
    }
    const n1 = select(TAIL_REPAIR_BINS);
    for (let s = 0; s < n1; s++) {
      const b = sel[s]!;
      if (bAlive[b] === 0) continue;
      let nt = 0;
      let nm = 0;
      let ok = true;
      for (let e = bHead[b]!; ok && e >= 0; e = plNext[e]!) {
        const h = plG[e]!;
        let left = plN[e]!;
        for (let i = 0; left > 0 && i < nr; i++) {
          const b2 = recv[i]!;
          if (b2 === b || bAlive[b2] === 0 || bPool[b2] !== bPool[b]) continue;
          const o2 = bOff[b2]!;
          if (!bit(compat, h * W, o2)) continue;
          let k = INT_MAX;
          for (let r = 0; r < R; r++) {
            const q = req[h * R + r]!;
            if (q > 0) {
              const f = Math.floor((alloc[o2 * R + r]! - bLoad[b2 * R + r]! - extra[b2 * R + r]!) / q);
              if (f < k) k = f;
            }
          }
          if (k > left) k = left;
          k = classRoom(h, k, bClass, b2 * C2, extraClass);
          if (k <= 0) continue;
          let seen = false;
          for (let i = 0; i < nt; i++) if (touched[i] === b2) seen = true;
          if (!seen) touched[nt++] = b2;
          for (let r = 0; r < R; r++) extra[b2 * R + r] = extra[b2 * R + r]! + k * req[h * R + r]!;
          addClasses(h, k, extraClass, b2 * C2);
          // More moves than placement room left: the attempt fails (and the move lists stay in bounds).
          if (np + nm >= maxPl) {
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
      if (ok && np + nm > maxPl) ok = false;
      if (ok) {
        kill(b);
        for (let i = 0; i < nm; i++) {
          const h = mvG[i]!;
          const b2 = mvB[i]!;
          const n = mvN[i]!;
          for (let r = 0; r < R; r++) bLoad[b2 * R + r] = bLoad[b2 * R + r]! + n * req[h * R + r]!;
          addClasses(h, n, bClass, b2 * C2);
          bValue[b2] = bValue[b2]! + n * value[h]!;
          for (let w = 0; w < W; w++) bCompat[b2 * W + w] = (bCompat[b2 * W + w]! & compat[h * W + w]!) >>> 0;
          addPlacement(h, E + b2, n);
        }
        // In a pool without limits a receiver keeps its launched offering and nothing reads its set
        // until the end, where one re-filter by its final load gives the same set (the filter is monotone).
        for (let i = 0; i < nt; i++) {
          const b2 = touched[i]!;
          if (poolLimited[bPool[b2]!] === 1) refreshBin(b2);
          else stale[b2] = 1;
        }
      }
      for (let i = 0; i < nt; i++) {
        const b2 = touched[i]!;
        for (let r = 0; r < R; r++) extra[b2 * R + r] = 0;
        extraClass.fill(0, b2 * C2, b2 * C2 + C2);
      }
    }

    // (b) Merge pairs of weak bins when one offering serves both for less.
    const n2 = select(MERGE_BINS);
    for (let i = 0; i < n2; i++) {
      const a = sel[i]!;
      for (let j = i + 1; j < n2; j++) {
        const b = sel[j]!;
        if (bAlive[a] === 0 || bAlive[b] === 0 || bPool[a] !== bPool[b]) continue;
        let ok = true;
        // The joint bin is active for a class if either is; then its joint count must be within the cap.
        for (let k = 0; ok && k < C; k++) {
          const j = a * C2 + 2 * k;
          const l = b * C2 + 2 * k;
          if (bClass[j + 1]! + bClass[l + 1]! > 0 && bClass[j]! + bClass[l]! > cap[k]!) ok = false;
        }
        if (!ok) continue;
        const pool = bPool[a]!;
        const pbase = pool * R1;
        // The pool's offerings cheapest first: the first one both bins may use that holds their joint
        // load is the cheapest (ties by index); stop once none can beat the pair's price.
        const pairPrice = price[bOff[a]!]! + price[bOff[b]!]!;
        for (let r = 0; r < R; r++) pairLoad[r] = bLoad[a * R + r]! + bLoad[b * R + r]!;
        const limited = poolLimited[pool] === 1;
        stamp++;
        // Without limits, compat and fit are per shape and a representative is its shape's lowest
        // index, so the first representative that passes is the first offering that passes.
        const ord = limited ? order : repOrder;
        const start = limited ? poolStart : repStart;
        let cheapest = -1;
        for (let i = start[pool]!; cheapest < 0 && i < start[pool + 1]!; i++) {
          const t = ord[i]!;
          if (!(price[t]! < pairPrice)) break;
          if (!bit(bCompat, a * W, t) || !bit(bCompat, b * W, t)) continue;
          // A capped offering needs a unit left once the pair gives back its own.
          const k = capGroup[t]!;
          if (
            k >= 0 &&
            capLeft[k]! + (capGroup[bOff[a]!] === k ? 1 : 0) + (capGroup[bOff[b]!] === k ? 1 : 0) <= 0
          )
            continue;
          let fits = loadFits(pairLoad, 0, t);
          for (let r = 0; fits && limited && r < R; r++) {
            const lim = limits[pbase + r]!;
            if (
              lim !== Number.POSITIVE_INFINITY &&
              used[pbase + r]! - bRes[a * R1 + r]! - bRes[b * R1 + r]! + capacity[t * R + r]! > lim
            )
              fits = false;
          }
          if (fits) cheapest = t;
        }
        if (cheapest < 0) continue;
        if (np + 1 > maxPl) continue;
        // Merge b into a: a's set becomes the joint compat mask, re-filtered by the joint load.
        for (let r = 0; r < R; r++) bLoad[a * R + r] = bLoad[a * R + r]! + bLoad[b * R + r]!;
        for (let k = 0; k < C2; k++) bClass[a * C2 + k] = bClass[a * C2 + k]! + bClass[b * C2 + k]!;
        bValue[a] = bValue[a]! + bValue[b]!;
        for (let w = 0; w < W; w++) {
          const m = (bCompat[a * W + w]! & bCompat[b * W + w]!) >>> 0;
          bCompat[a * W + w] = m;
          bSet[a * W + w] = m;
        }
        for (let e = bHead[b]!; e >= 0; ) {
          const next = plNext[e]!;
          plB[e] = E + a;
          plNext[e] = bHead[a]!;
          bHead[a] = e;
          e = next;
        }
        bHead[b] = -1;
        const pb = bPool[b]! * R1;
        for (let r = 0; r <= R; r++) used[pb + r] = used[pb + r]! - bRes[b * R1 + r]!;
        capTake(bOff[b]!, -1);
        bAlive[b] = 0;
        refreshBin(a);
        stale[a] = 0;
      }
    }
    for (let b = 0; b < nb; b++) if (stale[b] === 1 && bAlive[b] === 1) refreshBin(b);
  }

  // Compact: live bins in order, placements in creation order.
  const newIndex = new Int32Array(nb);
  let live = 0;
  for (let b = 0; b < nb; b++) newIndex[b] = bAlive[b] === 1 ? live++ : -1;
  const binOffering = new Int32Array(live);
  const binPool = new Int32Array(live);
  const binOptions = new Uint32Array(live * W);
  for (let b = 0; b < nb; b++) {
    const i = newIndex[b]!;
    if (i < 0) continue;
    binOffering[i] = bOff[b]!;
    binPool[i] = bPool[b]!;
    for (let w = 0; w < W; w++) binOptions[i * W + w] = bSet[b * W + w]!;
  }
  let count = 0;
  for (let e = 0; e < np; e++) if (plN[e]! > 0) count++;
  const placements = new Int32Array(count * 3);
  let o = 0;
  for (let e = 0; e < np; e++) {
    if (plN[e]! <= 0) continue;
    const bin = plB[e]!;
    placements[o++] = plG[e]!;
    placements[o++] = bin < E ? bin : E + newIndex[bin - E]!;
    placements[o++] = plN[e]!;
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
