import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { type InstanceType, type Node, type NodePool, NodePoolSchema, type Pod } from "../model.ts";
import { createSolver, type Solver } from "../solver.ts";
import { validatePlan } from "../validate/validate-plan.ts";
import { GiB, instanceType, NOW, pod, spreadBy } from "./fixtures.test-helper.ts";
import type { ProvisioningInput } from "./input.ts";

const type = instanceType;

const pool = (name: string, extra: Record<string, unknown> = {}): NodePool =>
  NodePoolSchema.parse({ name, ...extra });

const catalog = [type("small", 2, 4, 0.1), type("medium", 4, 8, 0.19), type("large", 8, 16, 0.4)];

function input(pods: Pod[], extra: Partial<ProvisioningInput> = {}): ProvisioningInput {
  return { pods, nodes: [], nodePools: [pool("default")], instanceTypes: catalog, now: NOW, ...extra };
}

let solver: Solver;
beforeAll(async () => {
  solver = await createSolver();
});

describe("provision", () => {
  test("packs pods onto the cheapest mix and proves a bound", () => {
    const pods = [pod("a", 1000, 1), pod("b", 1000, 1), pod("c", 1000, 1)];
    const i = input(pods);
    const plan = solver.provision(i);
    expect(plan.unschedulable).toEqual([]);
    expect(plan.placements).toHaveLength(3);
    // 3 cpu: one medium (0.19) beats small + small (0.2) and large (0.4).
    expect(plan.nodeClaims.map((c) => c.instanceType)).toEqual(["medium"]);
    expect(plan.nodeClaims[0]?.name).toBe("default-0");
    expect(plan.cost.newPerHour).toBeCloseTo(0.19, 9);
    expect(plan.cost.lowerBoundPerHour).toBeGreaterThan(0);
    expect(plan.cost.lowerBoundPerHour).toBeLessThanOrEqual(plan.cost.newPerHour + 1e-12);
    const v = validatePlan(i, plan);
    expect(v.violations).toEqual([]);
    expect(v.verifiedLowerBoundPerHour).toBeGreaterThanOrEqual(plan.cost.lowerBoundPerHour * (1 - 1e-9));
  });

  test("lists instance type options cheapest first with the worst launch price", () => {
    const plan = solver.provision(input([pod("a", 1500, 1)]));
    const claim = plan.nodeClaims[0];
    expect(claim?.instanceTypeOptions).toEqual(["small", "medium", "large"]);
    expect(claim?.worstPricePerHour).toBe(0.4);
    expect(claim?.requirements).toContainEqual({
      key: "node.kubernetes.io/instance-type",
      operator: "In",
      values: ["small", "medium", "large"],
    });
    expect(claim?.requirements).toContainEqual({
      key: "topology.kubernetes.io/zone",
      operator: "In",
      values: ["zone-a", "zone-b"],
    });
  });

  test("an existing node with room gets the pod before any new claim", () => {
    const node: Node = {
      name: "node-1",
      labels: { "kubernetes.io/arch": "amd64" },
      annotations: {},
      taints: [],
      capacity: { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 110 },
      allocatable: { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 110 },
      createdAt: NOW,
      initialized: true,
      ready: true,
      deleting: false,
      unschedulable: false,
      inFlight: false,
      pricePerHour: 0.19,
    };
    const i = input([pod("a", 1000, 1)], { nodes: [node] });
    const plan = solver.provision(i);
    expect(plan.placements).toEqual([{ pod: "default/a", node: "node-1" }]);
    expect(plan.nodeClaims).toEqual([]);
    expect(plan.cost.currentPerHour).toBe(0.19);
    expect(validatePlan(i, plan).violations).toEqual([]);
  });

  test("a taint without toleration is named in the reason", () => {
    const tainted = pool("gpu", {
      template: { taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }] },
    });
    const plan = solver.provision(input([pod("a", 100, 1)], { nodePools: [tainted] }));
    expect(plan.unschedulable).toHaveLength(1);
    expect(plan.unschedulable[0]?.reason).toEqual({
      code: "no_nodepool_tolerates_taint",
      taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule", nodePool: "gpu" }],
    });
    expect(plan.unschedulable[0]?.message).toContain("nvidia.com/gpu=true:NoSchedule");
  });

  test("a resource no instance type offers is named", () => {
    const gpuPod = pod("g", 100, 1, {
      requests: { cpuMillis: 100, memoryBytes: GiB, pods: 1, "nvidia.com/gpu": 1 },
    });
    const plan = solver.provision(input([gpuPod]));
    expect(plan.unschedulable[0]?.reason).toMatchObject({
      code: "no_instance_type_has_resource",
      resource: "nvidia.com/gpu",
      requested: 1,
    });
  });

  test("a pod larger than every type is too large", () => {
    const plan = solver.provision(input([pod("huge", 64_000, 1)]));
    expect(plan.unschedulable[0]?.reason).toMatchObject({ code: "too_large_for_any_type", largest: "large" });
  });

  test("a requirement conflict names the key", () => {
    const armPod = pod("arm", 100, 1, { nodeSelector: { "kubernetes.io/arch": "arm64" } });
    const plan = solver.provision(input([armPod]));
    expect(plan.unschedulable[0]?.reason).toMatchObject({
      code: "requirement_conflict",
      key: "kubernetes.io/arch",
    });
  });

  test("NodePool limits are never exceeded", () => {
    const limited = pool("default", { limits: { cpuMillis: 8000 } });
    const pods = Array.from({ length: 12 }, (_, k) => pod(`p${k}`, 1000, 1));
    const i = input(pods, { nodePools: [limited] });
    const plan = solver.provision(i);
    expect(plan.unschedulable.length).toBeGreaterThan(0);
    expect(plan.unschedulable[0]?.reason).toMatchObject({
      code: "nodepool_limit_reached",
      nodePool: "default",
      resource: "cpuMillis",
    });
    expect(validatePlan(i, plan).violations).toEqual([]);
  });

  test("a heavier NodePool wins even when pricier", () => {
    const cheap = pool("cheap", { weight: 10 });
    const preferred = pool("preferred", { weight: 100 });
    const plan = solver.provision(
      input([pod("a", 1000, 1)], {
        nodePools: [cheap, preferred],
        instanceTypes: { cheap: [type("small", 2, 4, 0.01)], preferred: [type("small", 2, 4, 0.5)] },
      }),
    );
    expect(plan.nodeClaims.map((c) => c.nodePool)).toEqual(["preferred"]);
  });

  test("DaemonSet overhead is reserved on new nodes", () => {
    const ds = {
      namespace: "kube-system",
      name: "agent",
      labels: {},
      requests: { cpuMillis: 1500, memoryBytes: GiB, pods: 1 },
      nodeSelector: {},
      requiredNodeAffinity: [],
      tolerations: [],
      priority: 0,
    };
    const i = input([pod("a", 1000, 1)], { daemonSets: [ds] });
    const plan = solver.provision(i);
    // 1 cpu + 1.5 cpu overhead does not fit small (2 cpu).
    expect(plan.nodeClaims[0]?.instanceType).toBe("medium");
    expect(plan.nodeClaims[0]?.daemonSetOverhead).toMatchObject({ cpuMillis: 1500 });
    expect(validatePlan(i, plan).violations).toEqual([]);
  });
});

