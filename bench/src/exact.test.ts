import { createSolver, type InstanceType, NodePoolSchema, type Pod } from "@nodeplan/core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { buildModel, exactOptimum } from "./exact.ts";
import { BENCH_NOW, benchPod } from "./workloads.ts";

const GiB = 1024 ** 3;

function type(name: string, cpu: number, memGiB: number, price: number): InstanceType {
  const resources = { cpuMillis: cpu * 1000, memoryBytes: memGiB * GiB, pods: 110 };
  return {
    name,
    labels: {
      "kubernetes.io/arch": "amd64",
      "kubernetes.io/os": "linux",
      "node.kubernetes.io/instance-type": name,
    },
    capacity: resources,
    allocatable: resources,
    offerings: [{ zone: "z1", capacityType: "on-demand", pricePerHour: price, available: true }],
  };
}

const pods = (n: number, cpuMillis: number, memMiB: number, group = "p"): Pod[] =>
  Array.from({ length: n }, (_, i) => benchPod(group, i, cpuMillis, memMiB, {}));

describe("exact optimum (HiGHS MIP)", () => {
  // A: 2 cpu for 1.0/h, B: 4 cpu for 1.8/h; pods of 1 cpu. By hand: 2 pods -> one A (1.0);
  // 3 pods -> one B (1.8, cheaper than two A); 5 pods -> B + A (2.8, against 3 A = 3.0 or 2 B = 3.6).
  const types = [type("A", 2, 8, 1.0), type("B", 4, 8, 1.8)];
  test.each([
    [2, 1.0, 1],
    [3, 1.8, 1],
    [5, 2.8, 2],
  ])("%i pods of 1 cpu: optimum %f with %i nodes", async (n, optimum, nodes) => {
    const r = await exactOptimum(pods(n, 1000, 512), types, { upperBoundPerHour: 10 });
    expect(r.status).toBe("Optimal");
    expect(r.optimumPerHour).toBeCloseTo(optimum, 9);
    expect(r.nodes).toBe(nodes);
  });

  test("memory binds too: two 3 GiB pods need two 4 GiB nodes or one 8 GiB node", async () => {
    const r = await exactOptimum(pods(2, 100, 3072), [type("S", 4, 4, 1.0), type("L", 4, 8, 1.5)], {
      upperBoundPerHour: 10,
    });
    expect(r.optimumPerHour).toBeCloseTo(1.5, 9);
  });

  test("a known solution as the start: the optimum is still found", async () => {
    const r = await exactOptimum(pods(5, 1000, 512), types, {
      upperBoundPerHour: 3.0,
      incumbent: [0, 1, 2].map((k) => ({
        instanceType: "A",
        pods: [`bench/p-${2 * k}`, ...(k < 2 ? [`bench/p-${2 * k + 1}`] : [])],
      })),
    });
    expect(r.optimumPerHour).toBeCloseTo(2.8, 9);
  });

  test("dominated types are dropped without changing the optimum; a start on one maps to its dominator", async () => {
    // A2 is A's twin, C has A's resources at a higher price: both dominated by A.
    const withTwins = [...types, type("A2", 2, 8, 1.0), type("C", 2, 8, 1.2)];
    const built = buildModel(pods(5, 1000, 512), withTwins, 10);
    expect(built.typeIndex.get("A2")).toBe(built.typeIndex.get("A"));
    expect(built.typeIndex.get("C")).toBe(built.typeIndex.get("A"));
    const r = await exactOptimum(pods(5, 1000, 512), withTwins, {
      upperBoundPerHour: 3.4,
      incumbent: [
        { instanceType: "C", pods: ["bench/p-0", "bench/p-1"] },
        { instanceType: "A2", pods: ["bench/p-2", "bench/p-3"] },
        { instanceType: "A", pods: ["bench/p-4"] },
      ],
    });
    expect(r.optimumPerHour).toBeCloseTo(2.8, 9);
  });

  test("a pod no type can hold is an error, not a wrong optimum", async () => {
    await expect(exactOptimum(pods(1, 9000, 512), types, { upperBoundPerHour: 10 })).rejects.toThrow(
      /no instance type fits/,
    );
  });

  test("property: core's lower bound <= exact optimum <= nodeplan's cost, on small random instances", async () => {
    const solver = await createSolver();
    const pool = NodePoolSchema.parse({ name: "default" });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            cpu: fc.integer({ min: 1, max: 16 }),
            mem: fc.integer({ min: 1, max: 32 }),
            price: fc.integer({ min: 1, max: 100 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        fc.array(
          fc.record({ cpu: fc.constantFrom(250, 500, 1000, 2000), mem: fc.constantFrom(256, 1024, 4096) }),
          { minLength: 1, maxLength: 7 },
        ),
        async (shapes, requests) => {
          const ts = [...shapes, { cpu: 16, mem: 32, price: 150 }].map((s, i) =>
            type(`t${i}`, s.cpu, s.mem, s.price / 10),
          );
          const ps = requests.map((r, i) => benchPod("p", i, r.cpu, r.mem, {}));
          const plan = solver.provision({
            pods: ps,
            nodes: [],
            nodePools: [pool],
            instanceTypes: ts,
            now: BENCH_NOW,
          });
          expect(plan.unschedulable).toEqual([]);
          const r = await exactOptimum(ps, ts, {
            upperBoundPerHour: plan.cost.newPerHour,
            incumbent: plan.nodeClaims,
          });
          expect(r.status).toBe("Optimal");
          const opt = r.optimumPerHour as number;
          expect(opt).toBeLessThanOrEqual(plan.cost.newPerHour * (1 + 1e-6));
          expect(opt).toBeGreaterThanOrEqual(plan.cost.lowerBoundPerHour * (1 - 1e-6));
        },
      ),
      { numRuns: 25, seed: 42 },
    );
  }, 120_000);
});
