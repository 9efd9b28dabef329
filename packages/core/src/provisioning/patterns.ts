import type { EncodedProblem } from "@nodeplan/solver-wasm";
import { solveCoveringLP } from "../lp/simplex.ts";

/**
 * The configuration ("pattern") LP of bin packing, solved by column generation: choose fractional
 * counts of node patterns (an offering plus how many pods of each group it holds) so that every group is
 * covered at least cost. Unlike the resource-covering LP of lower-bound.ts it knows that pods are
 * indivisible, which on catalogs of small nodes (t4g.micro..medium: one 1.5-cpu pod per 2-vCPU node) is
 * worth 10-15% of bound. It serves twice:
 *
 * - a lower bound (Farley's): for any group values v >= 0, no node pattern on offering t is worth more
 *   than ub_t; with rho = max_t ub_t / price_t, the values v / rho are a feasible dual of the pattern LP,
 *   so sum_g n_g v_g / rho bounds every integral plan. ub_t is what the knapsack search proves (its best
 *   pattern, or the pricing target when nothing beats it) and a Lagrangian relaxation of the knapsack
 *   where it does not finish: always an upper bound, so the bound stays valid whatever the limits.
 * - a plan: rounding the LP's patterns down gives nodes that are full by construction; the kernel
 *   packs the few pods left over.
 *
 * Column generation stops on convergence: when no shape has a pattern worth more than (1 + 2e-4) x its
 * price at the master's duals (every shape priced out, so the bound is the LP value within 0.02%), or
 * when no pricing finds an improving column any more. Shapes of at most 48 pods are priced exactly by
 * branch and bound (capacities rounded to what pods can fill, a surrogate bound from the relaxation's
 * rates, pruning what cannot beat the target); larger ones by their relaxation, which bounds them within
 * a few pods' worth. The limits below are failsafes, not the stopping rule.
 *
 * Deterministic: limits are counts of iterations and search nodes, never time.
 */

/** Failsafe limits (convergence, not these, ends a solve on every workload measured). */
export interface PatternLimits {
  /** Column-generation rounds at most. */
  iterations?: number;
  /** Branch-and-bound nodes per knapsack at first; raised 8x for shapes a round could not settle. */
  searchNodes?: number;
  /** Largest number of groups the stage takes on (the master LP is dense). */
  maxGroups?: number;
  /** Branch-and-bound nodes over the whole solve, at most. */
  workBudget?: number;
  /**
   * A lower bound already proven ($/h), with `planPerHour`: column generation stops once the restricted
   * master's objective, which bounds every Farley bound still to come, is within `GAP_SHARE` of the gap
   * between the plan and that bound (the stage can no longer prove a bound worth having).
   */
  provenPerHour?: number;
  /** The cost of a plan in hand ($/h): column generation stops once the bound is within the tolerance of it. */
  planPerHour?: number;
}

/** A pattern in the LP solution: `x` nodes of `offering` each holding `counts[g]` pods of group g. */
export interface Pattern {
  offering: number;
  counts: Int32Array;
  x: number;
}

/** How a shape's most valuable pattern was bounded: exactly by search, or by Lagrange rates per resource unit. */
export interface ShapeBound {
  ub: number;
  exact: boolean;
  lambda: Float64Array;
}

export interface PatternSolution {
  /** Proven lower bound in dollars per hour on any plan placing `counts[g]` pods of each group on new nodes. */
  bound: number;
  /** The LP objective (dollars per hour): what the rounding approaches from above. */
  lpObjective: number;
  /** Dollar value of one pod of each group (the master LP's duals). */
  values: Float64Array;
  /** max over offerings of (most valuable pattern) / price, >= 1 up to rounding. */
  scale: number;
  /** Per offering shape (index = representative offering): an upper bound on its most valuable pattern. */
  upperBounds: Map<number, ShapeBound>;
  /** Shapes (representative offering -> the offerings it stands for, dominated ones included). */
  shapeOf: Int32Array;
  patterns: Pattern[];
  /** On small instances, an integer cover of the demand by the generated patterns (x = node count). */
  integral?: Pattern[];
}

const DEFAULTS = { iterations: 400, searchNodes: 4000, maxGroups: 160, workBudget: 20_000_000 };
/** Integer covers are searched up to this many pods, within this many search nodes. */
const INTEGER_COVER_PODS = 200;
const INTEGER_COVER_NODES = 20_000;
/**
 * Pricing tolerance: a shape is priced out when no pattern is worth more than (1 + TOLERANCE) times
 * its price. Column generation stops when every shape is, so the Farley bound is then within this of
 * the LP value.
 */
