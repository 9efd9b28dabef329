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

describe("computeLowerBound with capacity reservations", () => {
  const reserved = (
    key: string,
    price: number,
    cpu: number,
    id: string,
    capacity: number,
  ): BoundOffering => ({
    ...offering(key, price, cpu, 100),
    reservation: { id, capacity },
  });
  // 20 cpu: on-demand 4-cpu nodes at 1, a reservation of two 4-cpu nodes at 1e-7.
  const offerings = [offering("od", 1, 4, 100), reserved("r", 1e-7, 4, "cr-1", 2)];
  const pods = Array.from({ length: 5 }, (_, i) => pod(`p${i}`, 4, 1));
  const classes = [{ pods: 5, demand: { cpuMillis: 20, memoryBytes: 5 }, compatible: [0, 1] }];

  test("the cap makes the bound count: 5 nodes' worth, 2 of them reserved", () => {
    const r = computeLowerBound(offerings, classes);
    // Capped LP optimum: 2 reserved + 3 on-demand = 3 + 2e-7; the uncapped one is 5e-7.
    expect(r.lowerBoundPerHour).toBeCloseTo(3 + 2e-7, 9);
    expect(r.method).toBe("lp-covering-by-compatibility-reservation-caps");
    expect(r.certificate.reservationPenalties).toEqual({ "cr-1": expect.closeTo(1 - 1e-7, 9) });
    expect(verifyLowerBound(r.certificate, pods, () => offerings)).toBeCloseTo(r.lowerBoundPerHour, 9);
  });

  test("without reservations nothing changes: no penalties, the plain method", () => {
    const plainOfferings = offerings.map(({ reservation: _, ...o }) => o);
    const r = computeLowerBound(plainOfferings, classes);
    expect(r.method).toBe("lp-covering-by-compatibility");
    expect(r.certificate).not.toHaveProperty("reservationPenalties");
    expect(r.lowerBoundPerHour).toBeCloseTo(5e-7, 12);
  });

  test("a large cap: the plain bound is kept when it is the larger", () => {
    const big = [offering("od", 1, 4, 100), reserved("r", 1e-7, 4, "cr-1", 50)];
    const r = computeLowerBound(big, classes);
    expect(r.method).toBe("lp-covering-by-compatibility");
    expect(r.lowerBoundPerHour).toBeCloseTo(5e-7, 12);
  });

  test("a class only a reservation serves is left out of the capped LP; the rest still count", () => {
    const r = computeLowerBound(
      [offering("od", 1, 4, 100), reserved("r", 1e-7, 4, "cr-1", 1)],
      [
        { pods: 2, demand: { cpuMillis: 8 }, compatible: [0, 1] },
        { pods: 1, demand: { cpuMillis: 4 }, compatible: [1] },
      ],
    );
    // Capped: 2 on-demand nodes (2) less one reservation instance worth 1 above its price: 1 + 1e-7.
    expect(r.lowerBoundPerHour).toBeCloseTo(1 + 1e-7, 9);
    const verified = verifyLowerBound(r.certificate, [pod("a", 4, 0), pod("b", 4, 0), pod("c", 4, 0)], (p) =>
      p.name === "c"
        ? [reserved("r", 1e-7, 4, "cr-1", 1)]
        : [offering("od", 1, 4, 100), reserved("r", 1e-7, 4, "cr-1", 1)],
    );
    expect(verified as number).toBeGreaterThanOrEqual(r.lowerBoundPerHour * (1 - 1e-9));
  });

  test("a reservation shared by offerings pays once, at its smallest capacity", () => {
    const shared = [
      offering("od", 1, 4, 100),
      reserved("a/r", 1e-7, 4, "cr-1", 3),
      reserved("b/r", 1e-7, 4, "cr-1", 2),
    ];
    const r = computeLowerBound(shared, [{ pods: 5, demand: { cpuMillis: 20 }, compatible: [0, 1, 2] }]);
    expect(r.lowerBoundPerHour).toBeCloseTo(3 + 2e-7, 9);
    expect(verifyLowerBound(r.certificate, pods, () => shared)).toBeCloseTo(r.lowerBoundPerHour, 9);
  });
});

