import { createKernel, type Kernel } from "@nodeplan/solver-wasm";
import { beforeAll, describe, expect, test } from "vitest";
import { PodDisruptionBudgetSchema } from "../model.ts";
import type { DisruptionPlan } from "../plan.ts";
import { createSolver } from "../solver.ts";
import { validateDisruption } from "../validate/validate-disruption.ts";
import { catalog, NOW, node, pod, pool } from "./fixtures.test-helper.ts";
import type { DisruptionInput } from "./input.ts";
import { planDisruption } from "./plan-disruption.ts";

let kernel: Kernel;
beforeAll(() => {
  kernel = createKernel({ flavor: "auto" });
});

const base = (over: Partial<DisruptionInput>): DisruptionInput => ({
  nodes: [],
  pods: [],
  nodePools: [pool()],
  instanceTypes: catalog,
  now: NOW,
  ...over,
});

/** Plans and checks the plan with the independent validator. */
function plan(input: DisruptionInput): DisruptionPlan {
  const out = planDisruption(kernel, input);
  const verdict = validateDisruption(input, out);
  expect(verdict.violations).toEqual([]);
  return out;
}
const keptCode = (p: DisruptionPlan, name: string) => p.kept.find((k) => k.node === name)?.reason;

describe("golden scenarios", () => {
  test("an empty node is deleted", () => {
    const p = plan(base({ nodes: [node("a", "medium"), node("b", "medium")], pods: [pod("a", 3500)] }));
    expect(p.commands).toHaveLength(1);
    expect(p.commands[0]).toMatchObject({
      wave: 1,
      method: "emptiness",
      candidates: ["b"],
      replacements: [],
    });
    expect(p.commands[0]?.savingsPerHour).toBeCloseTo(0.2);
    expect(p.cost.afterPerHour).toBeCloseTo(0.2);
  });

  test("a node a pending pod is about to use is not a candidate", () => {
    const nodes = [node("a", "medium"), node("b", "medium")];
    const pods = [pod("a", 3500)];
    for (const strategy of ["nodeplan", "karpenter"] as const) {
      const free = plan(base({ nodes, pods, options: { strategy } }));
      expect(free.commands.flatMap((c) => c.candidates)).toContain("b");
      const p = plan(base({ nodes, pods, nominated: { b: "default/web-0" }, options: { strategy } }));
      expect(p.commands.flatMap((c) => c.candidates)).not.toContain("b");
      expect(keptCode(p, "b")).toEqual({ code: "nominated", pod: "default/web-0" });
    }
  });

  test("the node the pods of a draining node are moving to is nominated, not deleted as empty", () => {
    // a is being drained by a command in progress; b is its replacement, not yet reached by a's pod.
    const pods = [pod("c", 3500)];
    const draining = pod("a", 3000);
    const nodePools = [pool({ disruption: { budgets: [{ nodes: "100%" }] } })];
    for (const strategy of ["nodeplan", "karpenter"] as const) {
      const idle = plan(
        base({
          nodes: [node("a", "medium", { deleting: true }), node("b", "medium"), node("c", "medium")],
          pods,
          nodePools,
          options: { strategy },
        }),
      );
      expect(idle.commands.map((c) => [c.method, c.candidates])).toEqual([["emptiness", ["b"]]]);
      const p = plan(
        base({
          nodes: [node("a", "medium", { deleting: true }), node("b", "medium"), node("c", "medium")],
          pods: [...pods, draining],
          nodePools,
          options: { strategy },
        }),
      );
      expect(p.commands.flatMap((c) => c.candidates)).not.toContain("b");
      expect(keptCode(p, "b")).toEqual({ code: "nominated", pod: `default/${draining.name}` });
    }
  });

  test("two half-empty nodes become one", () => {
    for (const strategy of ["nodeplan", "karpenter"] as const) {
      const p = plan(
        base({
          nodes: [node("a", "medium"), node("b", "medium")],
          pods: [pod("a", 1500), pod("b", 1500)],
          options: { strategy },
        }),
      );
      expect(p.commands.map((c) => c.method)).toEqual(["consolidation"]);
      expect(p.cost.afterPerHour).toBeCloseTo(0.2);
      expect(p.kept).toHaveLength(1);
    }
  });

  test("a big node splits into two cheaper ones under nodeplan, not under karpenter", () => {
    const pods = Array.from({ length: 12 }, () => pod("big-1", 1000));
    const input = base({ nodes: [node("big-1", "big")], pods });
    const ours = plan(input);
    expect(ours.commands).toHaveLength(1);
    expect(ours.commands[0]?.replacements.length).toBeGreaterThanOrEqual(2);
    expect(ours.commands[0]?.savingsPerHour).toBeGreaterThan(0);
    expect(ours.cost.afterPerHour).toBeLessThan(1);
    const theirs = plan({ ...input, options: { strategy: "karpenter" } });
    expect(theirs.commands).toEqual([]);
    expect(keptCode(theirs, "big-1")?.code).toBe("no_cheaper_replacement");
  });

  test("budget 10% of 20 nodes: 2 per wave", () => {
    const nodes = Array.from({ length: 20 }, (_, i) => node(`n${String(i).padStart(2, "0")}`, "small"));
    const p = plan(base({ nodes }));
    expect(p.commands.filter((c) => c.wave === 1).flatMap((c) => c.candidates)).toHaveLength(2);
    let left = 20;
    for (let w = 1; left > 0; w++) {
      const removed = p.commands.filter((c) => c.wave === w).flatMap((c) => c.candidates).length;
      expect(removed).toBe(Math.ceil(left / 10));
      left -= removed;
    }
    expect(p.cost.afterPerHour).toBe(0);
  });

  test("a weekday business-hours budget blocks at 10:30 Monday, not on Saturday", () => {
    const np = pool({ disruption: { budgets: [{ nodes: "0", schedule: "0 9 * * 1-5", duration: "8h" }] } });
    const input = base({ nodePools: [np], nodes: [node("a", "small")], now: "2026-11-02T10:30:00Z" });
    const monday = plan(input);
    expect(monday.commands).toEqual([]);
    expect(keptCode(monday, "a")).toEqual({
      code: "budget_exhausted",
      nodePool: "default",
      reason: "Empty",
      allowed: 0,
      schedule: "0 9 * * 1-5",
      until: "2026-11-02T17:00:00.000Z",
    });
    const saturday = plan({ ...input, now: "2026-11-07T10:30:00Z" });
    expect(saturday.commands.map((c) => c.candidates)).toEqual([["a"]]);
  });
});