const TOLERANCE = 2e-4;
/**
 * Shapes that hold at most this many pods of any group are priced exactly by branch and bound; larger
 * ones by their knapsack relaxation, rounded (within a few pods' worth of exact there).
 */
const SEARCH_PODS = 48;
/**
 * Share of the gap between the plan in hand and a bound already proven that the rest of column
 * generation must be able to close to be run: its tail (a hundred rounds that move the LP value by
 * hundredths of a percent, most of the solve on mixed-5000) is cut, past TAIL_ROUNDS rounds, where it
 * cannot change the report by more than this share; the packing its patterns guide is the same there.
 */
const GAP_SHARE = 0.05;
/** Rounds run before the GAP_SHARE cut applies (the headline rows converge in 54 or fewer). */
const TAIL_ROUNDS = 64;

/**
 * Solves the pattern LP for `counts[g]` pods of each group on the problem's offerings (one representative
 * per offering shape; dominated shapes dropped). Returns undefined when the stage does not apply: no pods,
 * too many groups, or per-bin class caps (which the bound's independent check does not model).
 */
export function solvePatternLP(
  problem: EncodedProblem,
  counts: Int32Array,
  limits: PatternLimits = {},
  prices?: ArrayLike<number>,
): PatternSolution | undefined {
  const { iterations, searchNodes, maxGroups, workBudget, provenPerHour, planPerHour } = {
    ...DEFAULTS,
    ...limits,
  };
  const R = problem.resources;
  const G = problem.groups.count;
  const T = problem.offerings.count;
  const W = (T + 31) >>> 5;
  // Launch caps (capacity reservations) are outside the pattern LP, whose bound divides by prices
  // that reservations make near zero: no pattern stage then.
  if (problem.capGroups.count > 0) return undefined;
  const active: number[] = [];
  for (let g = 0; g < G; g++) if ((counts[g] as number) > 0) active.push(g);
  if (active.length === 0 || active.length > maxGroups) return undefined;
  for (const g of active) {
    const { classStart, classList } = problem.groups;
    for (let i = classStart[g] as number; i < (classStart[g + 1] as number); i++)
      if ((problem.classes.capPerBin[classList[i] as number] as number) < (counts[g] as number))
        return undefined;
  }
  const A = active.length;
  const req = new Float64Array(A * R);
  const demand = new Float64Array(A);
  active.forEach((g, i) => {
    demand[i] = counts[g] as number;
    for (let r = 0; r < R; r++) req[i * R + r] = problem.groups.requests[g * R + r] as number;
  });

  // Offering shapes some active group may use, with their compatible active groups.
  const { shapes, shapeOf } = candidateShapes(problem, active, req, W, prices);
  if (shapes.length === 0) return undefined;
  const priceOf = new Map(shapes.map((s) => [s.t, s.price]));

  // Seed columns: for every shape and compatible group, as many pods of that group alone as fit.
  const columns: Pattern[] = [];
  for (const s of shapes) {
    for (const i of s.groups) {
      const n = Math.min(fitCount(req, i, R, s.capacity, 0), demand[i] as number);
      if (n <= 0) continue;
      const c = new Int32Array(A);
      c[i] = n;
      columns.push({ offering: s.t, counts: c, x: 0 });
    }
  }

  let values: Float64Array = new Float64Array(A);
  let lpObjective = 0;
  let primal: Float64Array = new Float64Array(0);
  const best = new Float64Array(A);
  const y = new Float64Array(A);
  // The best Farley bound met so far, with the values and per-shape upper bounds that prove it.
  let bound = 0;
  let boundValues = new Float64Array(A);
  let upperBounds = new Map<number, ShapeBound>();
  let work = 0;
  let scale = 1;
  // Search budget per shape; raised for the shapes a round could not settle when it found no column.
  const budget = new Map<number, number>(shapes.map((s) => [s.t, searchNodes]));
  // Per shape, the Lagrange rates of its last relaxation.
  const lastRates = new Map<number, Float64Array>();
  for (let it = 0; it < iterations; it++) {
    const lp = master(columns, priceOf, demand);
    if (lp === undefined) return undefined;
    values = lp.dual;
    lpObjective = lp.objective;
    primal = pruneColumns(columns, priceOf, values, lp.primal, A);
    const known = new Set(columns.map(columnKey));
    let ratio = 0;
    const ubs = new Map<number, ShapeBound>();
    const candidates: { col: Pattern; gain: number }[] = [];
    const unsettled: number[] = [];
    for (const s of shapes) {
      // Pricing: is some pattern of the shape worth more than (1 + TOLERANCE) x its price at these
      // values? The knapsack's LP relaxation bounds every pattern; when it is under that target the
      // shape is settled at once. Otherwise branch and bound, pruning what cannot beat the target,
      // either finds a column or proves the target is an upper bound.
      const target = s.price * (1 + TOLERANCE);
      // The last round's Lagrange rates bound the shape at these values too (weak duality): when that
      // is under the target, no relaxation needs solving.
      const previous = lastRates.get(s.t);
      if (previous !== undefined) {
        const lagrangian = lagrangianBound(req, R, s, values, demand, previous);
        if (lagrangian <= target) {
          ubs.set(s.t, { ub: lagrangian, exact: false, lambda: previous });
          if (s.price > 0) ratio = Math.max(ratio, lagrangian / s.price);
          continue;
        }
      }
      y.fill(0);
      const lambda = new Float64Array(R);
      const relaxed = relaxedBound(req, R, s, values, demand, y, lambda);
      lastRates.set(s.t, lambda);
      let ub = relaxed;
      let exact = false;
      if (relaxed > target) {
        best.fill(0);
        let value = 0;
        if (s.searchable) {
          const found = knapsack(req, R, s, values, demand, budget.get(s.t) as number, best, lambda, target);
          work += found.nodes;
          value = found.value;
          if (found.exact) {
            // Complete: its best pattern is the most valuable one when above the target, else none is.
            ub = Math.min(relaxed, Math.max(found.value, target) * (1 + 1e-9));
            exact = true;
          } else unsettled.push(s.t);
        }
        // A shape of many pods: its relaxation, rounded, is a near-best pattern and bounds the rest
        // within a few pods' worth.
        if (!exact) value = Math.max(value, roundedRelaxation(req, R, s, values, demand, best, y));
        if (value > s.price * (1 + 1e-9) + 1e-12)
          candidates.push({
            col: { offering: s.t, counts: Int32Array.from(best), x: 0 },
            gain: value / s.price,
          });
      }
      ubs.set(s.t, { ub, exact, lambda });
      if (s.price > 0) ratio = Math.max(ratio, ub / s.price);
    }
    // The most attractive new columns only: a round that adds hundreds of near-equal ones mostly grows the LP.
    candidates.sort((a, b) => b.gain - a.gain || a.col.offering - b.col.offering);
    let added = 0;
    for (const { col } of candidates) {
      if (added >= 2 * A) break;
      const key = columnKey(col);
      if (known.has(key)) continue;
      known.add(key);
      columns.push(col);
      added++;
    }
    let worth = 0;
    for (let i = 0; i < A; i++) worth += (values[i] as number) * (demand[i] as number);
    const b = ratio > 0 ? worth / Math.max(1, ratio) : 0;
    if (b > bound) {
      bound = b;
      boundValues = Float64Array.from(values);
      upperBounds = ubs;
      scale = Math.max(1, ratio);
    }
    // Converged: every shape priced out within the tolerance, so the bound is the LP value within it.
    if (lpObjective - bound <= (TOLERANCE + 1e-9) * lpObjective) break;
    // Nothing worth proving is left: the plan in hand is within the tolerance of the bound, or no bound
    // to come can close more than GAP_SHARE of the gap between the plan and the bound already proven.
    if (planPerHour !== undefined) {
      if (bound * (1 + TOLERANCE) >= planPerHour) break;
      if (
        it >= TAIL_ROUNDS &&
        provenPerHour !== undefined &&
        lpObjective - provenPerHour <= GAP_SHARE * (planPerHour - provenPerHour)
      )
        break;
    }
    // No column, yet some shape unsettled: search those deeper (a failsafe caps the total work).
    if (added === 0) {
      if (unsettled.length === 0 || work >= workBudget) break;
      for (const t of unsettled) budget.set(t, (budget.get(t) as number) * 8);
    }
  }
  // Patterns of the last master solution (columns added after it have no value yet).
  const solved = primal.length;
  const fullValues = new Float64Array(G);
  active.forEach((g, i) => {
    fullValues[g] = boundValues[i] as number;
  });
  // Columns count pods per active group; callers index by group.
  const expand = (col: Pattern, x: number): Pattern => {
    const full = new Int32Array(G);
    active.forEach((g, i) => {
      full[g] = col.counts[i] as number;
    });
    return { offering: col.offering, counts: full, x };
  };
  const patterns: Pattern[] = [];
  columns.slice(0, solved).forEach((col, j) => {
    const x = primal[j] as number;
    if (x > 1e-9) patterns.push(expand(col, x));
  });
  // Small instances: every pattern's count is a fraction, so rounding down leaves everything to the
  // kernel. An integer cover over the generated columns (price-and-branch) is cheap there and often
  // optimal.
  let integral: Pattern[] | undefined;
  let pods = 0;
  for (let i = 0; i < A; i++) pods += demand[i] as number;
  if (pods <= INTEGER_COVER_PODS) {
    const x = integerCover(columns, priceOf, demand, values, INTEGER_COVER_NODES);
    if (x !== undefined)
      integral = columns.flatMap((col, j) => ((x[j] as number) > 0 ? [expand(col, x[j] as number)] : []));
  }
  return {
    bound,
    lpObjective,
    values: fullValues,
    scale,
    upperBounds,
    shapeOf,
    patterns,
    ...(integral === undefined ? {} : { integral }),
  };
}

