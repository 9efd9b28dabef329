import type { Encoding } from "./encode.ts";
import { type PatternCertificate, type ProvenBound, patternBound } from "./pattern-bound.ts";
import { solvePatternLP } from "./patterns.ts";

/**
 * The exact bound of small problems: the cheapest way to put the pods the plan puts on new claims on
 * new nodes, each node an offering every pod on it may use and its allocatable holds (NodePool
 * requirements, taints, resources, DaemonSet overhead). It ignores what the LP bounds ignore too:
 * topology spread, pod (anti-)affinity, host ports, NodePool limits and the priority between NodePools.
 * A plan at that cost cannot be beaten under those rules, and its ratio reads 1.00.
 *
 * The method: dynamic programming over the counts of pods left per group (the pods of a group are
 * interchangeable): the cost of a state is the cheapest node pattern that takes a pod of its first
 * group, plus the cost of what is left. Exact, and small when the pods come in few groups (Argo CD's 7
 * pods: 2^7 states; 34 replicas of one Deployment: 35). Problems whose state space is too large get
 * no exact claim.
 *
 * The proof: the pattern LP's Farley certificate marked `exact`; the independent checker verifies its
 * values as for any pattern bound, then repeats the dynamic program in its own code over the input
 * catalog and confirms the optimum. Deterministic: sizes, never time, decide.
 */

/** Problems with at most this many pods on new claims are tried. */
export const EXACT_BOUND_PODS = 60;
/**
 * ... when their states (product of group counts + 1) fit in memory and the dynamic program takes at
 * most this many steps (a count, never time).
 */
const MAX_STATES = 1_000_000;
const MAX_WORK = 30_000_000;

export const EXACT_BOUND_METHOD = "exact-enumeration";