describe("the pods around the candidates (Karpenter's SimulateScheduling)", () => {
  const strategies = ["nodeplan", "karpenter"] as const;
  const moved = (p: DisruptionPlan) => p.commands.flatMap((c) => c.candidates);
  // No 2-cpu type: every node here is a medium (4,000m, $0.20) and no replacement is cheaper.
  const nodePools = [
    pool({
      template: {
        requirements: [
          { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
          { key: "node.kubernetes.io/instance-type", operator: "NotIn", values: ["small"] },
        ],
      },
      disruption: { budgets: [{ nodes: "100%" }] },
    }),
  ];

  test("a pending pod keeps the room it needs: no node goes that it would then have to be launched for", () => {
    const nodes = [node("a", "medium"), node("b", "medium")];
    const bound = [pod("a", 1000), pod("b", 1500)];
    for (const strategy of strategies) {
      expect(moved(plan(base({ nodes, pods: bound, nodePools, options: { strategy } })))).toHaveLength(1);
      // 2,600m pending fits on a or b now; after either goes, it would need a node of its own.
      const pending = pod(undefined, 2600);
      const p = plan(base({ nodes, pods: [...bound, pending], nodePools, options: { strategy } }));
      expect(p.commands).toEqual([]);
      expect(keptCode(p, "a")?.code).toBe("no_cheaper_replacement");
    }
  });

  test("a pending pod no instance type can hold does not block consolidation", () => {
    const nodes = [node("a", "medium"), node("b", "medium")];
    const pods = [pod("a", 1000), pod("b", 1500), pod(undefined, 64_000)];
    for (const strategy of strategies)
      expect(moved(plan(base({ nodes, pods, nodePools, options: { strategy } })))).toHaveLength(1);
  });

  test("a pending pod that needs a new node whatever happens is the provisioner's: it blocks nothing", () => {
    // 3,500m fits neither a (3,000m free) nor b (2,500m free): its node is launched either way.
    const nodes = [node("a", "medium"), node("b", "medium")];
    const pods = [pod("a", 1000), pod("b", 1500), pod(undefined, 3500)];
    for (const strategy of strategies)
      expect(moved(plan(base({ nodes, pods, nodePools, options: { strategy } })))).toHaveLength(1);
  });

  test("the candidates' pods do not move onto a node not yet initialized", () => {
    const pods = [pod("a", 3500), pod("c", 500)];
    for (const strategy of strategies) {
      const up = plan(
        base({ nodes: [node("a", "medium"), node("c", "medium")], pods, nodePools, options: { strategy } }),
      );
      expect(moved(up)).toHaveLength(1);
      // Karpenter's UninitializedNodeError: the node may never come up, a consolidation may not rely on it.
      const coming = node("c", "medium", { initialized: false });
      const p = plan(base({ nodes: [node("a", "medium"), coming], pods, nodePools, options: { strategy } }));
      expect(p.commands).toEqual([]);
      expect(keptCode(p, "a")?.code).toBe("no_cheaper_replacement");
      expect(keptCode(p, "c")?.code).toBe("not_initialized");
    }
  });

  test("the pods of a node being deleted need room too", () => {
    // d is draining 2,000m; a and b have 3,000m and 2,500m free. Ignoring d's pod, a's 1,000m would
    // move onto b; counting it, every move leaves a pod without room.
    const nodes = [node("d", "medium", { deleting: true }), node("a", "medium"), node("b", "medium")];
    const bound = [pod("a", 1000), pod("b", 1500)];
    for (const strategy of strategies) {
      expect(moved(plan(base({ nodes, pods: bound, nodePools, options: { strategy } })))).toHaveLength(1);
      const p = plan(base({ nodes, pods: [pod("d", 2000), ...bound], nodePools, options: { strategy } }));
      expect(p.commands).toEqual([]);
    }
  });
});

describe("blockers give kept reasons", () => {
  const two = (podExtra: Record<string, unknown>, nodeExtra: Record<string, unknown> = {}) =>
    base({
      nodes: [node("a", "medium", nodeExtra), node("b", "medium")],
      pods: [pod("a", 1000, podExtra), pod("b", 1000)],
    });
  test("do-not-disrupt pod, forever and for a duration", () => {
    const forever = plan(two({ annotations: { "karpenter.sh/do-not-disrupt": "true" } }));
    expect(keptCode(forever, "a")?.code).toBe("do_not_disrupt_pod");
    const timed = plan(
      two({ annotations: { "karpenter.sh/do-not-disrupt": "48h" }, startTime: "2026-11-01T00:00:00Z" }),
    );
    expect(keptCode(timed, "a")).toMatchObject({
      code: "do_not_disrupt_pod",
      until: "2026-11-03T00:00:00.000Z",
    });
    // b can still go: a absorbs its pod.
    expect(timed.commands.flatMap((c) => c.candidates)).toEqual(["b"]);
  });
  test("do-not-disrupt node, not initialized, being deleted", () => {
    expect(
      keptCode(plan(two({}, { annotations: { "karpenter.sh/do-not-disrupt": "true" } })), "a")?.code,
    ).toBe("do_not_disrupt_node");
    expect(keptCode(plan(two({}, { initialized: false })), "a")?.code).toBe("not_initialized");
    expect(keptCode(plan(two({}, { deleting: true })), "a")?.code).toBe("being_deleted");
  });
  test("a PDB allowing 0 and a pod under two PDBs", () => {
    const pdb = (name: string, spec: Record<string, unknown>) =>
      PodDisruptionBudgetSchema.parse({
        namespace: "default",
        name,
        selector: { matchLabels: { app: "web" } },
        ...spec,
      });
    const zero = plan({ ...two({}), pdbs: [pdb("all", { minAvailable: "100%" })] });
    expect(keptCode(zero, "a")).toMatchObject({ code: "pdb_blocks_eviction", pdb: "default/all" });
    expect(zero.commands).toEqual([]);
    const several = plan({
      ...two({}),
      pdbs: [pdb("x", { maxUnavailable: 1 }), pdb("y", { maxUnavailable: "50%" })],
    });
    expect(keptCode(several, "a")).toMatchObject({
      code: "pod_under_multiple_pdbs",
      pdbs: ["default/x", "default/y"],
    });
  });
  test("consolidateAfter, WhenEmpty, Never", () => {
    const nodes = [node("a", "medium", { lastPodEventAt: "2026-11-02T11:50:00Z" }), node("b", "medium")];
    const after = plan(
      base({
        nodePools: [pool({ disruption: { consolidateAfter: "30m" } })],
        nodes,
        pods: [pod("a", 1000), pod("b", 1000)],
      }),
    );
    // b goes first and its pod moves to a, which resets a's clock to now.
    expect(after.commands.flatMap((c) => c.candidates)).toEqual(["b"]);
    expect(keptCode(after, "a")).toEqual({
      code: "consolidate_after_pending",
      consolidatableAt: "2026-11-02T12:30:00.000Z",
    });
    const whenEmpty = plan(
      base({
        nodePools: [pool({ disruption: { consolidationPolicy: "WhenEmpty" } })],
        nodes,
        pods: [pod("a", 1000), pod("b", 1000)],
      }),
    );
    expect(keptCode(whenEmpty, "b")?.code).toBe("policy_when_empty");
    const never = plan(
      base({ nodePools: [pool({ disruption: { consolidateAfter: "Never" } })], nodes, pods: [] }),
    );
    expect(keptCode(never, "b")?.code).toBe("consolidation_disabled");
  });
  test("pods that fit nowhere", () => {
    const p = plan(
      base({
        nodes: [node("a", "medium"), node("b", "medium")],
        pods: [
          pod("a", 1000, { nodeSelector: { "node.kubernetes.io/instance-type": "medium" } }),
          pod("b", 3500),
        ],
        nodePools: [
          pool({
            template: {
              requirements: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["large"] }],
            },
          }),
        ],
      }),
    );
    expect(keptCode(p, "a")?.code).toBe("pods_would_not_fit");
  });
  test("unmanaged nodes are kept as not_managed", () => {
    const p = plan(base({ nodes: [node("a", "medium", { nodePool: undefined })] }));
    expect(keptCode(p, "a")?.code).toBe("not_managed");
  });
});