/** Keeps the restricted master small: its basis and the columns nearest to entering it. */
function pruneColumns(
  columns: Pattern[],
  price: ReadonlyMap<number, number>,
  values: Float64Array,
  primal: Float64Array,
  A: number,
): Float64Array {
  if (columns.length <= 4 * A) return primal;
  const reduced = columns.map((c, j) => {
    let rc = price.get(c.offering) as number;
    for (let i = 0; i < A; i++) rc -= (c.counts[i] as number) * (values[i] as number);
    return { j, rc: (primal[j] as number) > 1e-12 ? Number.NEGATIVE_INFINITY : rc };
  });
  reduced.sort((a, b) => a.rc - b.rc || a.j - b.j);
  const keep = reduced
    .slice(0, 2 * A)
    .map((r) => r.j)
    .sort((a, b) => a - b);
  const kept = keep.map((j) => columns[j] as Pattern);
  columns.length = 0;
  columns.push(...kept);
  return Float64Array.from(keep, (j) => primal[j] as number);
}

/** An offering shape the LP may buy: its representative offering, capacity, price and usable groups. */
interface Shape {
  t: number;
  capacity: Float64Array;
  price: number;
  /** Active-group indexes that may run on it and fit alone. */
  groups: number[];
  /** Holds few enough pods that branch and bound prices it exactly. */
  searchable: boolean;
}

