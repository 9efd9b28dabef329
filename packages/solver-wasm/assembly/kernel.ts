// The packing kernel in AssemblyScript: the same algorithm as src/reference.ts, statement for statement,
// so results are identical bit for bit (same f64 operations in the same order, ties by index).
// Raw pointers only: the host calls reset(), alloc() per region, fills a header of i32 offsets, then
// solve(header). Scratch memory comes from the stub runtime's bump allocator, reset per call.
// Built twice: with SIMD (v128 in bitset and fit loops) and without.

const ABI_VERSION: i32 = 4;
const ERROR_ABI_MISMATCH: i32 = -1;
const ERROR_BAD_HEADER: i32 = -2;
const ERROR_TOO_MANY_BINS: i32 = -3;
const ERROR_TOO_MANY_PLACEMENTS: i32 = -4;
const REASON_NO_COMPATIBLE_OFFERING: i32 = 1;
const REASON_TOO_LARGE: i32 = 2;
const REASON_POOL_LIMIT: i32 = 3;
const REASON_CLASS_CAP: i32 = 4;
const REASON_LAUNCH_CAP: i32 = 5;
const INT_MAX: i32 = 2147483647;
const TAIL_REPAIR_BINS: i32 = 256;
const MERGE_BINS: i32 = 64;
const INF: f64 = Infinity;

// Header word indexes (src/wasm.ts H).
const H_ABI = 0; const H_R = 1; const H_G = 2; const H_T = 3; const H_E = 4; const H_P = 5; const H_C = 6;
const H_MAXBINS = 7; const H_MAXPL = 8; const H_CAND = 9; const H_IMPROVE = 10;
const H_REQ = 11; const H_COUNTS = 12; const H_COMPAT = 13; const H_EXCOMPAT = 14; const H_CSTART = 15; const H_CLIST = 16;
const H_VALUE = 17; const H_ALLOC = 18; const H_CAP = 19; const H_PRICE = 20; const H_POOL = 21; const H_SHAPE = 22;
const H_LIMITS = 23; const H_USED = 24; const H_EXREM = 25; const H_EXCLASS = 26; const H_CLASSCAP = 27;
const H_OUT_OFF = 28; const H_OUT_OPT = 29; const H_OUT_POOL = 30; const H_OUT_PL = 31; const H_OUT_UNPL = 32;
const H_OUT_REASON = 33; const H_OUT_NB = 34; const H_OUT_NPL = 35; const H_CFLAGS = 36; const H_CCOND = 37;
const H_K = 38; const H_CAPGROUP = 39; const H_CAPMAX = 40;

export function abiVersion(): i32 { return ABI_VERSION; }
export function reset(): void { heap.reset(); }
export function alloc(bytes: i32): i32 { return <i32>heap.alloc(<usize>bytes); }