describe("PDBs across waves", () => {
  const input = (pdbEvictions: "serial" | "strict") =>
    base({
      nodePools: [pool({ disruption: { budgets: [{ nodes: "100%" }] } })],
      nodes: ["a", "b", "c", "d", "e"].map((n) => node(n, "medium")),
      // One web pod on each of a-d (1 cpu), e nearly full: the four can share one node.
      pods: [...["a", "b", "c", "d"].map((n) => pod(n, 1000)), pod("e", 3000, { labels: { app: "db" } })],
      pdbs: [
        PodDisruptionBudgetSchema.parse({
          namespace: "default",
          name: "web",
          selector: { matchLabels: { app: "web" } },
          maxUnavailable: "50%",
        }),
      ],
      options: { pdbEvictions },
    });
  test("strict: a wave evicts at most disruptionsAllowed pods of a PDB (50% of 4 = 2)", () => {
    const p = plan(input("strict"));
    const web = (w: number) =>
      p.commands
        .filter((c) => c.wave === w)
        .flatMap((c) =>
          c.evictions.filter(
            (k) => k.includes("-a-") || k.includes("-b-") || k.includes("-c-") || k.includes("-d-"),
          ),
        );
    expect(web(1).length).toBeLessThanOrEqual(2);
    expect(p.commands.length).toBeGreaterThan(0);
  });
  test("serial: the eviction API paces a PDB, so one wave may drain more of it", () => {
    const p = plan(input("serial"));
    expect(p.commands.filter((c) => c.wave === 1).flatMap((c) => c.evictions).length).toBeGreaterThan(2);
  });
});