function candidateShapes(
  problem: EncodedProblem,
  active: number[],
  req: Float64Array,
  W: number,
  prices?: ArrayLike<number>,
): { shapes: Shape[]; shapeOf: Int32Array } {
  const R = problem.resources;
  const T = problem.offerings.count;
  const byKey = new Map<string, Shape>();
  const shapeOf = new Int32Array(T).fill(-1);
  for (let t = 0; t < T; t++) {
    // The kernel's shape classes compare micro-dollar prices; with exact prices every offering stands alone.
    const rep = prices === undefined ? (problem.offerings.shape[t] as number) : t;
    if (rep !== t) {
      shapeOf[t] = shapeOf[rep] as number;
      continue;
    }
    const capacity = problem.offerings.allocatable.subarray(t * R, t * R + R);
    const groups: number[] = [];
    active.forEach((g, i) => {
      const bit = (problem.groups.compat[g * W + (t >>> 5)] as number) & (1 << (t & 31));
      if (bit !== 0 && fitCount(req, i, R, capacity, 0) >= 1) groups.push(i);
    });
    if (groups.length === 0) continue;
    // Exact dollars when given: the kernel's micro-dollar rounding is too coarse for a bound an
    // independent checker recomputes from catalog prices.
    const price =
      prices !== undefined ? (prices[t] as number) : (problem.offerings.priceMicros[t] as number) / 1e6;
    // What patterns can really fill: every sum of requests of a resource is a multiple of their
    // greatest common divisor, so capacity is rounded down to one (8-core pods fill 88 of 95.4 cores).
    const usable = usableCapacity(capacity, req, R, groups);
    // Shapes of different pools with the same capacity, price and groups are the same to the LP.
    const key = `${price}|${Array.from(usable).join(",")}|${groups.join(",")}`;
    let shape = byKey.get(key);
    if (shape === undefined) {
      let most = 0;
      for (const i of groups) most = Math.max(most, fitCount(req, i, R, usable, 0));
      shape = { t, capacity: usable, price, groups, searchable: most <= SEARCH_PODS };
      byKey.set(key, shape);
    }
    shapeOf[t] = shape.t;
  }
  // Drop dominated shapes: another no dearer, at least as large everywhere, usable by a superset of
  // groups bounds every pattern they could hold at a price no higher; their offerings point at it.
  const shapes = [...byKey.values()].sort((a, b) => a.price - b.price || a.t - b.t);
  const kept: Shape[] = [];
  const redirect = new Map<number, number>();
  for (const s of shapes) {
    const by = kept.find(
      (k) =>
        k.price <= s.price &&
        k.capacity.every((c, r) => c >= (s.capacity[r] as number)) &&
        s.groups.every((g) => k.groups.includes(g)),
    );
    if (by === undefined) kept.push(s);
    else redirect.set(s.t, by.t);
  }
  for (let t = 0; t < T; t++) {
    const r = redirect.get(shapeOf[t] as number);
    if (r !== undefined) shapeOf[t] = r;
  }
  return { shapes: kept, shapeOf };
}