// @ts-ignore: decorator
@inline function f(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
// @ts-ignore: decorator
@inline function setf(p: usize, i: i32, v: f64): void { store<f64>(p + (<usize>i << 3), v); }
// @ts-ignore: decorator
@inline function n(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline function setn(p: usize, i: i32, v: i32): void { store<i32>(p + (<usize>i << 2), v); }
// @ts-ignore: decorator
@inline function u(p: usize, i: i32): u32 { return load<u32>(p + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline function setu(p: usize, i: i32, v: u32): void { store<u32>(p + (<usize>i << 2), v); }
// @ts-ignore: decorator
@inline function bit(p: usize, base: i32, i: i32): bool { return ((u(p, base + (i >>> 5)) >>> (<u32>i & 31)) & 1) == 1; }
// @ts-ignore: decorator
@inline function b8(p: usize, i: i32): u8 { return load<u8>(p + <usize>i); }
// @ts-ignore: decorator
@inline function setb8(p: usize, i: i32, v: u8): void { store<u8>(p + <usize>i, v); }

/** Uninitialized scratch, for regions written before they are read (saves zeroing per-bin state sized by maxBins). */
function region(bytes: i32): usize {
  const size: i32 = bytes > 8 ? bytes : 8;
  return heap.alloc(<usize>size);
}

function scratch(bytes: i32): usize {
  const size: i32 = bytes > 8 ? bytes : 8;
  const p = heap.alloc(<usize>size);
  memory.fill(p, 0, <usize>size);
  return p;
}

// Problem dimensions and regions.
let R: i32 = 0; let R1: i32 = 0; let G: i32 = 0; let T: i32 = 0; let E: i32 = 0; let P: i32 = 0; let C: i32 = 0;
let W: i32 = 0; let WE: i32 = 0; let maxBins: i32 = 0; let maxPl: i32 = 0;
let req: usize = 0; let compat: usize = 0; let exCompat: usize = 0; let cStart: usize = 0; let cList: usize = 0; let value: usize = 0;
let alloc_: usize = 0; let capacity: usize = 0; let price: usize = 0; let poolOf: usize = 0; let shape: usize = 0;
let limits: usize = 0; let cap: usize = 0; let cFlag: usize = 0; let C2: i32 = 0;
let capGroup: usize = 0; let capLeft: usize = 0; let hasCaps: bool = false;
// State.
let rem: usize = 0; let unplaced: usize = 0; let reason: usize = 0; let exRem: usize = 0; let exClass: usize = 0;
let used: usize = 0; let skip: usize = 0;
let plG: usize = 0; let plB: usize = 0; let plN: usize = 0; let plNext: usize = 0; let np: i32 = 0;
let bLoad: usize = 0; let bSet: usize = 0; let bCompat: usize = 0; let bPool: usize = 0; let bOff: usize = 0;
let bValue: usize = 0; let bRes: usize = 0; let bClass: usize = 0; let bAlive: usize = 0; let bHead: usize = 0;
let nb: i32 = 0;
let totReq: usize = 0; let totPods: f64 = 0; let totVal: f64 = 0;
let reserve: usize = 0;

function take(g: i32, k: i32): void {
  setn(rem, g, n(rem, g) - k);
  for (let r = 0; r < R; r++) setf(totReq, r, f(totReq, r) - <f64>k * f(req, g * R + r));
  totPods -= <f64>k;
  totVal -= <f64>k * f(value, g);
}

function find(g: i32): i32 {
  let h = g;
  while (h < G && n(rem, h) == 0) h = n(skip, h);
  let i = g;
  while (i < h) {
    const next = n(skip, i);
    setn(skip, i, h);
    i = next;
  }
  return h;
}

/** How many pods of group g fit in the R values at `space` (pointer), capped at INT_MAX. */
function fitCount(space: usize, g: i32): i32 {
  let k: f64 = <f64>INT_MAX;
  const q0 = req + (<usize>(g * R) << 3);
  let r = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f64x2.splat(0);
    const inf = f64x2.splat(INF);
    let best = inf;
    for (; r + 1 < R; r += 2) {
      const q = v128.load(q0 + (<usize>r << 3));
      const s = v128.load(space + (<usize>r << 3));
      const fl = f64x2.floor(f64x2.div(s, q));
      best = f64x2.min(best, v128.bitselect(fl, inf, f64x2.gt(q, zero)));
    }
    const a = f64x2.extract_lane(best, 0);
    const b = f64x2.extract_lane(best, 1);
    if (a < k) k = a;
    if (b < k) k = b;
  }
  for (; r < R; r++) {
    const q = load<f64>(q0 + (<usize>r << 3));
    if (q > 0) {
      const fl = Math.floor(load<f64>(space + (<usize>r << 3)) / q);
      if (fl < k) k = fl;
    }
  }
  return k < 0 ? 0 : <i32>k;
}

// Class state per bin: counts[base + 2c] pods counted, counts[base + 2c + 1] activating pods (> 0:
// the bin is active). Entry flags (cFlag, 1 counted, 2 activates) are 3 for an unconditional class.

/**
 * k capped so that k more pods of group g keep every class of the bin at counts[base..] (plus
 * more[base..] unless more = 0) within its cap wherever the bin is, or becomes, active.
 */
function classRoom(g: i32, k: i32, counts: usize, base: i32, more: usize): i32 {
  for (let i = n(cStart, g); i < n(cStart, g + 1); i++) {
    const j = base + (n(cList, i) << 1);
    const fl = n(cFlag, i);
    let room = n(cap, n(cList, i)) - n(counts, j);
    let act = n(counts, j + 1);
    if (more != 0) {
      room -= n(more, j);
      act += n(more, j + 1);
    }
    if ((fl & 1) != 0) {
      if (((fl & 2) != 0 || act > 0) && room < k) k = room;
    } else if ((fl & 2) != 0 && room < 0) k = 0;
  }
  return k;
}

/** Adds k pods of group g to the class state at counts[base..]. */
function addClasses(g: i32, k: i32, counts: usize, base: i32): void {
  for (let i = n(cStart, g); i < n(cStart, g + 1); i++) {
    const j = base + (n(cList, i) << 1);
    const fl = n(cFlag, i);
    if ((fl & 1) != 0) setn(counts, j, n(counts, j) + k);
    if ((fl & 2) != 0) setn(counts, j + 1, n(counts, j + 1) + k);
  }
}

function fitsOne(t: i32, g: i32): bool {
  for (let r = 0; r < R; r++) if (f(req, g * R + r) > f(alloc_, t * R + r)) return false;
  return true;
}

let poolLimited: usize = 0;

function limitOk(t: i32): bool {
  if (b8(poolLimited, n(poolOf, t)) == 0) return true;
  const base = n(poolOf, t) * R1;
  for (let r = 0; r < R; r++) {
    const lim = f(limits, base + r);
    if (lim != INF && f(used, base + r) + f(capacity, t * R + r) > lim) return false;
  }
  const nodeLim = f(limits, base + R);
  return nodeLim == INF || f(used, base + R) + 1 <= nodeLim;
}

// Launch caps: a bin holds one unit of its launched offering's cap group (src/reference.ts capOk/capTake).
// Without cap groups the checks are one branch on a global, no memory read.
// @ts-ignore: decorator
@inline function capOk(t: i32): bool { if (!hasCaps) return true; const k = n(capGroup, t); return k < 0 || n(capLeft, k) > 0; }
// @ts-ignore: decorator
@inline function capTake(t: i32, k: i32): void { if (!hasCaps) return; const c = n(capGroup, t); if (c >= 0) setn(capLeft, c, n(capLeft, c) - k); }

function addPlacement(g: i32, bin: i32, k: i32): bool {
  if (np >= maxPl) return false;
  setn(plG, np, g);
  setn(plB, np, bin);
  setn(plN, np, k);
  setn(plNext, np, -1);
  if (bin >= E) {
    const b = bin - E;
    setn(plNext, np, n(bHead, b));
    setn(bHead, b, np);
  }
  np++;
  return true;
}

/** dst[w] = a[w] & b[w] for W words. */
function andWords(dst: usize, a: usize, b: usize): void {
  let w = 0;
  if (ASC_FEATURE_SIMD) {
    for (; w + 3 < W; w += 4) {
      const o = <usize>w << 2;
      v128.store(dst + o, v128.and(v128.load(a + o), v128.load(b + o)));
    }
  }
  for (; w < W; w++) {
    const o = <usize>w << 2;
    store<u32>(dst + o, load<u32>(a + o) & load<u32>(b + o));
  }
}

// @ts-ignore: decorator
@inline function priceOf(t: i32): f64 { const p = f(price, t); return p > 0 ? p : 0.5; }

export function solve(header: usize): i32 {
  if (n(header, H_ABI) != ABI_VERSION) return ERROR_ABI_MISMATCH;
  R = n(header, H_R); R1 = R + 1; G = n(header, H_G); T = n(header, H_T); E = n(header, H_E);
  P = n(header, H_P); C = n(header, H_C); C2 = C << 1; maxBins = n(header, H_MAXBINS); maxPl = n(header, H_MAXPL);
  if (R < 1 || G < 0 || T < 0 || E < 0 || P < 0 || C < 0 || maxBins < 0 || maxPl < 0) return ERROR_BAD_HEADER;
  W = (T + 31) >>> 5; WE = (E + 31) >>> 5;
  req = <usize>n(header, H_REQ); compat = <usize>n(header, H_COMPAT); exCompat = <usize>n(header, H_EXCOMPAT);
  cStart = <usize>n(header, H_CSTART); cList = <usize>n(header, H_CLIST); value = <usize>n(header, H_VALUE); alloc_ = <usize>n(header, H_ALLOC);
  capacity = <usize>n(header, H_CAP); price = <usize>n(header, H_PRICE); poolOf = <usize>n(header, H_POOL);
  shape = <usize>n(header, H_SHAPE); limits = <usize>n(header, H_LIMITS); cap = <usize>n(header, H_CLASSCAP);
  capGroup = <usize>n(header, H_CAPGROUP);
  const K_ = n(header, H_K);
  if (K_ < 0) return ERROR_BAD_HEADER;
  hasCaps = K_ > 0;
  capLeft = scratch(K_ << 2); memory.copy(capLeft, <usize>n(header, H_CAPMAX), <usize>K_ << 2);
  const counts = <usize>n(header, H_COUNTS);
  const outOff = <usize>n(header, H_OUT_OFF); const outOpt = <usize>n(header, H_OUT_OPT);
  const outPool = <usize>n(header, H_OUT_POOL); const outPl = <usize>n(header, H_OUT_PL);
  unplaced = <usize>n(header, H_OUT_UNPL); reason = <usize>n(header, H_OUT_REASON);
  memory.fill(unplaced, 0, <usize>G << 2);
  memory.fill(reason, 0, <usize>G << 2);

  rem = scratch(G << 2); memory.copy(rem, counts, <usize>G << 2);
  exRem = scratch(E * R << 3); memory.copy(exRem, <usize>n(header, H_EXREM), <usize>(E * R) << 3);
  exClass = scratch(E * C2 << 2);
  for (let i = 0; i < E * C; i++) setn(exClass, i << 1, n(<usize>n(header, H_EXCLASS), i));
  const nEntries = n(cStart, G);
  cFlag = scratch(nEntries << 2);
  const cond = <usize>n(header, H_CCOND);
  for (let i = 0; i < nEntries; i++) setn(cFlag, i, b8(cond, n(cList, i)) != 0 ? n(<usize>n(header, H_CFLAGS), i) : 3);
  used = scratch(P * R1 << 3); memory.copy(used, <usize>n(header, H_USED), <usize>(P * R1) << 3);
  skip = scratch((G + 1) << 2);
  for (let g = 0; g <= G; g++) setn(skip, g, g + 1);
  plG = region(maxPl << 2); plB = region(maxPl << 2); plN = region(maxPl << 2); plNext = region(maxPl << 2);
  np = 0;
  // Per-bin state: every field of bin b is written when b is created, before any read.
  bLoad = region(maxBins * R << 3); bSet = region(maxBins * W << 2); bCompat = region(maxBins * W << 2);
  bPool = region(maxBins << 2); bOff = region(maxBins << 2); bValue = region(maxBins << 3);
  bRes = region(maxBins * R1 << 3); bClass = region(maxBins * C2 << 2); bAlive = region(maxBins);
  bHead = region(maxBins << 2);
  nb = 0;
  poolLimited = scratch(P);
  for (let q = 0; q < P; q++) for (let r = 0; r <= R; r++) if (f(limits, q * R1 + r) != INF) setb8(poolLimited, q, 1);
  const poolMask = scratch(P * W << 2);
  for (let t = 0; t < T; t++) {
    const i = n(poolOf, t) * W + (t >>> 5);
    setu(poolMask, i, u(poolMask, i) | (<u32>1 << (<u32>t & 31)));
  }
  totReq = scratch(R << 3); totPods = 0; totVal = 0;
  for (let g = 0; g < G; g++) {
    const k = n(rem, g);
    for (let r = 0; r < R; r++) setf(totReq, r, f(totReq, r) + <f64>k * f(req, g * R + r));
    totPods += <f64>k;
    totVal += <f64>k * f(value, g);
  }
  reserve = scratch(R1 << 3);

  // 1. Existing bins.
  for (let g = 0; g < G; g++) {
    if (n(rem, g) == 0) continue;
    for (let e = 0; e < E; e++) {
      if (!bit(exCompat, g * WE, e)) continue;
      let k = fitCount(exRem + (<usize>(e * R) << 3), g);
      if (k > n(rem, g)) k = n(rem, g);
      k = classRoom(g, k, exClass, e * C2, 0);
      if (k <= 0) continue;
      for (let r = 0; r < R; r++) setf(exRem, e * R + r, f(exRem, e * R + r) - <f64>k * f(req, g * R + r));
      addClasses(g, k, exClass, e * C2);
      take(g, k);
      if (!addPlacement(g, e, k)) return ERROR_TOO_MANY_PLACEMENTS;
      if (n(rem, g) == 0) break;
    }
  }

  // 2. New bins, pattern by pattern.
  const candidates = n(header, H_CAND);
  const K = candidates > 0 ? (candidates < T ? candidates : T) : T;
  const candT = scratch((K > 1 ? K : 1) << 2);
  const candEff = scratch((K > 1 ? K : 1) << 3);
  const space = scratch(R << 3);
  const demand = scratch(R << 3);
  const minReq = scratch(R << 3);
  const patG = scratch(G << 2); const patN = scratch(G << 2);
  const bestG = scratch(G << 2); const bestN = scratch(G << 2);
  const patClass = scratch(C2 << 2);
  const load_ = scratch(R << 3);
  const mask = scratch(W << 2);

  let anchor = find(0);
  while (anchor < G) {
    const g0 = anchor;
    let capped = false;
    for (let i = n(cStart, g0); i < n(cStart, g0 + 1); i++) if (n(cap, n(cList, i)) == 0 && n(cFlag, i) == 3) capped = true;
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
        if (n(poolOf, t) < pool && limitOk(t)) {
          if (!capOk(t)) {
            launchCapped = true;
            continue;
          }
          pool = n(poolOf, t);
          if (pool == 0) break;
        }
      }
    }
    if (pool == P) {
      setn(reason, g0, capped ? REASON_CLASS_CAP : !anyCompat ? REASON_NO_COMPATIBLE_OFFERING : !anyFit ? REASON_TOO_LARGE : launchCapped ? REASON_LAUNCH_CAP : REASON_POOL_LIMIT);
      setn(unplaced, g0, n(unplaced, g0) + n(rem, g0));
      take(g0, n(rem, g0));
      anchor = find(anchor);
      continue;
    }

    let nc = 0;
    const avgVal = totVal / totPods;
    for (let t = 0; t < T; t++) {
      if (n(shape, t) != t || n(poolOf, t) != pool || !bit(compat, g0 * W, t) || !fitsOne(t, g0) || !limitOk(t) || !capOk(t)) continue;
      let m: f64 = INF;
      for (let r = 0; r < R; r++) {
        if (f(totReq, r) > 0) {
          const x = f(alloc_, t * R + r) / (f(totReq, r) / totPods);
          if (x < m) m = x;
        }
      }
      const eff = (Math.floor(m) * avgVal) / priceOf(t);
      if (nc < K) {
        let i = nc++;
        while (i > 0 && f(candEff, i - 1) < eff) {
          setf(candEff, i, f(candEff, i - 1));
          setn(candT, i, n(candT, i - 1));
          i--;
        }
        setf(candEff, i, eff);
        setn(candT, i, t);
      } else if (eff > f(candEff, K - 1)) {
        let i = K - 1;
        while (i > 0 && f(candEff, i - 1) < eff) {
          setf(candEff, i, f(candEff, i - 1));
          setn(candT, i, n(candT, i - 1));
          i--;
        }
        setf(candEff, i, eff);
        setn(candT, i, t);
      }
    }


    for (let r = 0; r < R; r++) {
      setf(demand, r, 0);
      setf(minReq, r, INF);
    }
    let maxRem = 0;
    for (let h = g0; h < G; h = find(h + 1)) {
      if (n(rem, h) > maxRem) maxRem = n(rem, h);
      for (let r = 0; r < R; r++) {
        const q = f(req, h * R + r);
        setf(demand, r, f(demand, r) + <f64>n(rem, h) * q);
        if (q < f(minReq, r)) setf(minReq, r, q);
      }
    }

    let bestT = -1;
    let bestScore: f64 = -1;
    let bestLen = 0;
    for (let c = 0; c < nc; c++) {
      const t = n(candT, c);
      for (let r = 0; r < R; r++) setf(space, r, f(alloc_, t * R + r));
      if (C > 0) memory.fill(patClass, 0, <usize>C2 << 2);
      let bins: f64 = 1;
      for (let r = 0; r < R; r++) {
        const a = f(alloc_, t * R + r);
        if (a > 0 && f(demand, r) / a > bins) bins = f(demand, r) / a;
      }
      let pv: f64 = 0;
      let len = 0;
      let full = false;
      for (let pass = bins > 1 && Math.floor(<f64>maxRem / bins) >= 1 ? 0 : 1; pass < 2 && !full; pass++) {
        for (let h = g0; h < G; h = find(h + 1)) {
          if (!bit(compat, h * W, t)) continue;
          let k = fitCount(space, h);
          const left = n(rem, h) - n(patN, h);
          if (k > left) k = left;
          if (pass == 0) {
            let share = Math.floor(<f64>n(rem, h) / bins);
            if (share < 1 && h == g0) share = 1;
            if (<f64>k > share) k = <i32>share;
          }
          k = classRoom(h, k, patClass, 0, 0);
          if (k <= 0) continue;
          for (let r = 0; r < R; r++) setf(space, r, f(space, r) - <f64>k * f(req, h * R + r));
          addClasses(h, k, patClass, 0);
          pv += <f64>k * f(value, h);
          if (n(patN, h) == 0) setn(patG, len++, h);
          setn(patN, h, n(patN, h) + k);
          for (let r = 0; r < R; r++) if (f(minReq, r) > 0 && f(space, r) < f(minReq, r)) full = true;
          if (full) break;
        }
      }
      const score = pv / priceOf(t);
      if (len > 0 && score > bestScore) {
        bestScore = score;
        bestT = t;
        bestLen = len;
        for (let i = 0; i < len; i++) {
          setn(bestG, i, n(patG, i));
          setn(bestN, i, n(patN, n(patG, i)));
        }
      }
      for (let i = 0; i < len; i++) setn(patN, n(patG, i), 0);
    }
    if (bestT < 0) {
      setn(reason, g0, REASON_TOO_LARGE);
      setn(unplaced, g0, n(unplaced, g0) + n(rem, g0));
      take(g0, n(rem, g0));
      anchor = find(anchor);
      continue;
    }

    let copies = INT_MAX;
    for (let r = 0; r < R; r++) setf(load_, r, 0);
    for (let i = 0; i < bestLen; i++) {
      const h = n(bestG, i);
      const k = n(bestN, i);
      const c = n(rem, h) / k;
      if (c < copies) copies = c;
      for (let r = 0; r < R; r++) setf(load_, r, f(load_, r) + <f64>k * f(req, h * R + r));
    }
    memory.copy(mask, poolMask + (<usize>(pool * W) << 2), <usize>W << 2);
    for (let i = 0; i < bestLen; i++) andWords(mask, mask, compat + (<usize>(n(bestG, i) * W) << 2));
    for (let r = 0; r <= R; r++) setf(reserve, r, 0);
    setf(reserve, R, 1);
    let cheapest = -1;
    if (nb >= maxBins) return ERROR_TOO_MANY_BINS;
    const setBase = nb * W;
    for (let w = 0; w < W; w++) {
      let m = u(mask, w);
      let kept: u32 = 0;
      while (m != 0) {
        const t = (w << 5) + <i32>ctz<u32>(m);
        const low = m & (~m + 1);
        m ^= low;
        let ok = limitOk(t) && capOk(t);
        for (let r = 0; ok && r < R; r++) if (f(load_, r) > f(alloc_, t * R + r)) ok = false;
        if (!ok) continue;
        kept |= low;
        for (let r = 0; r < R; r++) if (f(capacity, t * R + r) > f(reserve, r)) setf(reserve, r, f(capacity, t * R + r));
        if (cheapest < 0 || f(price, t) < f(price, cheapest)) cheapest = t;
      }
      setu(bSet, setBase + w, kept);
    }
    const pbase = pool * R1;
    for (let r = 0; r <= R; r++) {
      const lim = f(limits, pbase + r);
      if (lim != INF && f(reserve, r) > 0) {
        const c = Math.floor((lim - f(used, pbase + r)) / f(reserve, r));
        if (c < <f64>copies) copies = <i32>c;
      }
    }
    if (copies < 1) copies = 1;
    const k0 = hasCaps ? n(capGroup, cheapest) : -1;
    if (k0 >= 0 && n(capLeft, k0) < copies) copies = n(capLeft, k0);
    if (copies > maxBins - nb) copies = maxBins - nb;
    capTake(cheapest, copies);
    for (let c = 0; c < copies; c++) {
      const b = nb++;
      memory.copy(bSet + (<usize>(b * W) << 2), bSet + (<usize>setBase << 2), <usize>W << 2);
      memory.copy(bCompat + (<usize>(b * W) << 2), mask, <usize>W << 2);
      memory.copy(bLoad + (<usize>(b * R) << 3), load_, <usize>R << 3);
      memory.copy(bRes + (<usize>(b * R1) << 3), reserve, <usize>R1 << 3);
      if (C > 0) memory.fill(bClass + (<usize>(b * C2) << 2), 0, <usize>C2 << 2);
      setn(bPool, b, pool);
      setn(bOff, b, cheapest);
      setb8(bAlive, b, 1);
      setn(bHead, b, -1);
      let v: f64 = 0;
      for (let i = 0; i < bestLen; i++) {
        const h = n(bestG, i);
        const k = n(bestN, i);
        v += <f64>k * f(value, h);
        addClasses(h, k, bClass, b * C2);
        if (!addPlacement(h, E + b, k)) return ERROR_TOO_MANY_PLACEMENTS;
      }
      setf(bValue, b, v);
    }
    for (let r = 0; r <= R; r++) setf(used, pbase + r, f(used, pbase + r) + <f64>copies * f(reserve, r));
    for (let i = 0; i < bestLen; i++) take(n(bestG, i), copies * n(bestN, i));
    anchor = find(anchor);
  }

  // 3. Improvement.
  if (n(header, H_IMPROVE) != 0 && nb > 1) improve();

  // Compact.
  const newIndex = scratch(nb << 2);
  let live = 0;
  for (let b = 0; b < nb; b++) setn(newIndex, b, b8(bAlive, b) == 1 ? live++ : -1);
  for (let b = 0; b < nb; b++) {
    const i = n(newIndex, b);
    if (i < 0) continue;
    setn(outOff, i, n(bOff, b));
    setn(outPool, i, n(bPool, b));
    memory.copy(outOpt + (<usize>(i * W) << 2), bSet + (<usize>(b * W) << 2), <usize>W << 2);
  }
  let o = 0;
  for (let e = 0; e < np; e++) {
    if (n(plN, e) <= 0) continue;
    const bin = n(plB, e);
    setn(outPl, o++, n(plG, e));
    setn(outPl, o++, bin < E ? bin : E + n(newIndex, bin - E));
    setn(outPl, o++, n(plN, e));
  }
  setn(header, H_OUT_NB, live);
  setn(header, H_OUT_NPL, o / 3);
  return live;
}

// @ts-ignore: decorator
@inline function util(b: i32): f64 { return f(bValue, b) / priceOf(n(bOff, b)); }

let sel: usize = 0; let selU: usize = 0;

function select(limit: i32): i32 {
  let cnt = 0;
  for (let b = 0; b < nb; b++) {
    if (b8(bAlive, b) == 0) continue;
    const x = util(b);
    if (cnt < limit) {
      let i = cnt++;
      while (i > 0 && f(selU, i - 1) > x) {
        setf(selU, i, f(selU, i - 1));
        setn(sel, i, n(sel, i - 1));
        i--;
      }
      setf(selU, i, x);
      setn(sel, i, b);
    } else if (x < f(selU, limit - 1)) {
      let i = limit - 1;
      while (i > 0 && f(selU, i - 1) > x) {
        setf(selU, i, f(selU, i - 1));
        setn(sel, i, n(sel, i - 1));
        i--;
      }
      setf(selU, i, x);
      setn(sel, i, b);
    }
  }
  return cnt;
}

// Fit of the current load per offering shape (members share allocatable): valid while
// shapeStamp[s] == stamp, so a set of 3 zones x N types is tested N times, not 3N.
let shapeStamp: usize = 0; let shapeFits: usize = 0; let stamp: i32 = 0;

/** Does `need` (R values) fit offering t's allocatable? Cached per shape for the current stamp. */
function loadFits(need: usize, t: i32): bool {
  const s = n(shape, t);
  if (n(shapeStamp, s) == stamp) return b8(shapeFits, s) == 1;
  let ok = true;
  for (let r = 0; ok && r < R; r++) if (load<f64>(need + (<usize>r << 3)) > f(alloc_, s * R + r)) ok = false;
  setn(shapeStamp, s, stamp);
  setb8(shapeFits, s, ok ? 1 : 0);
  return ok;
}

function refreshBin(b: i32): void {
  const pbase = n(bPool, b) * R1;
  const limited = b8(poolLimited, n(bPool, b)) == 1;
  const binLoad = bLoad + (<usize>(b * R) << 3);
  stamp++;
  for (let r = 0; r <= R; r++) setf(used, pbase + r, f(used, pbase + r) - f(bRes, b * R1 + r));
  capTake(n(bOff, b), -1);
  for (let r = 0; r <= R; r++) setf(reserve, r, 0);
  setf(reserve, R, 1);
  let cheapest = -1;
  for (let w = 0; w < W; w++) {
    let m = u(bSet, b * W + w) & u(bCompat, b * W + w);
    let kept: u32 = 0;
    while (m != 0) {
      const t = (w << 5) + <i32>ctz<u32>(m);
      const low = m & (~m + 1);
      m ^= low;
      let ok = loadFits(binLoad, t) && capOk(t);
      for (let r = 0; ok && limited && r < R; r++) {
        const lim = f(limits, pbase + r);
        if (lim != INF && f(used, pbase + r) + f(capacity, t * R + r) > lim) ok = false;
      }
      if (!ok) continue;
      kept |= low;
      for (let r = 0; r < R; r++) if (f(capacity, t * R + r) > f(reserve, r)) setf(reserve, r, f(capacity, t * R + r));
      if (cheapest < 0 || f(price, t) < f(price, cheapest)) cheapest = t;
    }
    setu(bSet, b * W + w, kept);
  }
  setn(bOff, b, cheapest);
  capTake(cheapest, 1);
  for (let r = 0; r <= R; r++) {
    setf(bRes, b * R1 + r, f(reserve, r));
    setf(used, pbase + r, f(used, pbase + r) + f(reserve, r));
  }
}

function kill(b: i32): void {
  const pbase = n(bPool, b) * R1;
  for (let r = 0; r <= R; r++) setf(used, pbase + r, f(used, pbase + r) - f(bRes, b * R1 + r));
  capTake(n(bOff, b), -1);
  setb8(bAlive, b, 0);
  for (let e = n(bHead, b); e >= 0; e = n(plNext, e)) setn(plN, e, 0);
  setn(bHead, b, -1);
}

/** Offerings ordered by (pool, price, index) into `order`; `poolStart[q]` is where pool q begins. */
function orderByPoolAndPrice(order: usize, poolStart: usize): void {
  for (let t = 0; t < T; t++) {
    setn(order, t, t);
    setn(poolStart, n(poolOf, t) + 1, n(poolStart, n(poolOf, t) + 1) + 1);
  }
  for (let q = 0; q < P; q++) setn(poolStart, q + 1, n(poolStart, q + 1) + n(poolStart, q));
  // Bottom-up merge sort: the key is a strict total order, so any correct sort gives this order.
  let src = order;
  let dst = scratch(T << 2);
  for (let width = 1; width < T; width <<= 1) {
    for (let lo = 0; lo < T; lo += width << 1) {
      const mid = lo + width < T ? lo + width : T;
      const hi = lo + (width << 1) < T ? lo + (width << 1) : T;
      let i = lo;
      let j = mid;
      for (let o = lo; o < hi; o++) {
        if (j >= hi || (i < mid && !offeringAfter(n(src, i), n(src, j)))) setn(dst, o, n(src, i++));
        else setn(dst, o, n(src, j++));
      }
    }
    const swap = src;
    src = dst;
    dst = swap;
  }
  if (src != order) memory.copy(order, src, <usize>T << 2);
}

/** Does offering a come after b in (pool, price, index) order? */
function offeringAfter(a: i32, b: i32): bool {
  if (n(poolOf, a) != n(poolOf, b)) return n(poolOf, a) > n(poolOf, b);
  if (f(price, a) != f(price, b)) return f(price, a) > f(price, b);
  return a > b;
}

function improve(): void {
  const order = scratch(T << 2);
  const poolStart = scratch((P + 1) << 2);
  orderByPoolAndPrice(order, poolStart);
  // The same order over representatives only (shape[t] == t), for pools without limits.
  const repOrder = scratch(T << 2);
  const repStart = scratch((P + 1) << 2);
  let nrep = 0;
  for (let q = 0; q < P; q++) {
    setn(repStart, q, nrep);
    for (let i = n(poolStart, q); i < n(poolStart, q + 1); i++) if (n(shape, n(order, i)) == n(order, i)) setn(repOrder, nrep++, n(order, i));
  }
  setn(repStart, P, nrep);
  const stale = scratch(nb);
  const pairLoad = scratch(R << 3);
  shapeStamp = scratch(T << 2);
  shapeFits = scratch(T);
  stamp = 0;
  sel = scratch(TAIL_REPAIR_BINS << 2);
  selU = scratch(TAIL_REPAIR_BINS << 3);
  const extra = scratch(nb * R << 3);
  const extraClass = scratch(nb * C2 << 2);
  const touched = region(nb << 2);
  const mvG = region(maxPl << 2); const mvB = region(maxPl << 2); const mvN = region(maxPl << 2);

  // (a) Tail repair. Receivers: bins whose slack holds, in every resource, the smallest request of
  // any group. A receiver's launched offering never changes (its set only shrinks and keeps it) and
  // its load only grows, so a bin left out here could never take a pod.
  const minAll = scratch(R << 3);
  for (let r = 0; r < R; r++) setf(minAll, r, INF);
  for (let g = 0; g < G; g++) for (let r = 0; r < R; r++) if (f(req, g * R + r) < f(minAll, r)) setf(minAll, r, f(req, g * R + r));
  const recv = scratch(nb << 2);
  let nr = 0;
  for (let b2 = 0; b2 < nb; b2++) {
    if (b8(bAlive, b2) == 0) continue;
    const o2 = n(bOff, b2);
    let room = true;
    for (let r = 0; room && r < R; r++) if (f(alloc_, o2 * R + r) - f(bLoad, b2 * R + r) < f(minAll, r)) room = false;
    if (room) setn(recv, nr++, b2);
  }
  const n1 = select(TAIL_REPAIR_BINS);
  for (let s = 0; s < n1; s++) {
    const b = n(sel, s);
    if (b8(bAlive, b) == 0) continue;
    let nt = 0;
    let nm = 0;
    let ok = true;
    for (let e = n(bHead, b); ok && e >= 0; e = n(plNext, e)) {
      const h = n(plG, e);
      let left = n(plN, e);
      for (let i = 0; left > 0 && i < nr; i++) {
        const b2 = n(recv, i);
        if (b2 == b || b8(bAlive, b2) == 0 || n(bPool, b2) != n(bPool, b)) continue;
        const o2 = n(bOff, b2);
        if (!bit(compat, h * W, o2)) continue;
        let k: f64 = <f64>INT_MAX;
        for (let r = 0; r < R; r++) {
          const q = f(req, h * R + r);
          if (q > 0) {
            const fl = Math.floor((f(alloc_, o2 * R + r) - f(bLoad, b2 * R + r) - f(extra, b2 * R + r)) / q);
            if (fl < k) k = fl;
          }
        }
        let ki = <i32>k;
        if (k > <f64>left) ki = left;
        ki = classRoom(h, ki, bClass, b2 * C2, extraClass);
        if (ki <= 0) continue;
        let seen = false;
        for (let i = 0; i < nt; i++) if (n(touched, i) == b2) seen = true;
        if (!seen) setn(touched, nt++, b2);
        for (let r = 0; r < R; r++) setf(extra, b2 * R + r, f(extra, b2 * R + r) + <f64>ki * f(req, h * R + r));
        addClasses(h, ki, extraClass, b2 * C2);
        // More moves than placement room left: the attempt fails (and the move lists stay in bounds).
        if (np + nm >= maxPl) {
          ok = false;
          break;
        }
        setn(mvG, nm, h);
        setn(mvB, nm, b2);
        setn(mvN, nm, ki);
        nm++;
        left -= ki;
      }
      if (left > 0) ok = false;
    }
    if (ok && np + nm > maxPl) ok = false;
    if (ok) {
      kill(b);
      for (let i = 0; i < nm; i++) {
        const h = n(mvG, i);
        const b2 = n(mvB, i);
        const k = n(mvN, i);
        for (let r = 0; r < R; r++) setf(bLoad, b2 * R + r, f(bLoad, b2 * R + r) + <f64>k * f(req, h * R + r));
        addClasses(h, k, bClass, b2 * C2);
        setf(bValue, b2, f(bValue, b2) + <f64>k * f(value, h));
        andWords(bCompat + (<usize>(b2 * W) << 2), bCompat + (<usize>(b2 * W) << 2), compat + (<usize>(h * W) << 2));
        addPlacement(h, E + b2, k);
      }
      // In a pool without limits a receiver keeps its launched offering and nothing reads its set
      // until the end, where one re-filter by its final load gives the same set (the filter is monotone).
      for (let i = 0; i < nt; i++) {
        const b2 = n(touched, i);
        if (b8(poolLimited, n(bPool, b2)) == 1) refreshBin(b2);
        else setb8(stale, b2, 1);
      }
    }
    for (let i = 0; i < nt; i++) {
      const b2 = n(touched, i);
      for (let r = 0; r < R; r++) setf(extra, b2 * R + r, 0);
      for (let k = 0; k < C2; k++) setn(extraClass, b2 * C2 + k, 0);
    }
  }

  // (b) Pair merge.
  const n2 = select(MERGE_BINS);
  for (let i = 0; i < n2; i++) {
    const a = n(sel, i);
    for (let j = i + 1; j < n2; j++) {
      const b = n(sel, j);
      if (b8(bAlive, a) == 0 || b8(bAlive, b) == 0 || n(bPool, a) != n(bPool, b)) continue;
      let ok = true;
      // The joint bin is active for a class if either is; then its joint count must be within the cap.
      for (let k = 0; ok && k < C; k++) {
        const j = a * C2 + (k << 1);
        const l = b * C2 + (k << 1);
        if (n(bClass, j + 1) + n(bClass, l + 1) > 0 && n(bClass, j) + n(bClass, l) > n(cap, k)) ok = false;
      }
      if (!ok) continue;
      const pool = n(bPool, a);
      const pbase = pool * R1;
      // The pool's offerings cheapest first: the first one both bins may use that holds their joint
      // load is the cheapest (ties by index); stop once none can beat the pair's price.
      const pairPrice = f(price, n(bOff, a)) + f(price, n(bOff, b));
      for (let r = 0; r < R; r++) setf(pairLoad, r, f(bLoad, a * R + r) + f(bLoad, b * R + r));
      const limited = b8(poolLimited, pool) == 1;
      stamp++;
      // Without limits, compat and fit are per shape and a representative is its shape's lowest
      // index, so the first representative that passes is the first offering that passes.
      const ord = limited ? order : repOrder;
      const start = limited ? poolStart : repStart;
      let cheapest = -1;
      for (let i = n(start, pool); cheapest < 0 && i < n(start, pool + 1); i++) {
        const t = n(ord, i);
        if (!(f(price, t) < pairPrice)) break;
        if (!bit(bCompat, a * W, t) || !bit(bCompat, b * W, t)) continue;
        const k = hasCaps ? n(capGroup, t) : -1;
        if (k >= 0 && n(capLeft, k) + (n(capGroup, n(bOff, a)) == k ? 1 : 0) + (n(capGroup, n(bOff, b)) == k ? 1 : 0) <= 0) continue;
        let fits = loadFits(pairLoad, t);
        for (let r = 0; fits && limited && r < R; r++) {
          const lim = f(limits, pbase + r);
          if (lim != INF && f(used, pbase + r) - f(bRes, a * R1 + r) - f(bRes, b * R1 + r) + f(capacity, t * R + r) > lim) fits = false;
        }
        if (fits) cheapest = t;
      }
      if (cheapest < 0) continue;
      if (np + 1 > maxPl) continue;
      for (let r = 0; r < R; r++) setf(bLoad, a * R + r, f(bLoad, a * R + r) + f(bLoad, b * R + r));
      for (let k = 0; k < C2; k++) setn(bClass, a * C2 + k, n(bClass, a * C2 + k) + n(bClass, b * C2 + k));
      setf(bValue, a, f(bValue, a) + f(bValue, b));
      andWords(bCompat + (<usize>(a * W) << 2), bCompat + (<usize>(a * W) << 2), bCompat + (<usize>(b * W) << 2));
      memory.copy(bSet + (<usize>(a * W) << 2), bCompat + (<usize>(a * W) << 2), <usize>W << 2);
      for (let e = n(bHead, b); e >= 0; ) {
        const next = n(plNext, e);
        setn(plB, e, E + a);
        setn(plNext, e, n(bHead, a));
        setn(bHead, a, e);
        e = next;
      }
      setn(bHead, b, -1);
      const pb = n(bPool, b) * R1;
      for (let r = 0; r <= R; r++) setf(used, pb + r, f(used, pb + r) - f(bRes, b * R1 + r));
      capTake(n(bOff, b), -1);
      setb8(bAlive, b, 0);
      refreshBin(a);
      setb8(stale, a, 0);
    }
  }
  for (let b = 0; b < nb; b++) if (b8(stale, b) == 1 && b8(bAlive, b) == 1) refreshBin(b);
}
