import { NodePoolSchema } from "@nodeplan/core";
import { describe, expect, test } from "vitest";
import { karpenterBaseline } from "./baseline-karpenter.ts";
import { catalog, catalogSubset } from "./catalogs.ts";
import { renderChart } from "./chart.ts";
import { consolidationCluster } from "./cluster.ts";
import { benchmarksTable, runScenario } from "./main.ts";
import { mulberry32, pick } from "./random.ts";
import { scenarios } from "./scenarios.ts";
import {
  diversePods,
  documentedNodePool,
  eksDaemonSets,
  genericPods,
  largeShapesPods,
  mixedWorkload,
} from "./workloads.ts";

/**
 * The smoke pass `npm test` runs: every scenario once at small N (the full run is `npm run bench`).
 * Rows that differ only in N are the same input at smoke size, so each runs once.
 */
const smokeScenarios = scenarios.filter(
  (s, i) => scenarios.findIndex((t) => t.id.replace(/-\d+:/, ":") === s.id.replace(/-\d+:/, ":")) === i,
);

describe("bench smoke pass", () => {
  for (const s of smokeScenarios) {
    test(`${s.id} runs at small N and its plan validates`, { timeout: 120_000 }, async () => {
      const row = await runScenario(s, { smoke: true, timeMs: 0 });
      expect(row.id).toBe(s.id);
      expect(row.pods).toBeGreaterThan(0);
      expect(row.medianMs).toBeGreaterThan(0);
      if (row.simulatedSeconds !== undefined) {
        // A simulated period ran to its end (a broken invariant throws). Pods may be pending at the end
        // where the scenario is about that (a fixed node group; a drain under way); not on the example
        // day with NodePools or the generated day.
        expect(row.simulatedSeconds as number).toBeGreaterThan(0);
        expect(row.scheduledPods as number).toBeLessThanOrEqual(row.pods);
        if (/^simulate-(production-api|day-2000):/.test(row.id)) expect(row.scheduledPods).toBe(row.pods);
        return;
      }
      expect(row.scheduledPods).toBe(row.pods);
      if (row.exactStatus !== undefined) {
        // HiGHS' interval [dual bound, best found] holds the optimum; nodeplan's plan was its start, and
        // core's bound is a bound on the same optimum.
        const best = row.exactBestPerHour as number;
        expect(best).toBeLessThanOrEqual((row.costPerHour as number) * (1 + 1e-6));
        expect(best).toBeGreaterThanOrEqual((row.lowerBoundPerHour as number) * (1 - 1e-6));
        expect(row.exactDualBoundPerHour as number).toBeLessThanOrEqual(best * (1 + 1e-6));
        if (row.exactStatus === "Optimal") expect(row.optimumPerHour).toBeCloseTo(best, 9);
      }
      if (row.currentCostPerHour !== undefined) {
        // Consolidation never raises cost, on either side.
        expect(row.costPerHour as number).toBeLessThanOrEqual((row.currentCostPerHour as number) + 1e-9);
        expect(row.baselineCostPerHour as number).toBeLessThanOrEqual(
          (row.currentCostPerHour as number) + 1e-9,
        );
        expect(row.errors).toBe(0);
      } else if (row.lowerBoundPerHour !== null) {
        expect(row.violations).toEqual([]);
        expect(row.valid).toBe(true);
        expect(row.costPerHour as number).toBeGreaterThanOrEqual(
          (row.lowerBoundPerHour as number) * (1 - 1e-9),
        );
        // A comparison counts only when both sides schedule the same pods, under the same rules. On
        // diverse rows they differ: the baseline checks spread for the incoming constrained pod only (as
        // kube-scheduler does), while core's plan and validator hold the final state to maxSkew,
        // counting matching pods without the constraint too. The row still reports both costs.
        if (row.baselineScheduledPods === row.scheduledPods && !row.id.startsWith("diverse-")) {
          expect(row.costPerHour as number).toBeLessThanOrEqual(
            (row.baselineCostPerHour as number) * (1 + 1e-9),
          );
        }
      }
    });
  }
});