/**
 * Capacity rounded down, per resource, to a multiple of the greatest common divisor of what the groups
 * request of it: no pattern can use more (requests are integers: millicores, bytes, counts).
 */
export function usableCapacity(
  capacity: ArrayLike<number>,
  req: Float64Array,
  R: number,
  groups: readonly number[],
): Float64Array {
  const out = Float64Array.from(capacity);
  for (let r = 0; r < R; r++) {
    let g = 0;
    for (const i of groups) g = gcd(g, req[i * R + r] as number);
    if (g > 1) out[r] = Math.floor((out[r] as number) / g + 1e-9) * g;
  }
  return out;
}

/** Greatest common divisor of two non-negative integers (exact in doubles up to 2^53). */
function gcd(a: number, b: number): number {
  let x = Math.round(a);
  let y = Math.round(b);
  while (y > 0) [x, y] = [y, x % y];
  return x;
}

/**
 * A good pattern for a large shape: the knapsack's LP relaxation rounded down, then topped up greedily by
 * value. Writes it to `out` when it beats what `out` holds (worth `current`); returns the better value.
 */
function roundedRelaxation(
  req: Float64Array,
  R: number,
  shape: Shape,
  values: Float64Array,
  demand: Float64Array,
  out: Float64Array,
  y: Float64Array,
): number {
  let current = 0;
  for (const i of shape.groups) current += (out[i] as number) * (values[i] as number);
  const left = Float64Array.from(shape.capacity);
  const take = new Float64Array(out.length);
  let value = 0;
  const add = (i: number, n: number) => {
    if (n <= 0) return;
    take[i] = (take[i] as number) + n;
    value += n * (values[i] as number);
    for (let r = 0; r < R; r++) left[r] = (left[r] as number) - n * (req[i * R + r] as number);
  };
  for (const i of shape.groups)
    add(i, Math.min(Math.floor((y[i] as number) + 1e-9), fitCount(req, i, R, left, 0)));
  const byValue = shape.groups
    .filter((i) => (values[i] as number) > 0)
    .sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
  for (const i of byValue)
    add(i, Math.min(fitCount(req, i, R, left, 0), (demand[i] as number) - (take[i] as number)));
  if (value <= current) return current;
  out.set(take);
  return value;
}

/** How many pods of active group i fit in `capacity` (pods is one of the resources). */
function fitCount(
  req: Float64Array,
  i: number,
  R: number,
  capacity: ArrayLike<number>,
  floor: number,
): number {
  let n = Number.POSITIVE_INFINITY;
  for (let r = 0; r < R; r++) {
    const q = req[i * R + r] as number;
    if (q > 0) n = Math.min(n, Math.floor(((capacity[r] as number) + 1e-9) / q));
  }
  return Number.isFinite(n) ? Math.max(floor, n) : 0;
}

function columnKey(c: Pattern): string {
  return `${c.offering}:${c.counts.join(",")}`;
}

/** The restricted master LP over the columns so far. */
function master(columns: readonly Pattern[], price: ReadonlyMap<number, number>, demand: Float64Array) {
  const n = columns.length;
  const m = demand.length;
  const cost = new Float64Array(n);
  const matrix = new Float64Array(m * n);
  columns.forEach((c, j) => {
    cost[j] = price.get(c.offering) as number;
    for (let i = 0; i < m; i++) matrix[i * n + j] = c.counts[i] as number;
  });
  const lp = solveCoveringLP({ cost, matrix, demand });
  return lp.status === "optimal" ? lp : undefined;
}

