import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { type InstanceType, NodePoolSchema, type Offering, type Pod } from "../model.ts";
import type { Plan } from "../plan.ts";
import { createSolver, type Solver } from "../solver.ts";
import { validatePlan } from "../validate/validate-plan.ts";
import { LABEL_CAPACITY_RESERVATION_ID } from "../well-known-labels.ts";
import { instanceType, NOW, pod } from "./fixtures.test-helper.ts";
import type { ProvisioningInput } from "./input.ts";

/** `type` with extra offerings: capacity reservations (priced as the AWS provider does) and spot. */
function withOfferings(t: InstanceType, extra: Partial<Offering>[]): InstanceType {
  const onDemand = t.offerings[0]?.pricePerHour ?? 0;
  return {
    ...t,
    offerings: [
      ...t.offerings,
      ...extra.map((o) => ({
        zone: "zone-a",
        capacityType: "reserved" as const,
        pricePerHour: onDemand / 1e7,
        available: true,
        ...o,
      })),
    ],
  };
}

function input(pods: Pod[], instanceTypes: InstanceType[], pools = ["default"]): ProvisioningInput {
  return {
    pods,
    nodes: [],
    nodePools: pools.map((name) => NodePoolSchema.parse({ name })),
    instanceTypes,
    now: NOW,
  };
}

const reservationOf = (c: Plan["nodeClaims"][number]) => c.labels?.[LABEL_CAPACITY_RESERVATION_ID];

let solver: Solver;
beforeAll(async () => {
  solver = await createSolver();
});