describe("drift", () => {
  const hashed = pool({
    annotations: { "karpenter.sh/nodepool-hash": "new", "karpenter.sh/nodepool-hash-version": "v3" },
  });
  const stamped = (hash: string, version: string) =>
    node("a", "medium", {
      annotations: { "karpenter.sh/nodepool-hash": hash, "karpenter.sh/nodepool-hash-version": version },
    });
  test("a NodePool hash differing from the node's stamp drifts it; a hash version change does not", () => {
    const p = plan(base({ nodePools: [hashed], nodes: [stamped("old", "v3")], pods: [pod("a", 3000)] }));
    expect(p.commands).toHaveLength(1);
    expect(p.commands[0]).toMatchObject({ method: "drift", candidates: ["a"] });
    expect(p.commands[0]?.replacements).toHaveLength(1);
    expect(p.commands[0]?.reason).toContain("NodePoolDrifted");
    const versioned = plan(
      base({ nodePools: [hashed], nodes: [stamped("old", "v2")], pods: [pod("a", 3000)] }),
    );
    expect(versioned.commands).toEqual([]);
  });
  test("labels no longer satisfying requirements, and instance types gone from the catalog", () => {
    const typed = pool({
      template: {
        requirements: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["large"] }],
      },
    });
    const req = plan(base({ nodePools: [typed], nodes: [node("a", "medium")], pods: [pod("a", 3000)] }));
    expect(req.commands[0]?.reason).toContain("RequirementsDrifted");
    expect(req.commands[0]?.replacements[0]?.instanceType).toBe("large");
    const gone = plan(
      base({
        nodes: [node("a", "medium")],
        pods: [pod("a", 3000)],
        instanceTypes: catalog.filter((t) => t.name !== "medium"),
      }),
    );
    expect(gone.commands[0]).toMatchObject({ method: "drift" });
    expect(gone.commands[0]?.reason).toContain("InstanceTypeNotFound");
  });
  test("the provider hook", () => {
    const p = plan(
      base({
        nodes: [node("a", "medium")],
        pods: [pod("a", 3000)],
        drift: {
          detector: {
            isDrifted: (n) => (n.name === "a" ? { code: "AMIDrift", message: "ami-1 -> ami-2" } : undefined),
          },
        },
      }),
    );
    expect(p.commands[0]?.reason).toContain("AMIDrift");
  });
});

