import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { solveCoveringLP } from "./simplex.ts";

const lp = (cost: number[], rows: number[][], demand: number[]) => ({
  cost: Float64Array.from(cost),
  matrix: Float64Array.from(rows.flat()),
  demand: Float64Array.from(demand),
});

describe("solveCoveringLP", () => {
  test("picks the cheaper way to cover two resources", () => {
    // Type A: 2 cpu / 4 GiB at $1; type B: 4 cpu / 4 GiB at $1.5. Demand 8 cpu, 8 GiB.
    const r = solveCoveringLP(
      lp(
        [1, 1.5],
        [
          [2, 4],
          [4, 4],
        ],
        [8, 8],
      ),
    );
    expect(r.status).toBe("optimal");
    if (r.status !== "optimal") return;
    expect(r.objective).toBeCloseTo(3, 9); // 2 x B
    // Strong duality: dual objective equals primal objective.
    expect(8 * (r.dual[0] as number) + 8 * (r.dual[1] as number)).toBeCloseTo(3, 9);
  });

  test("reports infeasible when a demanded resource is offered nowhere", () => {
    const r = solveCoveringLP(lp([1], [[1], [0]], [1, 1]));
    expect(r.status).toBe("infeasible");
  });

  test("zero demand costs nothing", () => {
    const r = solveCoveringLP(lp([1, 2], [[1, 1]], [0]));
    expect(r.status === "optimal" && r.objective).toBe(0);
  });

  test("primal feasible, dual feasible and equal objectives on random covering LPs", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(
          fc.record({
            price: fc.integer({ min: 1, max: 1000 }),
            alloc: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 5, maxLength: 5 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 5, maxLength: 5 }),
        (m, columns, demandAll) => {
          const n = columns.length;
          const cost = Float64Array.from(columns.map((c) => c.price / 100));
          const matrix = new Float64Array(m * n);
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++)
              matrix[i * n + j] = (columns[j] as { price: number; alloc: number[] }).alloc[i] as number;
          const demand = Float64Array.from(demandAll.slice(0, m));
          const r = solveCoveringLP({ cost, matrix, demand });
          expect(r.status).toBe("optimal");
          if (r.status !== "optimal") return;
          for (let i = 0; i < m; i++) {
            let lhs = 0;
            for (let j = 0; j < n; j++) lhs += (matrix[i * n + j] as number) * (r.primal[j] as number);
            expect(lhs).toBeGreaterThanOrEqual((demand[i] as number) - 1e-6);
          }
          for (let j = 0; j < n; j++) {
            let col = 0;
            for (let i = 0; i < m; i++) col += (matrix[i * n + j] as number) * (r.dual[i] as number);
            expect(col).toBeLessThanOrEqual((cost[j] as number) + 1e-7);
          }
          let dualObjective = 0;
          for (let i = 0; i < m; i++) dualObjective += (demand[i] as number) * (r.dual[i] as number);
          expect(dualObjective).toBeCloseTo(r.objective, 6);
        },
      ),
      { numRuns: 300 },
    );
  });
});