describe("provision properties", () => {
  const arbitraryInput = fc
    .record({
      pods: fc.array(
        fc.record({
          cpu: fc.constantFrom(100, 250, 500, 1000, 1500, 3000),
          mem: fc.constantFrom(0.25, 0.5, 1, 2, 4),
          arch: fc.constantFrom(undefined, "amd64", "arm64"),
          zone: fc.constantFrom(undefined, "zone-a", "zone-b"),
        }),
        { minLength: 0, maxLength: 60 },
      ),
      types: fc.array(
        fc.record({
          cpu: fc.constantFrom(1, 2, 4, 8, 16),
          memFactor: fc.constantFrom(1, 2, 4, 8),
          price: fc.integer({ min: 1, max: 500 }),
          arm: fc.boolean(),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      cpuLimit: fc.option(fc.integer({ min: 2, max: 64 }), { nil: undefined }),
    })
    .map(({ pods, types, cpuLimit }) => {
      const instanceTypes = types.map((t, k) => {
        const it = type(`t${k}`, t.cpu, t.cpu * t.memFactor, t.price / 100);
        it.labels["kubernetes.io/arch"] = t.arm ? "arm64" : "amd64";
        return it;
      });
      const p = pods.map((x, k) => {
        const nodeSelector: Record<string, string> = {};
        if (x.arch !== undefined) nodeSelector["kubernetes.io/arch"] = x.arch;
        if (x.zone !== undefined) nodeSelector["topology.kubernetes.io/zone"] = x.zone;
        return pod(`p${k}`, x.cpu, x.mem, { nodeSelector });
      });
      const limits = cpuLimit === undefined ? {} : { cpuMillis: cpuLimit * 1000 };
      return input(p, { instanceTypes, nodePools: [pool("default", { limits })] });
    });

  test("every plan validates and its bound is proven and below its cost", () => {
    fc.assert(
      fc.property(arbitraryInput, (i) => {
        const plan = solver.provision(i);
        const v = validatePlan(i, plan);
        expect(v.violations).toEqual([]);
        expect(plan.cost.lowerBoundPerHour).toBeLessThanOrEqual(plan.cost.newPerHour * (1 + 1e-9) + 1e-12);
      }),
      { numRuns: 150 },
    );
  });

  test("same input in any order gives the same plan, byte for byte", () => {
    fc.assert(
      fc.property(arbitraryInput, fc.integer(), (i, seed) => {
        const shuffled = {
          ...i,
          pods: shuffle(i.pods, seed),
          instanceTypes: shuffle(i.instanceTypes as InstanceType[], seed + 1),
        };
        expect(JSON.stringify(solver.provision(shuffled))).toBe(JSON.stringify(solver.provision(i)));
      }),
      { numRuns: 60 },
    );
  });
});

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let k = out.length - 1; k > 0; k--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (k + 1);
    [out[k], out[j]] = [out[j] as T, out[k] as T];
  }
  return out;
}

describe("self-affine hostname sets and hostname spread", () => {
  const hostname = "kubernetes.io/hostname";
  const together = (name: string, app: string, extra = {}) =>
    pod(name, 100, 1, {
      labels: { app, tier: "x" },
      podAffinity: { required: [{ topologyKey: hostname, labelSelector: { matchLabels: { app } } }] },
      ...extra,
    });
  const spread = (maxSkew: number) => spreadBy(hostname, { matchLabels: { tier: "x" } }, { maxSkew });

  test("a set counted by a spread keeps its node within maxSkew, with no warning", async () => {
    const s = await createSolver();
    // Bootstrapping self-affinity is enforced (the set is packed on one node): nothing to warn.
    expect(s.provision(input([together("t", "t"), pod("plain", 100, 1)])).warnings).toEqual([]);
    // Three of the set carry maxSkew 3 and count themselves: their node takes no other tier=x pod.
    const carriers = [0, 1, 2].map((i) => together(`t${i}`, "t", spread(3)));
    const others = [0, 1, 2].map((i) => pod(`o${i}`, 100, 1, { labels: { tier: "x" } }));
    const plan = s.provision(input([...carriers, ...others]));
    expect(plan.warnings).toEqual([]);
    expect(validatePlan(input([...carriers, ...others]), plan).violations).toEqual([]);
    const home = plan.nodeClaims.find((c) => c.pods.includes("default/t0"));
    expect(home?.pods.sort()).toEqual(["default/t0", "default/t1", "default/t2"]);
  });

  test("a set's bound values each member in its own class, as the verifier does", async () => {
    const s = await createSolver();
    const amd = instanceType("amd", 4, 16, 0.2);
    const armType = instanceType("arm", 4, 16, 0.05);
    const arm = { ...armType, labels: { ...armType.labels, "kubernetes.io/arch": "arm64" } };
    // The first member (Karpenter order) needs amd64; the second could run on the cheaper arm64 type.
    const pods = [
      together("p1", "t", { nodeSelector: { "kubernetes.io/arch": "amd64" } }),
      pod("p2", 500, 1, {
        labels: { app: "t", tier: "x" },
        podAffinity: {
          required: [{ topologyKey: hostname, labelSelector: { matchLabels: { app: "t" } } }],
        },
      }),
    ];
    pods[0] = { ...(pods[0] as Pod), requests: { cpuMillis: 1000, memoryBytes: GiB, pods: 1 } };
    const problem = input(pods, { instanceTypes: [amd, arm] });
    const plan = s.provision(problem);
    expect(plan.nodeClaims.map((c) => [c.instanceType, c.pods.length])).toEqual([["amd", 2]]);
    const verdict = validatePlan(problem, plan);
    expect(verdict.violations).toEqual([]);
    expect(plan.cost.lowerBoundPerHour).toBeLessThanOrEqual(verdict.verifiedLowerBoundPerHour + 1e-12);
  });

  test("two sets counted by one spread are reported as not enforced, never silently dropped", async () => {
    const s = await createSolver();
    const pods = [
      together("a0", "a"),
      together("a1", "a"),
      together("b0", "b"),
      together("b1", "b"),
      pod("c", 100, 1, { labels: { app: "c" }, ...spread(3) }),
    ];
    const plan = s.provision(input(pods));
    expect(plan.warnings).toEqual([
      {
        code: "constraint_not_enforced",
        message: expect.stringContaining("share a hostname topology spread with another such set"),
      },
    ]);
  });
});

describe("NodePool limits charged with each claim's largest option (Karpenter's accounting)", () => {
  test("options are cut so a limited pool still takes one claim per zone instead of relaxing the spread", async () => {
    const s = await createSolver();
    const zones = ["zone-a", "zone-b", "zone-c"];
    const types = [
      instanceType("small", 2, 4, 0.1, { zones }),
      instanceType("medium", 8, 16, 0.4, { zones }),
      instanceType("huge", 96, 192, 4.8, { zones }),
    ];
    const spread = spreadBy(
      "topology.kubernetes.io/zone",
      { matchLabels: { app: "web" } },
      { whenUnsatisfiable: "ScheduleAnyway", labels: { app: "web" } },
    );
    const pods = Array.from({ length: 9 }, (_, i) => pod(`web-${i}`, 1000, 1, spread));
    const limited = NodePoolSchema.parse({ name: "default", limits: { cpuMillis: 100_000 } });
    const problem = input(pods, { nodePools: [limited], instanceTypes: types });
    const plan = s.provision(problem);
    // A claim listing "huge" charges 96 of the 100 cpu: the other zones would get 4 cpu between them and
    // the spread would be relaxed. Cut to types of at most half the room, each zone gets a claim.
    expect(plan.unschedulable).toEqual([]);
    expect(plan.warnings.map((w) => w.code)).not.toContain("preference_relaxed");
    expect(new Set(plan.nodeClaims.map((c) => c.zone))).toEqual(new Set(zones));
    expect(plan.nodeClaims.every((c) => !c.instanceTypeOptions.includes("huge"))).toBe(true);
    expect(validatePlan(problem, plan).violations).toEqual([]);
  });
});

describe("exotic instance types serve only pods nothing else serves", () => {
  // "metal" is cheaper per cpu than anything else and "gpu" carries a GPU: neither is used by price alone.
  const types = [
    type("small", 2, 4, 0.1),
    type("large", 8, 16, 0.4),
    { ...type("metal", 96, 192, 3.6), exotic: true },
    {
      ...type("gpu", 8, 32, 1.2),
      allocatable: { cpuMillis: 8000, memoryBytes: 32 * GiB, pods: 110, "nvidia.com/gpu": 1 },
      exotic: true,
    },
  ];

  test("generic pods stay off exotic types; GPU and oversized pods get them; the bound agrees", () => {
    const pods = [
      ...Array.from({ length: 40 }, (_, i) => pod(`web-${i}`, 1500, 2)),
      pod("train", 4000, 8, {
        requests: { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 1, "nvidia.com/gpu": 1 },
      }),
      pod("whale", 32000, 64),
    ];
    const problem = input(pods, { instanceTypes: types });
    const plan = solver.provision(problem);
    expect(plan.unschedulable).toEqual([]);
    const on = (p: string) => plan.nodeClaims.find((c) => c.pods.includes(`default/${p}`));
    expect(on("train")?.instanceType).toBe("gpu");
    expect(on("whale")?.instanceType).toBe("metal");
    for (let i = 0; i < 40; i++) expect(on(`web-${i}`)?.instanceTypeOptions).not.toContain("metal");
    const v = validatePlan(problem, plan);
    expect(v.violations).toEqual([]);
    expect(v.verifiedLowerBoundPerHour).toBeGreaterThanOrEqual(plan.cost.lowerBoundPerHour * (1 - 1e-9));
  });

  test("a NodePool with minValues keeps them as ordinary options (Karpenter's filter does too)", () => {
    const pods = Array.from({ length: 40 }, (_, i) => pod(`web-${i}`, 1500, 2));
    const withMin = NodePoolSchema.parse({
      name: "default",
      template: {
        requirements: [{ key: "node.kubernetes.io/instance-type", operator: "Exists", minValues: 2 }],
      },
    });
    const problem = input(pods, { instanceTypes: types, nodePools: [withMin] });
    const plan = solver.provision(problem);
    expect(plan.nodeClaims.some((c) => c.instanceTypeOptions.includes("metal"))).toBe(true);
    expect(validatePlan(problem, plan).violations).toEqual([]);
  });
});

describe("zones as the cloud offers them", () => {
  test("a type is launched only where it is offered, and validatePlan says when a plan does otherwise", () => {
    const onlyB = type("cheap", 4, 8, 0.1, { zones: ["zone-b"] });
    const everywhere = type("dear", 4, 8, 0.3);
    const spread = spreadBy(
      "topology.kubernetes.io/zone",
      { matchLabels: { app: "web" } },
      { labels: { app: "web" } },
    );
    const pods = Array.from({ length: 8 }, (_, i) => pod(`web-${i}`, 3000, 1, spread));
    const problem = input(pods, { instanceTypes: [onlyB, everywhere] });
    const plan = solver.provision(problem);
    expect(plan.unschedulable).toEqual([]);
    for (const c of plan.nodeClaims) expect(`${c.instanceType}/${c.zone}`).not.toBe("cheap/zone-a");
    expect(new Set(plan.nodeClaims.map((c) => c.zone))).toEqual(new Set(["zone-a", "zone-b"]));
    expect(validatePlan(problem, plan).violations).toEqual([]);
    const moved = plan.nodeClaims.find((c) => c.instanceType === "cheap");
    expect(moved).toBeDefined();
    const tampered = {
      ...plan,
      nodeClaims: plan.nodeClaims.map((c) => (c === moved ? { ...c, zone: "zone-a" } : c)),
    };
    expect(validatePlan(problem, tampered).violations).toContainEqual(
      expect.objectContaining({
        rule: "offering",
        message: "cheap has no available on-demand offering in zone-a",
      }),
    );
  });

  test("topology.k8s.aws/zone-id selects offerings by their zone ID", () => {
    const withIds = {
      ...type("m", 4, 8, 0.1),
      offerings: [
        {
          zone: "zone-a",
          zoneId: "use1-az2",
          capacityType: "on-demand" as const,
          pricePerHour: 0.1,
          available: true,
        },
        {
          zone: "zone-b",
          zoneId: "use1-az4",
          capacityType: "on-demand" as const,
          pricePerHour: 0.1,
          available: true,
        },
      ],
    };
    const pinned = pod("p", 1000, 1, { nodeSelector: { "topology.k8s.aws/zone-id": "use1-az4" } });
    const problem = input([pinned], { instanceTypes: [withIds] });
    const plan = solver.provision(problem);
    expect(plan.nodeClaims.map((c) => c.zone)).toEqual(["zone-b"]);
    expect(validatePlan(problem, plan).violations).toEqual([]);
  });
});