/** The exact bound for `counts[g]` pods of each group of `enc`, or undefined when too large to prove. */
export function exactBound(enc: Encoding, counts: Int32Array): ProvenBound | undefined {
  const p = enc.problem;
  const R = p.resources;
  let n = 0;
  for (const c of counts) n += c;
  if (n === 0 || n > EXACT_BOUND_PODS || p.capGroups.count > 0) return undefined;
  const active: number[] = [];
  counts.forEach((c, g) => {
    if (c > 0) active.push(g);
  });
  // States: mixed-radix vectors of pods left per active group.
  const K = active.length;
  const radix = new Int32Array(K + 1);
  radix[0] = 1;
  for (let k = 0; k < K; k++) {
    radix[k + 1] = (radix[k] as number) * ((counts[active[k] as number] as number) + 1);
    if ((radix[k + 1] as number) > MAX_STATES) return undefined;
  }
  const S = radix[K] as number;
  // The program visits at most every (state, sub-vector) pair: prod (d + 1)(d + 2) / 2. Beyond the
  // step limit it is not started at all (a search that gives up costs the time and proves nothing).
  let pairs = 1;
  for (const g of active) {
    const d = counts[g] as number;
    pairs *= ((d + 1) * (d + 2)) / 2;
    if (pairs > MAX_WORK) return undefined;
  }
  const prices = enc.offerings.map((o) => o.offering.pricePerHour);
  // Per active group, the offerings it may use (its class's, fitting one pod).
  const T = p.offerings.count;
  const usable = active.map((g) => {
    const row = enc.classOfferings[enc.groups[g]?.constraintClass as number] as Uint8Array;
    const list: number[] = [];
    for (let t = 0; t < T; t++)
      if (row[t] === 1 && fitsLoad(p.groups.requests, g, 1, null, p.offerings.allocatable, t, R))
        list.push(t);
    return list;
  });
  if (usable.some((l) => l.length === 0)) return undefined;
  const allowed = usable.map((list) => {
    const mask = new Uint8Array(T);
    for (const t of list) mask[t] = 1;
    return mask;
  });

  // price[v]: the cheapest node holding the pod vector v (Infinity when none does); found by growing
  // each group's count while some offering still holds the vector (a vector no node holds has no
  // superset any node holds).
  const price = new Float64Array(S).fill(Number.POSITIVE_INFINITY);
  let steps = 0;
  const load = new Float64Array(R);
  const enumerate = (k: number, options: readonly number[] | undefined, index: number): boolean => {
    if (++steps > MAX_WORK) return false;
    if (k === K) {
      if (options === undefined) return true;
      let cheapest = Number.POSITIVE_INFINITY;
      for (const t of options) cheapest = Math.min(cheapest, prices[t] as number);
      price[index] = cheapest;
      return true;
    }
    const g = active[k] as number;
    const most = counts[g] as number;
    if (!enumerate(k + 1, options, index)) return false;
    let narrowed = options;
    let c = 1;
    for (; c <= most; c++) {
      for (let r = 0; r < R; r++) load[r] = (load[r] as number) + (p.groups.requests[g * R + r] as number);
      const from = narrowed ?? (usable[k] as number[]);
      const mask = allowed[k] as Uint8Array;
      narrowed = from.filter(
        (t) => mask[t] === 1 && fitsLoad(load, 0, 1, load, p.offerings.allocatable, t, R),
      );
      if (narrowed.length === 0) break;
      if (!enumerate(k + 1, narrowed, index + c * (radix[k] as number))) return false;
    }
    const added = Math.min(c, most);
    for (let r = 0; r < R; r++)
      load[r] = (load[r] as number) - added * (p.groups.requests[g * R + r] as number);
    return true;
  };
  if (!enumerate(0, undefined, 0)) return undefined;

  // cost[s]: the cheapest nodes for state s (pods left per group). Each step places one node holding a
  // pod of s's first group left: every sub-vector v of s with that, grown digit by digit while some
  // node holds it.
  const digit = (index: number, k: number) =>
    Math.floor(index / (radix[k] as number)) % ((counts[active[k] as number] as number) + 1);
  const cost = new Float64Array(S).fill(Number.POSITIVE_INFINITY);
  cost[0] = 0;
  let s = 0;
  let best = Number.POSITIVE_INFINITY;
  const subVectors = (k: number, v: number): boolean => {
    if (++steps > MAX_WORK) return false;
    if (k === K) {
      const total = (price[v] as number) + (cost[s - v] as number);
      if (total < best) best = total;
      return true;
    }
    const most = digit(s, k);
    for (let c = 0; c <= most; c++) {
      const next = v + c * (radix[k] as number);
      if (c > 0 && !Number.isFinite(price[next] as number)) break;
      if (!subVectors(k + 1, next)) return false;
    }
    return true;
  };
  for (s = 1; s < S; s++) {
    let first = 0;
    while (digit(s, first) === 0) first++;
    best = Number.POSITIVE_INFINITY;
    for (let c = 1; c <= digit(s, first); c++) {
      const v = c * (radix[first] as number);
      if (!Number.isFinite(price[v] as number)) break;
      if (!subVectors(first + 1, v)) return undefined;
    }
    cost[s] = best;
  }
  const optimum = cost[S - 1] as number;
  if (!Number.isFinite(optimum)) return undefined;
  const solution = solvePatternLP(p, counts, {}, prices);
  if (solution === undefined) return undefined;
  const farley = patternBound(enc, counts, solution);
  const certificate: PatternCertificate = {
    ...(farley.certificate as PatternCertificate),
    exact: { pods: n },
  };
  // A hair under the exact figure, so float noise in an independent recomputation never undercuts it.
  return { lowerBoundPerHour: optimum * (1 - 1e-9), method: EXACT_BOUND_METHOD, certificate };
}

/** Does `count` pods of group g (or `load` when given) fit offering t's allocatable? */
function fitsLoad(
  requests: Float64Array,
  g: number,
  count: number,
  load: Float64Array | null,
  allocatable: Float64Array,
  t: number,
  R: number,
): boolean {
  for (let r = 0; r < R; r++) {
    const need = load === null ? count * (requests[g * R + r] as number) : (load[r] as number);
    if (need > (allocatable[t * R + r] as number)) return false;
  }
  return true;
}
