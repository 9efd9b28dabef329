import { beforeAll, describe, expect, test } from "vitest";
import {
  costsOfNode,
  NODE_FEE_ANNOTATION,
  nodePoolFeePerHour,
  offeringCosts,
  sumCosts,
  totalPerHour,
  withNodeCosts,
  withNodePoolFee,
  ZERO_COSTS,
} from "./costs.ts";
import { type InstanceType, NodePoolSchema, NodeSchema, OfferingSchema } from "./model.ts";
import { GiB, instanceType, NOW, pod } from "./provisioning/fixtures.test-helper.ts";
import type { ProvisioningInput } from "./provisioning/input.ts";
import { createSolver, type Solver } from "./solver.ts";
import { validatePlan } from "./validate/validate-plan.ts";

let solver: Solver;
beforeAll(async () => {
  solver = await createSolver();
});

describe("per-node costs folded into offering prices", () => {
  test("withNodeCosts raises each price and records the split; the schema checks the sum", () => {
    const [t] = withNodeCosts([instanceType("m", 2, 8, 0.1)], (_, o) =>
      o.zone === "zone-a" ? { storagePerHour: 0.002, feesPerHour: 0.01 } : { networkPerHour: 0.005 },
    );
    expect(t?.offerings[0]?.pricePerHour).toBeCloseTo(0.112, 12);
    expect(t?.offerings[1]?.pricePerHour).toBeCloseTo(0.105, 12);
    expect(t?.offerings[0]?.costs).toEqual({
      ...ZERO_COSTS,
      instancePerHour: 0.1,
      storagePerHour: 0.002,
      feesPerHour: 0.01,
    });
    for (const o of t?.offerings ?? []) {
      expect(OfferingSchema.safeParse(o).success).toBe(true);
      expect(totalPerHour(offeringCosts(o))).toBeCloseTo(o.pricePerHour, 12);
    }
    const wrong = { ...(t?.offerings[0] as object), pricePerHour: 0.2 };
    expect(OfferingSchema.safeParse(wrong).error?.issues[0]).toMatchObject({
      path: ["costs"],
      message: "costs must sum to pricePerHour",
    });
    expect(() => withNodeCosts([instanceType("m", 2, 8, 0.1)], () => ({ storagePerHour: -1 }))).toThrow(
      /m: per-node storagePerHour must be a non-negative amount/,
    );
  });

  test("a NodePool's fee annotation: validated at the edge, folded by withNodePoolFee", () => {
    const pool = NodePoolSchema.parse({ name: "p", annotations: { [NODE_FEE_ANNOTATION]: "0.025" } });
    expect(nodePoolFeePerHour(pool)).toBe(0.025);
    expect(nodePoolFeePerHour(NodePoolSchema.parse({ name: "q" }), 0.5)).toBe(0.5);
    const [t] = withNodePoolFee([instanceType("m", 2, 8, 0.1)], pool);
    expect(t?.offerings[0]?.costs?.feesPerHour).toBe(0.025);
    const bad = NodePoolSchema.safeParse({ name: "p", annotations: { [NODE_FEE_ANNOTATION]: "$1" } });
    expect(bad.error?.issues[0]).toMatchObject({
      path: ["annotations", NODE_FEE_ANNOTATION],
      message: expect.stringContaining('"$1" is not an amount in dollars per hour'),
    });
  });

  test("costsOfNode: the node's catalog offering split, else its price as the instance's; always its price", () => {
    const [t] = withNodeCosts([instanceType("m", 2, 8, 0.1)], () => ({ storagePerHour: 0.002 }));
    const types = new Map([["m", t as InstanceType]]);
    const node = (extra: Record<string, unknown>) =>
      NodeSchema.parse({
        name: "n",
        allocatable: {},
        createdAt: NOW,
        instanceType: "m",
        zone: "zone-a",
        ...extra,
      });
    expect(costsOfNode(node({}), types)).toEqual({
      ...ZERO_COSTS,
      instancePerHour: 0.1,
      storagePerHour: 0.002,
    });
    expect(costsOfNode(node({ pricePerHour: 0.102 }), types).storagePerHour).toBe(0.002);
    expect(costsOfNode(node({ pricePerHour: 0.3 }), types)).toEqual({ ...ZERO_COSTS, instancePerHour: 0.3 });
    expect(costsOfNode(node({ instanceType: "unknown" }), types)).toEqual(ZERO_COSTS);
  });
});

