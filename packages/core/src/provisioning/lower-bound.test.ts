import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { PodSchema } from "../model.ts";
import { verifyLowerBound } from "../validate/verify-bound.ts";
import { type BoundOffering, computeLowerBound } from "./lower-bound.ts";

const offering = (key: string, price: number, cpu: number, mem: number): BoundOffering => ({
  key,
  pricePerHour: price,
  allocatable: { cpuMillis: cpu, memoryBytes: mem },
});

const pod = (name: string, cpu: number, mem: number) =>
  PodSchema.parse({
    namespace: "n",
    name,
    uid: name,
    creationTimestamp: "2026-11-01T00:00:00Z",
    requests: { cpuMillis: cpu, memoryBytes: mem },
  });

describe("computeLowerBound", () => {
  test("one class: the cheapest fractional cover", () => {
    // 10 cpu needed; a 2-cpu node at 1.0 and a 4-cpu node at 1.5 -> 2.5 x 4-cpu = 3.75.
    const r = computeLowerBound(
      [offering("a", 1, 2000, 100), offering("b", 1.5, 4000, 100)],
      [{ pods: 10, demand: { cpuMillis: 10_000 }, compatible: [0, 1] }],
    );
    expect(r.lowerBoundPerHour).toBeCloseTo(3.75, 9);
    expect(r.lpObjective).toBeCloseTo(3.75, 9);
  });

  test("two resources: the bound mixes shapes", () => {
    // cpu-heavy at 1 (4 cpu, 2 GiB), memory-heavy at 1 (1 cpu, 8 GiB); demand 8 cpu, 16 GiB -> 2 + 1.75 = 3.75... solve exactly:
    // x_c*4 + x_m*1 >= 8, x_c*2 + x_m*8 >= 16 -> x_c = 48/30 = 1.6, x_m = 1.6 -> 3.2
    const r = computeLowerBound(
      [offering("c", 1, 4, 2), offering("m", 1, 1, 8)],
      [{ pods: 1, demand: { cpuMillis: 8, memoryBytes: 16 }, compatible: [0, 1] }],
    );
    expect(r.lowerBoundPerHour).toBeCloseTo(3.2, 9);
  });

  test("compatibility is respected: a class restricted to dear offerings pays for them", () => {
    const offerings = [offering("cheap", 1, 4000, 100), offering("gpu", 10, 4000, 100)];
    const r = computeLowerBound(offerings, [
      { pods: 4, demand: { cpuMillis: 4000 }, compatible: [0, 1] },
      { pods: 4, demand: { cpuMillis: 4000 }, compatible: [1] },
    ]);
    // The general class on cheap (1), the restricted one needs a whole gpu node's cpu (10).
    expect(r.lowerBoundPerHour).toBeCloseTo(11, 9);
  });

  test("the certificate verifies to the same bound, independently", () => {
    const offerings = [offering("x", 1, 4000, 8), offering("y", 3, 16000, 16)];
    const pods = [pod("a", 1000, 2), pod("b", 2000, 1), pod("c", 3000, 4)];
    const demand = { cpuMillis: 6000, memoryBytes: 7 };
    const r = computeLowerBound(offerings, [{ pods: 3, demand, compatible: [0, 1] }]);
    const verified = verifyLowerBound(r.certificate, pods, () => offerings);
    expect(verified).not.toBeNull();
    expect(verified as number).toBeGreaterThanOrEqual(r.lowerBoundPerHour * (1 - 1e-9));
  });

  test("random instances: the bound never exceeds any integral packing and its certificate verifies", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            cpu: fc.integer({ min: 1, max: 16 }),
            mem: fc.integer({ min: 1, max: 64 }),
            price: fc.integer({ min: 1, max: 100 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.array(fc.record({ cpu: fc.integer({ min: 1, max: 4 }), mem: fc.integer({ min: 1, max: 8 }) }), {
          minLength: 1,
          maxLength: 30,
        }),
        (types, podShapes) => {
          const offerings = types.map((t, i) => offering(`t${i}`, t.price / 10, t.cpu, t.mem));
          const pods = podShapes.map((p, i) => pod(`p${i}`, p.cpu, p.mem));
          const fitting = offerings
            .map((o, i) => ({ o, i }))
            .filter(({ o }) =>
              podShapes.every(
                (p) => p.cpu <= (o.allocatable.cpuMillis ?? 0) && p.mem <= (o.allocatable.memoryBytes ?? 0),
              ),
            );
          if (fitting.length === 0) return;
          const demand = {
            cpuMillis: podShapes.reduce((s, p) => s + p.cpu, 0),
            memoryBytes: podShapes.reduce((s, p) => s + p.mem, 0),
          };
          const r = computeLowerBound(offerings, [
            { pods: pods.length, demand, compatible: fitting.map((f) => f.i) },
          ]);
          // One pod per node of the cheapest fitting type is a feasible packing: the bound is below it.
          const cheapest = Math.min(...fitting.map((f) => f.o.pricePerHour));
          expect(r.lowerBoundPerHour).toBeLessThanOrEqual(cheapest * pods.length + 1e-9);
          const verified = verifyLowerBound(r.certificate, pods, () => fitting.map((f) => f.o));
          expect(verified as number).toBeGreaterThanOrEqual(r.lowerBoundPerHour * (1 - 1e-7) - 1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });
});