describe("prices near zero (reservations at on-demand / 10^7)", () => {
  test("the certificate still verifies to the bound claimed, capped or not", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            cpu: fc.constantFrom(2000, 4000, 8000),
            price: fc.integer({ min: 50, max: 150 }),
            cap: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.array(fc.integer({ min: 100, max: 2000 }), { minLength: 1, maxLength: 6 }),
        (types, cpus) => {
          const offerings = types.flatMap((t, k): BoundOffering[] => [
            offering(`od${k}`, (t.price * t.cpu) / 1e6, t.cpu, 100),
            {
              ...offering(`r${k}`, (t.price * t.cpu) / 1e13, t.cpu, 100),
              ...(t.cap === undefined ? {} : { reservation: { id: `cr-${k}`, capacity: t.cap } }),
            },
          ]);
          const pods = cpus.map((c, i) => pod(`p${i}`, c, 1));
          const demand = { cpuMillis: cpus.reduce((a, c) => a + c, 0), memoryBytes: cpus.length };
          const r = computeLowerBound(offerings, [
            { pods: pods.length, demand, compatible: offerings.map((_, i) => i) },
          ]);
          const verified = verifyLowerBound(r.certificate, pods, () => offerings) as number;
          expect(verified).toBeGreaterThanOrEqual(r.lowerBoundPerHour * (1 - 1e-7) - 1e-15);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("verifyLowerBound with reservation penalties", () => {
  const od = offering("od", 1, 4, 100);
  const res = { ...offering("r", 1e-7, 4, 100), reservation: { id: "cr-1", capacity: 2 } };
  const pods = Array.from({ length: 5 }, (_, i) => pod(`p${i}`, 4, 0));
  const cert = (penalties: unknown) => ({
    resources: ["cpuMillis"],
    defaultRates: [0.25],
    rates: [],
    reservationPenalties: penalties,
  });

  test("a penalty lifts the reservation's rates and is paid per instance the catalog says is left", () => {
    expect(verifyLowerBound(cert({ "cr-1": 1 }), pods, () => [od, res])).toBeCloseTo(5 - 2, 9);
    // The catalog's capacity, not anything the certificate says, sets what is paid.
    const three = { ...res, reservation: { id: "cr-1", capacity: 3 } };
    expect(
      verifyLowerBound({ ...cert({ "cr-1": 1 }), caps: { "cr-1": 0 } }, pods, () => [od, three]),
    ).toBeCloseTo(5 - 3, 9);
  });

  test("penalties on offerings with no known cap, or negative or non-numeric ones, count as none", () => {
    const uncapped = { ...res, reservation: undefined };
    const none = verifyLowerBound(cert({}), pods, () => [od, res]) as number;
    expect(none).toBeCloseTo(5e-7, 12);
    expect(verifyLowerBound(cert({ "cr-1": 1 }), pods, () => [od, uncapped])).toBeCloseTo(none, 12);
    expect(verifyLowerBound(cert({ "cr-1": -5 }), pods, () => [od, res])).toBeCloseTo(none, 12);
    expect(verifyLowerBound(cert({ "cr-1": "9" }), pods, () => [od, res])).toBeCloseTo(none, 12);
    expect(verifyLowerBound(cert([1]), pods, () => [od, res])).toBeNull();
    expect(verifyLowerBound(cert("x"), pods, () => [od, res])).toBeNull();
  });

  test("any penalty and rates: never above the exact optimum (brute force)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.oneof(fc.constantFrom(0, 0.5, 1, 1.5, 3), fc.double({ min: 0, max: 3, noNaN: true })),
        fc.oneof(fc.constantFrom(0.1, 0.25, 0.5), fc.double({ min: 0, max: 1, noNaN: true })),
        (cpus, cap, mu, rate) => {
          const offerings = [od, { ...res, reservation: { id: "cr-1", capacity: cap } }];
          const ps = cpus.map((c, i) => pod(`q${i}`, c, 0));
          const v = verifyLowerBound(
            {
              resources: ["cpuMillis"],
              defaultRates: [rate],
              rates: [],
              reservationPenalties: { "cr-1": mu },
            },
            ps,
            () => offerings,
          );
          expect(v as number).toBeLessThanOrEqual(
            optimum(
              cpus,
              offerings.map((o) => o.reservation?.capacity),
            ) + 1e-9,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * Exact cheapest packing of one-dimensional `sizes` onto the 4-cpu offerings [on-demand at 1, reserved
 * at 1e-7 with `caps[1]` instances]: each pod is placed in an open bin or opens one.
 */
function optimum(sizes: readonly number[], caps: readonly (number | undefined)[]): number {
  const prices = [1, 1e-7];
  let best = Number.POSITIVE_INFINITY;
  const bins: { o: number; used: number }[] = [];
  const launches = [0, 0];
  const place = (i: number, cost: number) => {
    if (cost >= best) return;
    if (i === sizes.length) {
      best = cost;
      return;
    }
    const size = sizes[i] as number;
    for (const b of bins) {
      if (b.used + size > 4) continue;
      b.used += size;
      place(i + 1, cost);
      b.used -= size;
    }
    prices.forEach((price, o) => {
      if ((launches[o] as number) >= (caps[o] ?? Number.POSITIVE_INFINITY)) return;
      launches[o] = (launches[o] as number) + 1;
      bins.push({ o, used: size });
      place(i + 1, cost + price);
      bins.pop();
      launches[o] = (launches[o] as number) - 1;
    });
  };
  place(0, 0);
  return best;
}