/**
 * The most valuable pattern of a shape at `values`: depth-first branch and bound over groups in order of
 * value density, each taking its largest feasible count first (so the first leaf is the greedy
 * pattern). The bound at a node is the tightest single-resource fractional relaxation of the rest.
 * `exact` is false when the node budget ran out (the pattern found is then only a good one).
 */
function knapsack(
  reqIn: Float64Array,
  RIn: number,
  shape: Shape,
  values: Float64Array,
  demand: Float64Array,
  nodeBudget: number,
  out: Float64Array | Int32Array,
  surrogate?: Float64Array,
  target = 0,
): { value: number; exact: boolean; nodes: number } {
  out.fill(0);
  const items = shape.groups.filter((i) => (values[i] as number) > 1e-12);
  if (items.length === 0) return { value: 0, exact: true, nodes: 0 };
  // With surrogate multipliers (the knapsack LP's duals per resource unit), one more resource row:
  // sum_r lambda_r x resource r. Any non-negative multipliers make it a valid relaxation, and the LP's
  // make the single-resource bound on it as tight as the LP at the root.
  let req = reqIn;
  let R = RIn;
  let cap: ArrayLike<number> = shape.capacity;
  if (surrogate?.some((x) => x > 0)) {
    R = RIn + 1;
    req = new Float64Array((reqIn.length / RIn) * R);
    for (let i = 0; i < reqIn.length / RIn; i++) {
      let w = 0;
      for (let r = 0; r < RIn; r++) {
        const q = reqIn[i * RIn + r] as number;
        req[i * R + r] = q;
        w += (surrogate[r] as number) * q;
      }
      req[i * R + RIn] = w;
    }
    let capS = 0;
    for (let r = 0; r < RIn; r++) capS += (surrogate[r] as number) * (shape.capacity[r] as number);
    // A hair of slack: rounding in the sum must never cut off a pattern that fits.
    cap = [...Array.from(shape.capacity), capS * (1 + 1e-9)];
  }
  const density = (i: number) => {
    let size = 0;
    for (let r = 0; r < R; r++) {
      const c = cap[r] as number;
      if (c > 0) size = Math.max(size, (req[i * R + r] as number) / c);
    }
    return (values[i] as number) / Math.max(size, 1e-12);
  };
  items.sort((a, b) => density(b) - density(a) || a - b);
  const n = items.length;
  // suffixValue[k]: the total value of items k..n-1; lastFree[r]: the last item needing none of resource
  // r (a node at k with such an item ahead has no bound from r).
  const suffixValue = new Float64Array(n + 1);
  const lastFree = new Int32Array(R).fill(-1);
  for (let k = n - 1; k >= 0; k--) {
    const i = items[k] as number;
    suffixValue[k] = (suffixValue[k + 1] as number) + (values[i] as number) * (demand[i] as number);
    for (let r = 0; r < R; r++)
      if ((req[i * R + r] as number) <= 0 && (lastFree[r] as number) < 0) lastFree[r] = k;
  }
  const left = Float64Array.from(cap);
  const take = new Int32Array(n);
  let bestValue = 0;
  let nodes = 0;
  let exact = true;
  // Per resource, the items (by position) in order of value per unit of that resource: the bound at a
  // node is the tightest single-resource fractional knapsack over the items still undecided.
  const byRatio: Int32Array[] = [];
  for (let r = 0; r < R; r++) {
    const order = Array.from({ length: n }, (_, k) => k).filter(
      (k) => (req[(items[k] as number) * R + r] as number) > 0,
    );
    const ratio = (k: number) =>
      (values[items[k] as number] as number) / (req[(items[k] as number) * R + r] as number);
    order.sort((a, b) => ratio(b) - ratio(a) || a - b);
    byRatio.push(Int32Array.from(order));
  }
  const bound = (k: number) => {
    let b = suffixValue[k] as number;
    for (let r = 0; r < R; r++) {
      if ((lastFree[r] as number) >= k) continue;
      let room = left[r] as number;
      let v = 0;
      for (const j of byRatio[r] as Int32Array) {
        if (j < k) continue;
        const i = items[j] as number;
        const q = req[i * R + r] as number;
        const d = demand[i] as number;
        if (q * d <= room) {
          room -= q * d;
          v += d * (values[i] as number);
        } else {
          v += (room / q) * (values[i] as number);
          break;
        }
        if (v >= b) break;
      }
      if (v < b) b = v;
    }
    return b;
  };
  const dfs = (k: number, value: number) => {
    if (value > bestValue + 1e-12) {
      bestValue = value;
      out.fill(0);
      for (let j = 0; j < k; j++) out[items[j] as number] = take[j] as number;
    }
    if (k === n) return;
    if (++nodes > nodeBudget) {
      exact = false;
      return;
    }
    // Only patterns worth more than the target matter: below it, the shape is priced out anyway.
    if (value + bound(k) <= Math.max(bestValue, target) + 1e-12) return;
    const i = items[k] as number;
    const max = Math.min(fitCount(req, i, R, left, 0), demand[i] as number);
    const v = values[i] as number;
    for (let c = max; c >= 0; c--) {
      take[k] = c;
      for (let r = 0; r < R; r++) left[r] = (left[r] as number) - c * (req[i * R + r] as number);
      dfs(k + 1, value + c * v);
      for (let r = 0; r < R; r++) left[r] = (left[r] as number) + c * (req[i * R + r] as number);
      if (!exact) break;
    }
    take[k] = 0;
  };
  dfs(0, 0);
  return { value: bestValue, exact, nodes };
}