describe("plans carry the breakdown", () => {
  test("every claim's costs and the plan's current and new totals add up to the $/h figures", () => {
    const types = withNodeCosts([instanceType("small", 2, 4, 0.1), instanceType("big", 8, 16, 0.38)], () => ({
      storagePerHour: 0.0022,
      networkPerHour: 0.005,
    }));
    const existing = NodeSchema.parse({
      name: "old",
      allocatable: { cpuMillis: 100, memoryBytes: GiB, pods: 10 },
      createdAt: NOW,
      instanceType: "small",
      zone: "zone-a",
      capacityType: "on-demand",
      pricePerHour: 0.1072,
      nodePool: "default",
    });
    const input: ProvisioningInput = {
      pods: Array.from({ length: 6 }, (_, i) => pod(`p${i}`, 1000, 1)),
      nodes: [existing],
      nodePools: [NodePoolSchema.parse({ name: "default" })],
      instanceTypes: types,
      now: NOW,
    };
    const plan = solver.provision(input);
    expect(validatePlan(input, plan).violations).toEqual([]);
    for (const c of plan.nodeClaims)
      expect(totalPerHour(c.costs ?? ZERO_COSTS)).toBeCloseTo(c.pricePerHour, 12);
    const breakdown = plan.cost.breakdown;
    expect(breakdown?.new.storagePerHour).toBeCloseTo(0.0022 * plan.nodeClaims.length, 12);
    expect(breakdown?.new.networkPerHour).toBeCloseTo(0.005 * plan.nodeClaims.length, 12);
    expect(totalPerHour(breakdown?.new ?? ZERO_COSTS)).toBeCloseTo(plan.cost.newPerHour, 12);
    expect(breakdown?.current).toEqual({
      ...ZERO_COSTS,
      instancePerHour: 0.1,
      storagePerHour: 0.0022,
      networkPerHour: 0.005,
    });
    expect(sumCosts([breakdown?.current ?? ZERO_COSTS, breakdown?.new ?? ZERO_COSTS]).feesPerHour).toBe(0);
    expect(totalPerHour(breakdown?.current ?? ZERO_COSTS)).toBeCloseTo(plan.cost.currentPerHour, 12);
  });
});

describe("disruption plans carry the breakdown", () => {
  test("current and after split every node's price; replacements priced with their per-node costs", async () => {
    const { catalog, node, pod, pool, NOW: at } = await import("./disruption/fixtures.test-helper.ts");
    const types = withNodeCosts(catalog, () => ({ storagePerHour: 0.002 }));
    const byName = new Map(types.map((t) => [t.name, t]));
    // Two half-used large nodes: nodeplan replaces them with one large (or keeps one), and deletes the rest.
    const priced = (name: string) => {
      const n = node(name, "large");
      return { ...n, pricePerHour: byName.get("large")?.offerings[0]?.pricePerHour };
    };
    const nodes = [priced("a"), priced("b"), priced("c")];
    const pods = [pod("a", 2000), pod("b", 2000), pod("c", 2000)];
    const plan = solver.planDisruption({ nodes, pods, nodePools: [pool()], instanceTypes: types, now: at });
    expect(plan.commands.length).toBeGreaterThan(0);
    const b = plan.cost.breakdown;
    expect(totalPerHour(b?.current ?? ZERO_COSTS)).toBeCloseTo(plan.cost.currentPerHour, 12);
    expect(totalPerHour(b?.after ?? ZERO_COSTS)).toBeCloseTo(plan.cost.afterPerHour, 12);
    expect(b?.current.storagePerHour).toBeCloseTo(0.006, 12);
    expect(b?.after.storagePerHour).toBeLessThan(0.006);
    expect(b?.after.storagePerHour).toBeGreaterThan(0);
  });
});

describe("the solver's boundary check knows the cost fields", () => {
  test("a split that does not sum to the price, a bad fee annotation, a non-boolean exotic are reported", () => {
    const good = instanceType("m", 2, 8, 0.1);
    const badSum = {
      ...instanceType("bad-sum", 2, 8, 0.1),
      offerings: [
        {
          zone: "zone-a",
          capacityType: "on-demand" as const,
          pricePerHour: 0.1,
          available: true,
          costs: { ...ZERO_COSTS, instancePerHour: 0.1, storagePerHour: 0.01 },
        },
      ],
    };
    const badExotic = { ...instanceType("bad-exotic", 2, 8, 0.1), exotic: "yes" as unknown as boolean };
    const pool = NodePoolSchema.parse({ name: "default" });
    const feePool = {
      ...NodePoolSchema.parse({ name: "fee" }),
      annotations: { [NODE_FEE_ANNOTATION]: "lots" },
    };
    const plan = solver.provision({
      pods: [pod("p", 1000, 1)],
      nodes: [],
      nodePools: [pool, feePool],
      instanceTypes: [good, badSum, badExotic],
      now: NOW,
    });
    const paths = plan.errors.map((e) => e.path);
    expect(paths).toContain("instanceTypes[1].offerings[0].costs");
    expect(paths).toContain("instanceTypes[2].exotic");
    expect(paths).toContain(`nodePools[1].annotations["${NODE_FEE_ANNOTATION}"]`);
    // What is sound is still planned.
    expect(plan.nodeClaims.map((c) => c.instanceType)).toEqual(["m"]);
  });
});
