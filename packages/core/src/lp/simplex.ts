/**
 * A small dense two-phase primal simplex for covering LPs: minimize c·x subject to A x >= b, x >= 0,
 * with b >= 0 and c >= 0. Sized for tens of rows and a few thousand columns (the lower-bound LP), where
 * a full tableau is cheaper than any sparse machinery. Dantzig pricing, switching to Bland's rule after
 * a run of degenerate pivots so it cannot cycle. Returns the primal solution and the duals (one per
 * row, >= 0), which are what the lower-bound certificate is made of.
 */

/** A covering LP. `rows[i]` holds the coefficients of row i over all columns. */
export interface CoveringLP {
  /** Cost per column (>= 0). */
  cost: Float64Array;
  /** Row-major coefficients: rowCount x cost.length. */
  matrix: Float64Array;
  /** Right-hand sides (>= 0). */
  demand: Float64Array;
}

/** The outcome of `solveCoveringLP`. */
export type LPResult =
  | { status: "optimal"; objective: number; primal: Float64Array; dual: Float64Array; pivots: number }
  | { status: "infeasible" | "iteration_limit"; pivots: number };

const EPS = 1e-9;

/** Solves a covering LP to optimality (see the module comment). */
export function solveCoveringLP(lp: CoveringLP, maxPivots = 50_000): LPResult {
  const n = lp.cost.length;
  const m = lp.demand.length;
  if (lp.matrix.length !== m * n) throw new RangeError("matrix size does not match cost and demand");
  // Columns: x (n), surplus (m), artificial (m), rhs. Rows 0..m-1 constraints, row m objective.
  const width = n + 2 * m + 1;
  const rhs = width - 1;
  const t = new Float64Array((m + 1) * width);
  const basis = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const row = i * width;
    for (let j = 0; j < n; j++) t[row + j] = lp.matrix[i * n + j] as number;
    t[row + n + i] = -1;
    t[row + n + m + i] = 1;
    t[row + rhs] = lp.demand[i] as number;
    basis[i] = n + m + i;
  }
  // Phase I: minimize the sum of artificials; objective row holds reduced costs.
  const obj = m * width;
  for (let i = 0; i < m; i++) {
    const row = i * width;
    for (let j = 0; j < n + m; j++) t[obj + j] = (t[obj + j] as number) - (t[row + j] as number);
    t[obj + rhs] = (t[obj + rhs] as number) - (t[row + rhs] as number);
  }
  let pivots = 0;
  const phase1 = iterate(t, basis, m, width, n + m, maxPivots);
  pivots += phase1.pivots;
  if (!phase1.done) return { status: "iteration_limit", pivots };
  if (-(t[obj + rhs] as number) > 1e-7 * Math.max(1, maxAbs(lp.demand)))
    return { status: "infeasible", pivots };
  // Drive artificials still basic (at zero) out of the basis where possible.
  for (let i = 0; i < m; i++) {
    if ((basis[i] as number) < n + m) continue;
    const row = i * width;
    for (let j = 0; j < n + m; j++) {
      if (Math.abs(t[row + j] as number) > EPS) {
        pivot(t, basis, m, width, i, j);
        pivots++;
        break;
      }
    }
  }
  // Phase II objective row: reduced costs c_j - c_B B^-1 A_j over x and surplus columns.
  t.fill(0, obj, obj + width);
  for (let j = 0; j < n; j++) t[obj + j] = lp.cost[j] as number;
  for (let i = 0; i < m; i++) {
    const b = basis[i] as number;
    const cb = b < n ? (lp.cost[b] as number) : 0;
    if (cb === 0) continue;
    const row = i * width;
    for (let j = 0; j < width; j++) t[obj + j] = (t[obj + j] as number) - cb * (t[row + j] as number);
  }
  const phase2 = iterate(t, basis, m, width, n + m, maxPivots - pivots);
  pivots += phase2.pivots;
  if (!phase2.done) return { status: "iteration_limit", pivots };
  const primal = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const b = basis[i] as number;
    if (b < n) primal[b] = t[i * width + rhs] as number;
  }
  // The reduced cost of surplus column i is the dual of row i.
  const dual = new Float64Array(m);
  for (let i = 0; i < m; i++) dual[i] = Math.max(0, t[obj + n + i] as number);
  let objective = 0;
  for (let j = 0; j < n; j++) objective += (lp.cost[j] as number) * (primal[j] as number);
  return { status: "optimal", objective, primal, dual, pivots };
}

function iterate(
  t: Float64Array,
  basis: Int32Array,
  m: number,
  width: number,
  columns: number,
  maxPivots: number,
): { done: boolean; pivots: number } {
  const obj = m * width;
  const rhs = width - 1;
  let pivots = 0;
  let degenerateRun = 0;
  while (pivots < maxPivots) {
    const bland = degenerateRun > 50;
    let enter = -1;
    let best = -EPS;
    for (let j = 0; j < columns; j++) {
      const d = t[obj + j] as number;
      if (d < best) {
        enter = j;
        if (bland) break;
        best = d;
      }
    }
    if (enter < 0) return { done: true, pivots };
    let leave = -1;
    let ratio = Number.POSITIVE_INFINITY;
    for (let i = 0; i < m; i++) {
      const a = t[i * width + enter] as number;
      if (a <= EPS) continue;
      const r = (t[i * width + rhs] as number) / a;
      if (
        r < ratio - 1e-12 ||
        (Math.abs(r - ratio) <= 1e-12 && (basis[i] as number) < (basis[leave] as number))
      ) {
        ratio = r;
        leave = i;
      }
    }
    // Unbounded cannot happen for a covering LP with non-negative costs; stop defensively.
    if (leave < 0) return { done: true, pivots };
    degenerateRun = ratio <= 1e-12 ? degenerateRun + 1 : 0;
    pivot(t, basis, m, width, leave, enter);
    pivots++;
  }
  return { done: false, pivots };
}

function pivot(t: Float64Array, basis: Int32Array, m: number, width: number, r: number, c: number): void {
  const prow = r * width;
  const inv = 1 / (t[prow + c] as number);
  for (let j = 0; j < width; j++) t[prow + j] = (t[prow + j] as number) * inv;
  for (let i = 0; i <= m; i++) {
    if (i === r) continue;
    const row = i * width;
    const f = t[row + c] as number;
    if (f === 0) continue;
    for (let j = 0; j < width; j++) t[row + j] = (t[row + j] as number) - f * (t[prow + j] as number);
  }
  basis[r] = c;
}

function maxAbs(a: Float64Array): number {
  let v = 0;
  for (const x of a) v = Math.max(v, Math.abs(x));
  return v;
}