/**
 * An upper bound on any pattern of the shape from Lagrange rates per resource unit (weak duality):
 * rates . capacity plus, per group, as many pods as can be worth more than their rates, at that surplus.
 */
function lagrangianBound(
  req: Float64Array,
  R: number,
  shape: Shape,
  values: Float64Array,
  demand: Float64Array,
  rates: Float64Array,
): number {
  let bound = 0;
  for (let r = 0; r < R; r++) bound += (rates[r] as number) * (shape.capacity[r] as number);
  for (const i of shape.groups) {
    let price = 0;
    for (let r = 0; r < R; r++) price += (rates[r] as number) * (req[i * R + r] as number);
    const surplus = (values[i] as number) - price;
    if (surplus > 0) bound += surplus * Math.min(demand[i] as number, fitCount(req, i, R, shape.capacity, 0));
  }
  return bound * (1 + 1e-9);
}

/**
 * The LP relaxation of a shape's knapsack (fractional pods, each group at most its demand): an upper bound
 * on its most valuable pattern, and tight for large nodes. A packing LP with one row per resource (plus a
 * row for each group whose demand, not capacity, limits it), solved by the primal simplex from the slack
 * basis. `y` receives the fractional counts.
 */
export function relaxedBound(
  req: Float64Array,
  R: number,
  shape: { capacity: ArrayLike<number>; groups: readonly number[] },
  values: ArrayLike<number>,
  demand: ArrayLike<number>,
  y?: Float64Array,
  lambda?: Float64Array,
): number {
  const items = shape.groups.filter((i) => (values[i] as number) > 0);
  const n = items.length;
  lambda?.fill(0);
  if (n === 0) return 0;
  const dims: number[] = [];
  for (let r = 0; r < R; r++) if ((shape.capacity[r] as number) > 0) dims.push(r);
  const capped = items.filter((i) => (demand[i] as number) < fitCount(req, i, R, shape.capacity, 0));
  const m = dims.length + capped.length;
  // Tableau rows 0..m-1 (scaled so capacities are 1), objective row m holds -v; columns: y (n), slacks (m), rhs.
  const width = n + m + 1;
  const t = new Float64Array((m + 1) * width);
  const basis = new Int32Array(m);
  dims.forEach((r, k) => {
    const cap = shape.capacity[r] as number;
    items.forEach((i, j) => {
      t[k * width + j] = (req[i * R + r] as number) / cap;
    });
    t[k * width + n + k] = 1;
    t[k * width + width - 1] = 1;
    basis[k] = n + k;
  });
  capped.forEach((i, c) => {
    const k = dims.length + c;
    t[k * width + items.indexOf(i)] = 1;
    t[k * width + n + k] = 1;
    t[k * width + width - 1] = demand[i] as number;
    basis[k] = n + k;
  });
  const obj = m * width;
  items.forEach((i, j) => {
    t[obj + j] = -(values[i] as number);
  });
  for (let pivots = 0; pivots < 1000; pivots++) {
    let enter = -1;
    let best = -1e-12;
    for (let j = 0; j < n + m; j++) {
      const d = t[obj + j] as number;
      if (d < best) {
        best = d;
        enter = j;
      }
    }
    if (enter < 0) break;
    let leave = -1;
    let ratio = Number.POSITIVE_INFINITY;
    for (let k = 0; k < m; k++) {
      const a = t[k * width + enter] as number;
      if (a <= 1e-12) continue;
      const q = (t[k * width + width - 1] as number) / a;
      if (q < ratio) {
        ratio = q;
        leave = k;
      }
    }
    if (leave < 0) break;
    const prow = leave * width;
    const inv = 1 / (t[prow + enter] as number);
    for (let j = 0; j < width; j++) t[prow + j] = (t[prow + j] as number) * inv;
    for (let k = 0; k <= m; k++) {
      if (k === leave) continue;
      const f = t[k * width + enter] as number;
      if (f === 0) continue;
      const row = k * width;
      for (let j = 0; j < width; j++) t[row + j] = (t[row + j] as number) - f * (t[prow + j] as number);
    }
    basis[leave] = enter;
  }
  // Weak duality: the objective row's slack entries are the row duals (>= 0 at optimality); their
  // weighted right-hand sides bound the knapsack whatever the simplex's last basis.
  if (lambda !== undefined)
    dims.forEach((r, k) => {
      lambda[r] = Math.max(0, t[obj + n + k] as number) / (shape.capacity[r] as number);
    });
  let dualBound = 0;
  for (let k = 0; k < m; k++) {
    const rhs = k < dims.length ? 1 : (demand[capped[k - dims.length] as number] as number);
    dualBound += Math.max(0, t[obj + n + k] as number) * rhs;
  }
  // Any item the duals under-price adds its shortfall (keeps the bound valid off optimality).
  items.forEach((i) => {
    let price = 0;
    dims.forEach((r, k) => {
      price +=
        Math.max(0, t[obj + n + k] as number) * ((req[i * R + r] as number) / (shape.capacity[r] as number));
    });
    const c = capped.indexOf(i);
    if (c >= 0) price += Math.max(0, t[obj + n + dims.length + c] as number);
    const short = (values[i] as number) - price;
    if (short > 0) dualBound += short * Math.min(demand[i] as number, fitCount(req, i, R, shape.capacity, 0));
  });
  if (y !== undefined) {
    for (let k = 0; k < m; k++) {
      const b = basis[k] as number;
      if (b < n) y[items[b] as number] = t[k * width + width - 1] as number;
    }
  }
  return dualBound * (1 + 1e-9);
}