describe("scenario generation", () => {
  test("mulberry32 seeded with 42 is the generator of BENCHMARK-SCENARIOS.md", () => {
    const rand = mulberry32(42);
    // Reference values of mulberry32(42), first three draws.
    expect([rand(), rand(), rand()].map((x) => x.toFixed(10))).toEqual([
      "0.6011037519",
      "0.4482905590",
      "0.8524657935",
    ]);
    expect(pick(mulberry32(42), ["a", "b", "c", "d", "e"])).toBe("d");
  });

  test("generic pods draw cpu, then memory, then the label, pod by pod", () => {
    const pods = genericPods(3);
    expect(pods.map((p) => p.name)).toEqual(["generic-0", "generic-1", "generic-2"]);
    const rand = mulberry32(42);
    const cpu = pick(rand, [100, 250, 500, 1000, 1500]);
    const mem = pick(rand, [100, 256, 512, 1024, 2048, 4096]);
    const label = pick(rand, ["a", "b", "c", "d", "e", "f", "g"]);
    expect(pods[0]?.requests).toEqual({ cpuMillis: cpu, memoryBytes: mem * 1024 * 1024, pods: 1 });
    expect(pods[0]?.labels).toEqual({ "my-label": label });
  });

  test("catalogs: fake-400 prices and aws-us-east-1 through parseCatalog", () => {
    const fake = catalog("fake-400");
    expect(fake).toHaveLength(400);
    expect(fake[9]?.offerings).toHaveLength(5);
    expect(fake[9]?.offerings[0]?.pricePerHour).toBeCloseTo(0.1 * 10 + (0.1 * 20 * 2 ** 30) / 1e9, 12);
    const aws = catalog("aws-us-east-1");
    expect(aws).toHaveLength(1345);
    expect(new Set(aws.flatMap((t) => t.offerings.map((o) => o.zone)))).toEqual(
      new Set(["us-east-1a", "us-east-1b", "us-east-1c"]),
    );
    expect(catalog("kwok-linear")).toHaveLength(72);
  });

  test("aws-us-east-1: zones as EC2 offers them, exotic types marked, every node with its root volume", () => {
    const aws = new Map(catalog("aws-us-east-1").map((t) => [t.name, t]));
    // hpc7g.16xlarge is offered only in us-east-1c (use1-az6) of the three zones.
    expect(aws.get("hpc7g.16xlarge")?.offerings.map((o) => `${o.zone}/${o.zoneId}`)).toEqual([
      "us-east-1c/use1-az6",
    ]);
    expect(aws.get("m5.large")?.offerings.map((o) => o.zoneId)).toEqual(["use1-az2", "use1-az4", "use1-az6"]);
    for (const name of ["m5.metal", "p4d.24xlarge", "u-6tb1.56xlarge", "hpc7g.16xlarge"])
      expect(aws.get(name)?.exotic, name).toBe(true);
    expect(aws.get("m7i.large")?.exotic).toBeUndefined();
    const storage = (20 * 0.08) / 730;
    const m7i = aws.get("m7i.large")?.offerings[0];
    expect(m7i?.costs?.storagePerHour).toBeCloseTo(storage, 12);
    expect(m7i?.costs?.networkPerHour).toBe(0);
    // Burstable in unlimited mode (T4g's default): a full node's surplus credits at the requested load.
    const micro = aws.get("t4g.micro");
    const credits = (((micro?.allocatable.cpuMillis ?? 0) - 200) / 1000) * 0.05;
    expect(micro?.offerings[0]?.costs?.burstableCreditsPerHour).toBeCloseTo(credits, 12);
  });

  test("the documented NodePool and the EKS DaemonSets of the aws rows", () => {
    const pool = documentedNodePool();
    expect(pool.template.requirements).toEqual([
      { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
      { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] },
      { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
      { key: "karpenter.k8s.aws/instance-category", operator: "In", values: ["c", "m", "r"] },
      { key: "karpenter.k8s.aws/instance-generation", operator: "Gt", values: ["2"] },
    ]);
    expect(documentedNodePool("d", { arm64: true }).template.requirements[1]?.values).toEqual([
      "amd64",
      "arm64",
    ]);
    expect(eksDaemonSets().map((d) => [d.name, d.requests])).toEqual([
      ["aws-node", { cpuMillis: 25, pods: 1 }],
      ["kube-proxy", { cpuMillis: 100, pods: 1 }],
      ["ebs-csi-node", { cpuMillis: 30, memoryBytes: 120 * 2 ** 20, pods: 1 }],
      ["log-agent", { cpuMillis: 100, memoryBytes: 128 * 2 ** 20, pods: 1 }],
    ]);
    const ids = scenarios.map((s) => s.id);
    expect(ids).toContain("generic-100000:aws-us-east-1");
    expect(ids).toContain("generic-100000:aws-us-east-1/unrestricted");
    expect(ids).toContain("diverse-20000:aws-us-east-1/unrestricted");
    expect(ids).toContain("large-shapes-2356:aws-us-east-1");
  });

  test("large-shapes-N: 25 shapes of 8-32 cores and 30-56 GiB, N pods in all", () => {
    const pods = largeShapesPods(2356);
    expect(pods).toHaveLength(2356);
    const shapes = new Set(pods.map((p) => p.labels.shape));
    expect(shapes.size).toBe(25);
    for (const p of pods) {
      expect([8000, 12000, 16000, 24000, 32000]).toContain(p.requests.cpuMillis);
      const gib = (p.requests.memoryBytes ?? 0) / 2 ** 30;
      expect(gib).toBeGreaterThanOrEqual(30);
      expect(gib).toBeLessThanOrEqual(56);
    }
    expect(pods[0]?.name).toBe("large-0");
  });

  test("the Karpenter baseline keeps every fitting type and pays the cheapest at the end", () => {
    const types = catalog("fake-400").slice(0, 4);
    const r = karpenterBaseline({
      pods: genericPods(5),
      nodePools: [NodePoolSchema.parse({ name: "d" })],
      instanceTypes: types,
    });
    expect(r.scheduledPods).toBe(5);
    expect(r.nodes).toBeGreaterThan(0);
  });

  test("diverse-N: five groups of floor(N/5) in Karpenter's order, the remainder generic, draws pod by pod", () => {
    const pods = diversePods(12);
    expect(pods.map((p) => p.name)).toEqual([
      "generic-0",
      "generic-1",
      "zone-spread-0",
      "zone-spread-1",
      "hostname-spread-0",
      "hostname-spread-1",
      "zone-affinity-0",
      "zone-affinity-1",
      "hostname-anti-affinity-0",
      "hostname-anti-affinity-1",
      "generic-2",
      "generic-3",
    ]);
    // Replay the draws: two generic pods (cpu, memory, label), then the first zone-spread pod.
    const rand = mulberry32(42);
    for (let i = 0; i < 6; i++) rand();
    const cpu = pick(rand, [100, 250, 500, 1000, 1500]);
    const mem = pick(rand, [100, 256, 512, 1024, 2048, 4096]);
    const label = pick(rand, ["a", "b", "c", "d", "e", "f", "g"]);
    const selector = pick(rand, ["a", "b", "c", "d", "e", "f", "g"]);
    const spread = pods[2];
    expect(spread?.requests).toEqual({ cpuMillis: cpu, memoryBytes: mem * 2 ** 20, pods: 1 });
    expect(spread?.labels).toEqual({ "my-label": label });
    expect(spread?.topologySpreadConstraints).toMatchObject([
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: { "my-label": selector } },
      },
    ]);
    expect(pods[4]?.topologySpreadConstraints[0]?.topologyKey).toBe("kubernetes.io/hostname");
    const affinity = pods[6];
    expect(affinity?.podAffinity.required[0]?.labelSelector?.matchLabels).toEqual(affinity?.labels);
    expect(Object.keys(affinity?.labels ?? {})).toEqual(["my-affininity"]);
    expect(pods[8]?.labels).toEqual({ app: "nginx" });
    expect(pods[8]?.podAntiAffinity.required[0]).toMatchObject({
      topologyKey: "kubernetes.io/hostname",
      labelSelector: { matchLabels: { app: "nginx" } },
    });
  });

  test("mixed-N: the documented kinds and proportions, two NodePools, one DaemonSet", () => {
    const w = mixedWorkload(1000);
    const kinds = new Map<string, number>();
    for (const p of w.pods)
      kinds.set(p.name.replace(/-\d+$/, ""), (kinds.get(p.name.replace(/-\d+$/, "")) ?? 0) + 1);
    expect(Object.fromEntries(kinds)).toEqual({ web: 350, cache: 200, batch: 200, "api-arm": 200, gpu: 50 });
    expect(w.nodePools.map((p) => p.name)).toEqual(["general", "gpu"]);
    expect(w.daemonSets).toHaveLength(1);
    for (const p of w.pods) {
      if (p.name.startsWith("api-arm")) expect(p.nodeSelector).toEqual({ "kubernetes.io/arch": "arm64" });
      if (p.name.startsWith("gpu")) expect(p.requests["nvidia.com/gpu"]).toBe(1);
      if (p.name.startsWith("cache")) expect(p.requests.memoryBytes).toBeGreaterThanOrEqual(4 * 2 ** 30);
      if (p.name.startsWith("batch")) expect(p.requests.cpuMillis).toBeGreaterThanOrEqual(2000);
    }
  });

  test("consolidate-N: the scenario's nodes, pods filled to each node's target, ReplicaSets of 50 with PDBs", () => {
    const c = consolidationCluster(30);
    expect(c.nodes).toHaveLength(30);
    // The first node's draws: family, size, zone, target.
    const rand = mulberry32(42);
    const family = pick(rand, ["m5", "m6i", "c6i", "r6i", "m6g", "c7g"]);
    const size = pick(rand, ["large", "xlarge", "2xlarge", "4xlarge"]);
    const zone = pick(rand, ["a", "b", "c"]);
    const target = 0.2 + 0.7 * rand();
    expect(c.nodes[0]?.instanceType).toBe(`${family}.${size}`);
    expect(c.nodes[0]?.zone).toBe(`us-east-1${zone}`);
    for (const n of c.nodes) {
      const on = c.pods.filter((p) => p.nodeName === n.name);
      const cpu = on.reduce((s, p) => s + (p.requests.cpuMillis ?? 0), 0);
      const mem = on.reduce((s, p) => s + (p.requests.memoryBytes ?? 0), 0);
      expect(cpu).toBeLessThanOrEqual(0.9 * (n.allocatable.cpuMillis ?? 0));
      expect(mem).toBeLessThanOrEqual(n.allocatable.memoryBytes ?? 0);
      expect(n.pricePerHour).toBeGreaterThan(0);
    }
    const first = c.pods.filter((p) => p.nodeName === "node-0");
    const firstCpu = first.reduce((s, p) => s + (p.requests.cpuMillis ?? 0), 0);
    expect(firstCpu).toBeLessThanOrEqual(target * (c.nodes[0]?.allocatable.cpuMillis ?? 0));
    // Every node runs the four EKS DaemonSets' pods; the rest are the ReplicaSets' pods.
    const apps = c.pods.filter((p) => !p.daemonSet);
    expect(c.pods.filter((p) => p.daemonSet)).toHaveLength(4 * 30);
    expect(c.daemonSets.map((d) => d.name)).toEqual(["aws-node", "kube-proxy", "ebs-csi-node", "log-agent"]);
    expect(c.pdbs).toHaveLength(Math.ceil(apps.length / 50));
    expect(c.pdbs.every((p) => p.maxUnavailable === 1)).toBe(true);
    expect(apps.filter((p) => p.owner?.name === "rs-0")).toHaveLength(Math.min(50, apps.length));
    expect(apps[0]?.labels.app).toBe("rs-0");
    expect(apps[0]?.name).toBe("generic-0");
    // The documented NodePool with arm64 added.
    expect(
      c.nodePools[0]?.template.requirements.map((r) => `${r.key} ${r.operator} ${r.values.join(",")}`),
    ).toEqual([
      "kubernetes.io/os In linux",
      "kubernetes.io/arch In amd64,arm64",
      "karpenter.sh/capacity-type In on-demand",
      "karpenter.k8s.aws/instance-category In c,m,r",
      "karpenter.k8s.aws/instance-generation Gt 2",
    ]);
    expect(c.nodePools[0]?.disruption).toEqual({
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "0s",
      budgets: [{ nodes: "10%" }],
    });
  });

  test("the exact-row catalogs have about 30 types", () => {
    expect(catalogSubset("fake-400/30")).toHaveLength(30);
    expect(catalogSubset("kwok-linear/30")).toHaveLength(30);
    expect(catalogSubset("aws-us-east-1/30")).toHaveLength(29);
  });
});