describe("forceful methods", () => {
  test("expiration ignores budgets and do-not-disrupt, in wave 1", () => {
    const np = pool({ disruption: { budgets: [{ nodes: "0" }] } });
    const p = plan(
      base({
        nodePools: [np],
        nodes: [node("old", "medium", { createdAt: "2026-09-01T00:00:00Z" }), node("b", "large")],
        pods: [pod("old", 1000, { annotations: { "karpenter.sh/do-not-disrupt": "true" } }), pod("b", 1000)],
      }),
    );
    expect(p.commands).toHaveLength(1);
    expect(p.commands[0]).toMatchObject({ wave: 1, method: "expiration", candidates: ["old"] });
    // The do-not-disrupt pod now runs on b, which blocks b in turn.
    expect(keptCode(p, "b")?.code).toBe("do_not_disrupt_pod");
  });
  test("a forceful disruption goes ahead even when pods cannot be placed, with a warning", () => {
    const p = plan(
      base({
        nodes: [node("old", "medium", { createdAt: "2026-09-01T00:00:00Z" })],
        pods: [pod("old", 1000, { nodeSelector: { team: "x" } })],
      }),
    );
    expect(p.commands[0]).toMatchObject({ method: "expiration", candidates: ["old"], replacements: [] });
    expect(p.warnings[0]).toMatchObject({ code: "evicted_pods_unschedulable", nodePool: "default" });
  });
  test("interruption replaces the node before it goes; rebalance only when opted in", () => {
    const event = (kind: string) => ({ kind, instanceId: "i-a", time: NOW, id: `m-${kind}` }) as never;
    const input = base({
      nodes: [node("a", "medium")],
      pods: [pod("a", 3000)],
      interruptions: [event("spot_interruption")],
    });
    const p = plan(input);
    expect(p.commands[0]).toMatchObject({ wave: 1, method: "interruption", candidates: ["a"] });
    expect(p.commands[0]?.replacements).toHaveLength(1);
    const rebalance = { ...input, interruptions: [event("rebalance_recommendation")] };
    expect(plan(rebalance).commands).toEqual([]);
    expect(plan({ ...rebalance, options: { rebalanceRecommendations: true } }).commands[0]?.method).toBe(
      "interruption",
    );
  });
});