describe("capacity reservations", () => {
  const m5 = () =>
    withOfferings(instanceType("m5.xlarge", 4, 16, 0.192), [
      { reservationId: "cr-1", reservationCapacity: 2 },
    ]);
  const pods = () => Array.from({ length: 5 }, (_, i) => pod(`p${i}`, 3500, 1));

  test("a reserved claim launches into its reservation only, names it and costs the reserved price", () => {
    const i = input(pods(), [m5()]);
    const plan = solver.provision(i);
    expect(validatePlan(i, plan).violations).toEqual([]);
    const reserved = plan.nodeClaims.filter((c) => c.capacityType === "reserved");
    expect(reserved).toHaveLength(2);
    for (const c of reserved) {
      expect(c).toMatchObject({
        instanceType: "m5.xlarge",
        instanceTypeOptions: ["m5.xlarge"],
        zone: "zone-a",
        pricePerHour: 0.192 / 1e7,
        worstPricePerHour: 0.192 / 1e7,
        labels: { [LABEL_CAPACITY_RESERVATION_ID]: "cr-1" },
      });
      expect(c.requirements).toContainEqual({
        key: "karpenter.sh/capacity-type",
        operator: "In",
        values: ["reserved"],
      });
      expect(c.requirements).toContainEqual({
        key: LABEL_CAPACITY_RESERVATION_ID,
        operator: "In",
        values: ["cr-1"],
      });
      expect(c.requirements).toContainEqual({
        key: "topology.kubernetes.io/zone",
        operator: "In",
        values: ["zone-a"],
      });
    }
    // The others are on-demand claims that do not list the reservation.
    const rest = plan.nodeClaims.filter((c) => c.capacityType !== "reserved");
    expect(rest).toHaveLength(3);
    for (const c of rest) {
      expect(reservationOf(c)).toBeUndefined();
      expect(c.requirements.find((r) => r.key === "karpenter.sh/capacity-type")?.values).toEqual([
        "on-demand",
      ]);
    }
    expect(plan.cost.newPerHour).toBeCloseTo(3 * 0.192 + 2 * 0.192e-7, 12);
    expect(plan.cost.lowerBoundPerHour).toBeLessThanOrEqual(plan.cost.newPerHour);
  });

  test("the validator counts launches per reservation and checks a reserved claim's offering", () => {
    const i = input(pods(), [m5()]);
    const plan = solver.provision(i);
    const reserved = plan.nodeClaims.find((c) => c.capacityType === "reserved");
    if (reserved === undefined) throw new Error("expected a reserved claim");
    // A third launch into a reservation of 2.
    const third = { ...reserved, name: "extra", pods: [] };
    const over = validatePlan(i, { ...plan, nodeClaims: [...plan.nodeClaims, third] });
    expect(over.violations).toContainEqual({
      rule: "reservation",
      message: "reservation cr-1 launched 3 times, 2 instances left",
    });
    // A reserved claim in a zone without the reservation.
    const elsewhere = plan.nodeClaims.map((c) => (c === reserved ? { ...c, zone: "zone-b" } : c));
    expect(validatePlan(i, { ...plan, nodeClaims: elsewhere }).violations).toContainEqual(
      expect.objectContaining({ rule: "reservation", node: reserved.name }),
    );
    // The reservation used up since: capacity 0 is no offering at all.
    const used = input(pods(), [
      withOfferings(instanceType("m5.xlarge", 4, 16, 0.192), [
        { reservationId: "cr-1", reservationCapacity: 0 },
      ]),
    ]);
    expect(validatePlan(used, plan).violations.map((v) => v.rule)).toContain("reservation");
  });

  test("a reserved-only NodePool whose reservation is used up leaves the rest pending, without a made-up limit", () => {
    const i: ProvisioningInput = {
      ...input([pod("a", 3500, 1), pod("b", 3500, 1)], [m5()]),
      nodePools: [
        NodePoolSchema.parse({
          name: "reserved-only",
          template: {
            requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["reserved"] }],
          },
        }),
      ],
    };
    const one = { ...i, pods: [...i.pods, pod("c", 3500, 1)] };
    const plan = solver.provision(one);
    expect(validatePlan(one, plan).violations).toEqual([]);
    expect(plan.nodeClaims.map(reservationOf)).toEqual(["cr-1", "cr-1"]);
    expect(plan.unschedulable).toEqual([
      {
        pod: "default/c",
        reason: { code: "no_available_offering", nodePool: "reserved-only" },
        message: "no available offering in NodePool reserved-only",
      },
    ]);
  });

  test("a spot option priced above the claim's cheapest on-demand option is dropped, per offering", () => {
    // Both fit the pod. small: on-demand 0.1 in zones a and b, spot 0.05 in zone-a. large: spot 0.3 in
    // zone-c only, dearer than small's on-demand, so zone-c is no launch option.
    const small = withOfferings(instanceType("small", 4, 8, 0.1), [
      { capacityType: "spot", pricePerHour: 0.05 },
    ]);
    const large = withOfferings(instanceType("large", 8, 16, 0.4), [
      { capacityType: "spot", zone: "zone-c", pricePerHour: 0.3 },
    ]);
    const i = input([pod("a", 3000, 1)], [small, large]);
    const plan = solver.provision(i);
    expect(validatePlan(i, plan).violations).toEqual([]);
    const [claim] = plan.nodeClaims;
    expect(claim).toMatchObject({
      capacityType: "spot",
      instanceTypeOptions: ["small", "large"],
      worstPricePerHour: 0.4,
    });
    expect(claim?.requirements).toContainEqual({
      key: "topology.kubernetes.io/zone",
      operator: "In",
      values: ["zone-a", "zone-b"],
    });
  });

  test("random reservations, shared across NodePools: never over-launched, every plan valid", () => {
    const arb = fc.record({
      caps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
      pods: fc.array(fc.record({ cpu: fc.integer({ min: 1, max: 7 }), n: fc.integer({ min: 1, max: 6 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      pools: fc.integer({ min: 1, max: 2 }),
      spot: fc.boolean(),
    });
    let reservedLaunches = 0;
    fc.assert(
      fc.property(arb, ({ caps, pods, pools, spot }) => {
        // Reservation r is of type r % 3, in zone-b for r = 1 and zone-a otherwise.
        const types = [
          instanceType("m5.large", 2, 8, 0.096),
          instanceType("m5.xlarge", 4, 16, 0.192),
          instanceType("m5.2xlarge", 8, 32, 0.384),
        ].map((t, k) =>
          withOfferings(t, [
            ...caps.flatMap((cap, r) =>
              r % 3 === k
                ? [
                    {
                      reservationId: `cr-${r}`,
                      reservationCapacity: cap,
                      zone: r === 1 ? "zone-b" : "zone-a",
                    },
                  ]
                : [],
            ),
            ...(spot
              ? [{ capacityType: "spot" as const, pricePerHour: (t.offerings[0]?.pricePerHour ?? 0) * 0.5 }]
              : []),
          ]),
        );
        const all = pods.flatMap((p, g) =>
          Array.from({ length: p.n }, (_, j) => pod(`g${g}-${j}`, p.cpu * 1000 - 500, 1)),
        );
        const i = input(all, types, ["a", "b"].slice(0, pools));
        const plan = solver.provision(i);
        expect(validatePlan(i, plan).violations).toEqual([]);
        expect(plan.unschedulable).toEqual([]);
        const launches = new Map<string, number>();
        for (const c of plan.nodeClaims) {
          const id = reservationOf(c);
          expect(id !== undefined).toBe(c.capacityType === "reserved");
          if (id !== undefined) launches.set(id, (launches.get(id) ?? 0) + 1);
          if (id !== undefined) reservedLaunches++;
        }
        caps.forEach((cap, r) => {
          expect(launches.get(`cr-${r}`) ?? 0).toBeLessThanOrEqual(cap);
        });
        expect(plan.cost.lowerBoundPerHour).toBeLessThanOrEqual(plan.cost.newPerHour * (1 + 1e-9));
      }),
      { numRuns: 60, seed: 7 },
    );
    // The runs did launch into reservations, not only around them.
    expect(reservedLaunches).toBeGreaterThan(20);
  });
});

describe("the lower bound with capacity reservations", () => {
  test("golden reservation-shared-pools: the bound counts the cap (0.432 against 0.576, was 1e-7)", () => {
    const type = withOfferings(
      instanceType("m5.xlarge", 4, 16, 0.192, { zones: ["zone-a", "zone-b", "zone-c"] }),
      [{ reservationId: "cr-shared", reservationCapacity: 3, zone: "zone-b" }],
    );
    const team = (t: string) => ({ nodeSelector: { team: t } });
    const i: ProvisioningInput = {
      ...input(
        ["alpha", "beta"].flatMap((t) =>
          Array.from({ length: 3 }, (_, k) => pod(`${t}-${k}`, 3500, 1, team(t))),
        ),
        [type],
      ),
      nodePools: ["alpha", "beta"].map((name) =>
        NodePoolSchema.parse({ name, template: { labels: { team: name } } }),
      ),
    };
    const plan = solver.provision(i);
    const v = validatePlan(i, plan);
    expect(v.violations).toEqual([]);
    expect(plan.cost.newPerHour).toBeCloseTo(3 * 0.192, 6);
    // 21 cpu of 4-cpu nodes at 0.192 (1.008), less 3 reservation instances worth 0.192 each.
    expect(plan.cost.lowerBoundPerHour).toBeCloseTo(0.432, 6);
    expect(v.verifiedLowerBoundPerHour).toBeCloseTo(0.432, 6);
    expect(plan.lowerBound.method).toBe("lp-covering-by-compatibility-reservation-caps");
    expect(plan.lowerBound.certificate).toMatchObject({
      reservationPenalties: { "cr-shared": expect.closeTo(0.192, 6) },
    });
    // Caps come from the catalog: had the reservation 5 instances left, the same certificate proves less.
    const five: ProvisioningInput = {
      ...i,
      instanceTypes: [
        {
          ...type,
          offerings: type.offerings.map((o) => (o.reservationId ? { ...o, reservationCapacity: 5 } : o)),
        },
      ],
    };
    expect(validatePlan(five, plan).verifiedLowerBoundPerHour).toBeCloseTo(1.008 - 5 * 0.192, 6);
    expect(validatePlan(five, plan).violations.map((x) => x.rule)).toEqual(["lower_bound"]);
    // A certificate that lies about the penalty proves less, whatever the lie.
    const cert = plan.lowerBound.certificate as { reservationPenalties: Record<string, number> };
    for (const mu of [0, 0.1, 0.3, 10]) {
      const lied = {
        ...plan,
        lowerBound: {
          ...plan.lowerBound,
          certificate: { ...cert, reservationPenalties: { "cr-shared": mu } },
        },
      };
      expect(validatePlan(i, lied).verifiedLowerBoundPerHour).toBeLessThanOrEqual(0.432 + 1e-9);
    }
  });

  test("random small catalogs with reservations: the claimed bound is verified, below the exact optimum, and no tampered certificate proves more", () => {
    const arb = fc.record({
      types: fc.array(
        fc.record({
          cpu: fc.constantFrom(2, 4, 8),
          priceFactor: fc.integer({ min: 80, max: 120 }),
          cap: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
          spot: fc.boolean(),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      pods: fc.array(fc.record({ size: fc.integer({ min: 1, max: 19 }), toB: fc.boolean() }), {
        minLength: 1,
        maxLength: 5,
      }),
      pools: fc.integer({ min: 1, max: 2 }),
      tamper: fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: 3, maxLength: 3 }),
    });
    let capped = 0;
    fc.assert(
      fc.property(arb, ({ types, pods: shapes, pools, tamper }) => {
        const its = types.map((t, k) => {
          const price = (t.cpu * 0.05 * t.priceFactor) / 100;
          return withOfferings(instanceType(`t${k}`, t.cpu, 32, price, { zones: ["zone-a"] }), [
            ...(t.cap === undefined ? [] : [{ reservationId: `cr-${k}`, reservationCapacity: t.cap }]),
            ...(t.spot ? [{ capacityType: "spot" as const, pricePerHour: price * 0.5 }] : []),
          ]);
        });
        const maxCpu = Math.max(...types.map((t) => t.cpu));
        const cpus = shapes.map((s) => Math.min(s.size * 400, maxCpu * 1000 - 100));
        // With two NodePools (alike but for a label), pods may select the second: classes of their own.
        const i: ProvisioningInput = {
          ...input(
            cpus.map((c, k) =>
              pod(`p${k}`, c, 1, pools === 2 && shapes[k]?.toB ? { nodeSelector: { team: "b" } } : {}),
            ),
            its,
          ),
          nodePools: ["a", "b"]
            .slice(0, pools)
            .map((name) => NodePoolSchema.parse({ name, template: { labels: { team: name } } })),
        };
        const plan = solver.provision(i);
        const v = validatePlan(i, plan);
        expect(v.violations).toEqual([]);
        expect(plan.unschedulable).toEqual([]);
        const best = exactOptimum(cpus, its);
        expect(plan.cost.lowerBoundPerHour).toBeLessThanOrEqual(best * (1 + 1e-9) + 1e-12);
        expect(v.verifiedLowerBoundPerHour).toBeLessThanOrEqual(best * (1 + 1e-9) + 1e-12);
        expect(plan.cost.newPerHour).toBeGreaterThanOrEqual(best * (1 - 1e-9));
        const cert = plan.lowerBound.certificate as {
          defaultRates?: number[];
          reservationPenalties?: Record<string, number>;
        };
        if (cert.reservationPenalties === undefined) return;
        capped++;
        // Tampered: penalties scaled, raised or dropped, rates scaled: never above the optimum.
        const [f, g, h] = tamper as [number, number, number];
        const scale = (by: (mu: number) => number) =>
          Object.fromEntries(Object.entries(cert.reservationPenalties ?? {}).map(([id, mu]) => [id, by(mu)]));
        for (const tampered of [
          { ...cert, reservationPenalties: scale((mu) => mu * f) },
          { ...cert, reservationPenalties: scale((mu) => mu + g) },
          { ...cert, reservationPenalties: {} },
          {
            ...cert,
            defaultRates: cert.defaultRates?.map((r) => r * h),
            reservationPenalties: scale((mu) => mu * h),
          },
        ]) {
          const lied = { ...plan, lowerBound: { ...plan.lowerBound, certificate: tampered } };
          expect(validatePlan(i, lied).verifiedLowerBoundPerHour).toBeLessThanOrEqual(
            best * (1 + 1e-9) + 1e-12,
          );
        }
      }),
      { numRuns: 150, seed: 11 },
    );
    // The capped bound was the one claimed in a good share of the runs.
    expect(capped).toBeGreaterThan(30);
  });
});

/**
 * The cheapest way to pack pods of `cpus` millicores (1 GiB each) onto `types`' offerings (zone-a), each
 * reservation launching at most its capacity: every pod goes into an open node or opens one. (NodePools
 * alike but for a label change nothing: any packing can use the one every pod may select.)
 */
function exactOptimum(cpus: readonly number[], types: readonly InstanceType[]): number {
  const offerings = types.flatMap((t) =>
    t.offerings
      .filter((o) => o.available && o.reservationCapacity !== 0)
      .map((o) => ({
        cpu: t.allocatable.cpuMillis ?? 0,
        price: o.pricePerHour,
        id: o.reservationId,
        cap: o.reservationCapacity,
      })),
  );
  const launches = new Map<string, number>();
  const nodes: { cpu: number; used: number }[] = [];
  let best = Number.POSITIVE_INFINITY;
  const place = (k: number, cost: number) => {
    if (cost >= best) return;
    if (k === cpus.length) {
      best = cost;
      return;
    }
    const c = cpus[k] as number;
    for (const n of nodes) {
      if (n.used + c > n.cpu) continue;
      n.used += c;
      place(k + 1, cost);
      n.used -= c;
    }
    for (const o of offerings) {
      if (c > o.cpu) continue;
      const used = o.id === undefined ? 0 : (launches.get(o.id) ?? 0);
      if (o.cap !== undefined && used >= o.cap) continue;
      if (o.id !== undefined) launches.set(o.id, used + 1);
      nodes.push({ cpu: o.cpu, used: c });
      place(k + 1, cost + o.price);
      nodes.pop();
      if (o.id !== undefined) launches.set(o.id, used);
    }
  };
  place(0, 0);
  return best;
}