describe("BENCHMARKS.md and the chart", () => {
  const rows = [
    {
      id: "generic-1000:fake-400",
      pods: 1000,
      podsPerSec: 5e4,
      costPerHour: 10,
      lowerBoundPerHour: 9,
      baselineCostPerHour: 12,
      medianMs: 20,
      p95Ms: 25,
      samples: 5,
    },
    {
      id: "generic-10000:fake-400",
      pods: 10000,
      podsPerSec: 1e5,
      costPerHour: 100,
      lowerBoundPerHour: 99,
      baselineCostPerHour: 140,
      medianMs: 100,
      p95Ms: 120,
      samples: 5,
    },
    {
      id: "exact-generic-20:kwok-linear/30",
      pods: 20,
      podsPerSec: 1e3,
      costPerHour: 0.27,
      lowerBoundPerHour: 0.24,
      optimumPerHour: null,
      exactStatus: "Time limit reached",
      exactBestPerHour: 0.25,
      exactDualBoundPerHour: 0.245,
      exactSolveMs: 30000,
      instanceTypes: 30,
      medianMs: 2,
      p95Ms: 3,
      samples: 5,
    },
  ];

  test("the chart draws one line per workload and catalog and one bar pair per row with a bound", () => {
    const svg = renderChart(rows);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(svg.match(/fill="#1f4e79"/g)).toHaveLength(3);
    expect(svg).toContain("generic:fake-400");
  });

  test("the main table shows node counts and each side's cost breakdown", () => {
    const md = benchmarksTable(
      [
        {
          ...(rows[0] as (typeof rows)[0]),
          nodes: 3,
          baselineNodes: 2,
          costBreakdown: {
            instancePerHour: 9.9,
            storagePerHour: 0.1,
            networkPerHour: 0,
            burstableCreditsPerHour: 0,
            feesPerHour: 0,
          },
          baselineCostBreakdown: {
            instancePerHour: 11.95,
            storagePerHour: 0.05,
            networkPerHour: 0,
            burstableCreditsPerHour: 0,
            feesPerHour: 0,
          },
        },
      ],
      "test machine",
      "2026-12-01",
    );
    expect(md).toContain("| inst 9.900 + ebs 0.100 |");
    expect(md).toContain("| inst 11.950 + ebs 0.050 | 2 |");
  });

  test("the consolidation table shows both loops side by side, and marks a loop the pass cap stopped", () => {
    const md = benchmarksTable(
      [
        {
          id: "consolidate-500:aws-us-east-1",
          pods: 3000,
          podsPerSec: 1000,
          medianMs: 900,
          p95Ms: 1000,
          samples: 5,
          currentNodes: 500,
          currentCostPerHour: 168.4,
          costPerHour: 57.8,
          nodesAfter: 64,
          passes: 26,
          converged: true,
          evictedPods: 4022,
          baselineCostPerHour: 60.1,
          baselineNodesAfter: 80,
          baselinePasses: 200,
          baselineConverged: false,
          baselineEvictedPods: 3000,
          lowerBoundPerHour: 50,
        },
      ],
      "test machine",
      "2026-12-06",
    );
    expect(md).toContain(
      "| consolidate-500:aws-us-east-1 | 500 | 168.400 | 57.800 | 64 | 26 | 4022 | 60.100 | 80 | 200 (cap) | 3000 | 50.000 | 900.0 |",
    );
    // Not in the provisioning table.
    expect(md.split("consolidate-500").length).toBe(2);
  });

  test("simulated days get a table of their own, not a provisioning row", () => {
    const md = benchmarksTable(
      [
        {
          id: "simulate-production-api:nodeplan",
          pods: 120,
          medianMs: 782.4,
          p95Ms: 900,
          podsPerSec: 0,
          samples: 5,
          simulatedSeconds: 86_400,
          dayWallSeconds: 28.8,
          dayCpuSeconds: 14.3,
          simulatedSecondsPerWallSecond: 2996,
          costTotal: 32.89,
          costPerHour: 1.3704,
          nodeHours: 610.2,
          nodes: 31,
          pendingPodSeconds: 5400,
          pendingSecondsP95: 95,
          belowDesiredReplicaSeconds: 1200,
          evictions: 40,
          launches: 12,
        },
      ],
      "test machine",
      "2026-12-06",
    );
    expect(md).toContain(
      "| simulate-production-api:nodeplan | 24.0 | 28.8 | 14.3 | 2996 | 782.4 | 32.89 | 1.370 | 610.2 | 31 | 5400 | 95 | 1200 | 40 | 12 |",
    );
    expect(md.split("simulate-production-api").length).toBe(2);
  });

  test("the exact table shows HiGHS' proven interval when the time limit stopped it", () => {
    const md = benchmarksTable(rows, "test machine", "2026-12-01");
    expect(md).toContain(
      "| exact-generic-20:kwok-linear/30 | 20 | 30 | 0.2700 | 0.2400 | [0.2450, 0.2500] | Time limit reached |",
    );
    expect(md).toContain("bench/results/chart.svg");
    expect(md.startsWith("<!-- table:start -->")).toBe(true);
  });
});