/**
 * The cheapest integer combination of columns covering the demand, by depth-first search: branch on
 * the uncovered group with the fewest covering columns, try its columns cheapest per covered pod
 * first, prune with the master's duals (a lower bound on covering what is left). Undefined when the
 * columns cannot cover the demand.
 */
function integerCover(
  columns: readonly Pattern[],
  price: Map<number, number>,
  demand: Float64Array,
  values: Float64Array,
  budget: number,
): Int32Array | undefined {
  const n = columns.length;
  const m = demand.length;
  const cost = columns.map((c) => price.get(c.offering) as number);
  const rem = Float64Array.from(demand);
  const x = new Int32Array(n);
  let best: Int32Array | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  let nodes = 0;
  const rest = () => {
    let v = 0;
    for (let i = 0; i < m; i++) v += (values[i] as number) * Math.max(0, rem[i] as number);
    return v;
  };
  const walk = (spent: number) => {
    if (++nodes > budget) return;
    let row = -1;
    let fewest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < m; i++) {
      if ((rem[i] as number) <= 0) continue;
      let k = 0;
      for (const c of columns) if ((c.counts[i] as number) > 0) k++;
      if (k < fewest) {
        fewest = k;
        row = i;
      }
    }
    if (row < 0) {
      if (spent < bestCost - 1e-12) {
        bestCost = spent;
        best = Int32Array.from(x);
      }
      return;
    }
    if (spent + rest() >= bestCost - 1e-12) return;
    const useful = (j: number) => {
      let covered = 0;
      const c = columns[j] as Pattern;
      for (let i = 0; i < m; i++) covered += Math.min(c.counts[i] as number, Math.max(0, rem[i] as number));
      return covered;
    };
    const order: number[] = [];
    for (let j = 0; j < n; j++) if (((columns[j] as Pattern).counts[row] as number) > 0) order.push(j);
    order.sort((a, b) => (cost[a] as number) / useful(a) - (cost[b] as number) / useful(b) || a - b);
    for (const j of order) {
      const c = columns[j] as Pattern;
      x[j] = (x[j] as number) + 1;
      for (let i = 0; i < m; i++) rem[i] = (rem[i] as number) - (c.counts[i] as number);
      walk(spent + (cost[j] as number));
      for (let i = 0; i < m; i++) rem[i] = (rem[i] as number) + (c.counts[i] as number);
      x[j] = (x[j] as number) - 1;
      if (nodes > budget) return;
    }
  };
  walk(0);
  return best;
}