describe("spot and thresholds", () => {
  test("spot nodes are not replaced unless spot-to-spot is enabled", () => {
    // Budget 100%: both nodes go in one multi-node command (a single spot node needs 15 cheaper types).
    const spotPool = pool({
      template: { requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] }] },
      disruption: { budgets: [{ nodes: "100%" }] },
    });
    const input = base({
      nodePools: [spotPool],
      // 18 cpu on two 16-cpu nodes: neither can take the other's pods, only cheaper replacements help.
      nodes: [node("s1", "big", { capacityType: "spot" }), node("s2", "big", { capacityType: "spot" })],
      pods: ["s1", "s2"].flatMap((n) => Array.from({ length: 9 }, () => pod(n, 1000))),
    });
    const off = plan(input);
    expect(off.commands).toEqual([]);
    expect(keptCode(off, "s1")?.code).toBe("no_cheaper_replacement");
    const on = plan({ ...input, options: { spotToSpotConsolidation: true } });
    expect(on.commands.length).toBeGreaterThan(0);
    expect(on.commands.flatMap((c) => c.replacements).every((r) => r.capacityType === "spot")).toBe(true);
    expect(on.cost.afterPerHour).toBeLessThan(on.cost.currentPerHour);
    // A single spot node needs 15 cheaper types (this catalog has 4).
    const single = plan({
      ...input,
      nodes: [node("s1", "large", { capacityType: "spot" })],
      pods: [pod("s1", 1000)],
      options: { spotToSpotConsolidation: true },
    });
    expect(single.commands).toEqual([]);
  });
  test("a saving under the threshold is not taken", () => {
    const input = base({ nodes: [node("a", "medium")], pods: [pod("a", 1500)] });
    expect(plan(input).commands).toHaveLength(1);
    const p = plan({ ...input, options: { minSavingsPerHour: 0.5 } });
    expect(p.commands).toEqual([]);
    expect(keptCode(p, "a")).toMatchObject({ code: "savings_below_threshold", thresholdPerHour: 0.5 });
  });
});

describe("karpenter strategy", () => {
  const three = (cpu: number, strategy: "nodeplan" | "karpenter") =>
    plan(
      base({
        nodePools: [pool({ disruption: { budgets: [{ nodes: "100%" }] } })],
        nodes: [node("a", "medium"), node("b", "medium"), node("c", "medium")],
        pods: [pod("a", cpu), pod("b", cpu), pod("c", cpu)],
        options: { strategy },
      }),
    );
  test("multi-node N->1 by prefix binary search, one command per wave", () => {
    const p = three(1500, "karpenter");
    expect(p.commands[0]).toMatchObject({ wave: 1, method: "consolidation" });
    expect(p.commands[0]?.candidates).toHaveLength(3);
    expect(p.commands.every((c) => c.replacements.length <= 1)).toBe(true);
    expect(new Set(p.commands.map((c) => c.wave)).size).toBe(p.commands.length);
    expect(p.cost.afterPerHour).toBeCloseTo(0.4);
  });
  test("the prefix search misses a non-monotonic saving that nodeplan's global round finds", () => {
    // Two of the nodes need one large ($0.40, not cheaper); all three fit one large ($0.40 < $0.60).
    expect(three(2500, "karpenter").commands).toEqual([]);
    expect(three(2500, "nodeplan").cost.afterPerHour).toBeCloseTo(0.4);
  });
});

describe("solver", () => {
  test("createSolver exposes planDisruption", async () => {
    const solver = await createSolver();
    const p = solver.planDisruption(
      base({ nodes: [node("a", "medium"), node("b", "medium")], pods: [pod("a", 3500)] }),
    );
    expect(p.commands.map((c) => c.method)).toEqual(["emptiness"]);
  });
});

describe("input errors", () => {
  test("an invalid now is reported, not thrown", () => {
    const p = planDisruption(kernel, base({ now: "yesterday" }));
    expect(p.errors).toEqual([expect.objectContaining({ path: "now", code: "invalid_schema" })]);
  });
});
