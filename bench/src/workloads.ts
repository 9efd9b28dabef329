import {
  type DaemonSet,
  DaemonSetSchema,
  type NodePool,
  NodePoolSchema,
  type Pod,
  type PodAffinityTerm,
} from "@nodeplan/core";
import { mulberry32, pick } from "./random.ts";

/** `now` of every scenario. */
export const BENCH_NOW = "2026-11-01T00:00:00Z";

const MiB = 1024 * 1024;
const CPU = [100, 250, 500, 1000, 1500];
const MEMORY_MIB = [100, 256, 512, 1024, 2048, 4096];
const LETTERS = ["a", "b", "c", "d", "e", "f", "g"];

/** A bench pod in namespace `bench`, named `<group>-<index>`. */
export function benchPod(
  group: string,
  index: number,
  cpuMillis: number,
  memoryMiB: number,
  labels: Record<string, string>,
): Pod {
  return {
    namespace: "bench",
    name: `${group}-${index}`,
    uid: `bench-${group}-${index}`,
    labels,
    annotations: {},
    creationTimestamp: BENCH_NOW,
    requests: { cpuMillis, memoryBytes: memoryMiB * MiB, pods: 1 },
    nodeSelector: {},
    requiredNodeAffinity: [],
    preferredNodeAffinity: [],
    podAffinity: { required: [], preferred: [] },
    podAntiAffinity: { required: [], preferred: [] },
    tolerations: [],
    topologySpreadConstraints: [],
    hostPorts: [],
    volumeRequirements: [],
    priority: 0,
    phase: "Pending",
    provisionable: true,
    daemonSet: false,
    terminating: false,
  };
}

/** `generic-N`: N pods of group 1 (cpu, memory, then label my-label = pick(a..g)). */
export function genericPods(n: number, seed = 42): Pod[] {
  const rand = mulberry32(seed);
  const pods: Pod[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = pick(rand, CPU);
    const mem = pick(rand, MEMORY_MIB);
    pods.push(benchPod("generic", i, cpu, mem, { "my-label": pick(rand, LETTERS) }));
  }
  return pods;
}

/** The request draws alone (cpu then memory), for kernel rows. */
export function requestDraws(rand: () => number): { cpuMillis: number; memoryBytes: number } {
  const cpuMillis = pick(rand, CPU);
  return { cpuMillis, memoryBytes: pick(rand, MEMORY_MIB) * MiB };
}

const GROUPS = [
  "generic",
  "zone-spread",
  "hostname-spread",
  "zone-affinity",
  "hostname-anti-affinity",
] as const;
const ZONE = "topology.kubernetes.io/zone";
const HOSTNAME = "kubernetes.io/hostname";

/**
 * `diverse-N`: Karpenter's `makeDiversePods(N)`: floor(N/5) pods of each of the five groups in order
 * (generic, zone spread, hostname spread, zone self-affinity, hostname anti-affinity), then the
 * remainder generic (their indexes continue the generic group's). One generator for all pods.
 */
export function diversePods(n: number, seed = 42): Pod[] {
  const rand = mulberry32(seed);
  const each = Math.floor(n / 5);
  const pods: Pod[] = [];
  const index = new Map<string, number>();
  const make = (group: (typeof GROUPS)[number]) => {
    const i = index.get(group) ?? 0;
    index.set(group, i + 1);
    const cpu = pick(rand, CPU);
    const mem = pick(rand, MEMORY_MIB);
    if (group === "generic") return benchPod(group, i, cpu, mem, { "my-label": pick(rand, LETTERS) });
    if (group === "zone-spread" || group === "hostname-spread") {
      const pod = benchPod(group, i, cpu, mem, { "my-label": pick(rand, LETTERS) });
      pod.topologySpreadConstraints = [
        {
          maxSkew: 1,
          topologyKey: group === "zone-spread" ? ZONE : HOSTNAME,
          whenUnsatisfiable: "DoNotSchedule",
          labelSelector: { matchLabels: { "my-label": pick(rand, LETTERS) }, matchExpressions: [] },
          nodeAffinityPolicy: "Honor",
          nodeTaintsPolicy: "Ignore",
          matchLabelKeys: [],
        },
      ];
      return pod;
    }
    if (group === "zone-affinity") {
      const value = pick(rand, LETTERS);
      const pod = benchPod(group, i, cpu, mem, { "my-affininity": value });
      pod.podAffinity = { required: [affinityTerm({ "my-affininity": value }, ZONE)], preferred: [] };
      return pod;
    }
    const pod = benchPod(group, i, cpu, mem, { app: "nginx" });
    pod.podAntiAffinity = { required: [affinityTerm({ app: "nginx" }, HOSTNAME)], preferred: [] };
    return pod;
  };
  for (const group of GROUPS) for (let k = 0; k < each; k++) pods.push(make(group));
  while (pods.length < n) pods.push(make("generic"));
  return pods;
}

function affinityTerm(matchLabels: Record<string, string>, topologyKey: string): PodAffinityTerm {
  return {
    labelSelector: { matchLabels, matchExpressions: [] },
    namespaces: [],
    topologyKey,
    matchLabelKeys: [],
    mismatchLabelKeys: [],
  };
}

/**
 * `mixed-N`, the heterogeneous workload (our design; documented in BENCHMARKS.md). Pods come in five
 * kinds, in this order and proportion: 35% web (the standard cpu/memory draws, label app=web-<a..g>),
 * 20% memory-heavy cache (cpu pick{250,500,1000}m, memory pick{4,8,16} GiB), 20% cpu-heavy batch (cpu
 * pick{2000,3000,4000}m, memory pick{512,1024,2048} MiB), 20% arm64-only api (standard draws,
 * nodeSelector kubernetes.io/arch=arm64), and the rest (5%) GPU inference (cpu pick{2000,4000}m,
 * memory pick{8,16} GiB, nvidia.com/gpu 1, tolerating the GPU taint). Two NodePools: `general`
 * (instance categories c, m, r, t; amd64 and arm64) and `gpu` (NVIDIA GPU types, tainted
 * nvidia.com/gpu=true:NoSchedule). One DaemonSet, `node-agent` (100m, 128 MiB), tolerating every
 * taint, so it runs on every node of both pools. Catalog: aws-us-east-1 (the one with GPUs and arm64).
 */
export function mixedWorkload(
  n: number,
  seed = 42,
): {
  pods: Pod[];
  nodePools: NodePool[];
  daemonSets: DaemonSet[];
} {
  const rand = mulberry32(seed);
  const counts = { web: 0, cache: 0, batch: 0, "api-arm": 0, gpu: 0 };
  counts.cache = Math.floor(n * 0.2);
  counts.batch = Math.floor(n * 0.2);
  counts["api-arm"] = Math.floor(n * 0.2);
  counts.gpu = Math.floor(n * 0.05);
  counts.web = n - counts.cache - counts.batch - counts["api-arm"] - counts.gpu;
  const pods: Pod[] = [];
  for (let i = 0; i < counts.web; i++) {
    const cpu = pick(rand, CPU);
    const mem = pick(rand, MEMORY_MIB);
    pods.push(benchPod("web", i, cpu, mem, { app: `web-${pick(rand, LETTERS)}` }));
  }
  for (let i = 0; i < counts.cache; i++) {
    const cpu = pick(rand, [250, 500, 1000]);
    pods.push(benchPod("cache", i, cpu, pick(rand, [4096, 8192, 16384]), { app: "cache" }));
  }
  for (let i = 0; i < counts.batch; i++) {
    const cpu = pick(rand, [2000, 3000, 4000]);
    pods.push(benchPod("batch", i, cpu, pick(rand, [512, 1024, 2048]), { app: "batch" }));
  }
  for (let i = 0; i < counts["api-arm"]; i++) {
    const cpu = pick(rand, CPU);
    const pod = benchPod("api-arm", i, cpu, pick(rand, MEMORY_MIB), { app: "api-arm" });
    pod.nodeSelector = { "kubernetes.io/arch": "arm64" };
    pods.push(pod);
  }
  for (let i = 0; i < counts.gpu; i++) {
    const cpu = pick(rand, [2000, 4000]);
    const pod = benchPod("gpu", i, cpu, pick(rand, [8192, 16384]), { app: "inference" });
    pod.requests = { ...pod.requests, "nvidia.com/gpu": 1 };
    pod.tolerations = [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }];
    pods.push(pod);
  }
  const nodePools = [
    NodePoolSchema.parse({
      name: "general",
      template: {
        requirements: [
          { key: "karpenter.k8s.aws/instance-category", operator: "In", values: ["c", "m", "r", "t"] },
          { key: "kubernetes.io/arch", operator: "In", values: ["amd64", "arm64"] },
        ],
      },
    }),
    NodePoolSchema.parse({
      name: "gpu",
      template: {
        requirements: [
          { key: "karpenter.k8s.aws/instance-gpu-manufacturer", operator: "In", values: ["nvidia"] },
        ],
        taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }],
      },
    }),
  ];
  const daemonSets = [
    DaemonSetSchema.parse({
      namespace: "kube-system",
      name: "node-agent",
      requests: { cpuMillis: 100, memoryBytes: 128 * MiB, pods: 1 },
      tolerations: [{ operator: "Exists" }],
    }),
  ];
  return { pods, nodePools, daemonSets };
}

/**
 * AWS's and Karpenter's documented NodePool (../shared/BENCHMARK-SCENARIOS.md `documented`): linux,
 * amd64, on-demand, instance categories c, m, r, instance generation above 2. `arm64` adds arm64 to
 * the architectures (the consolidate rows).
 */
export function documentedNodePool(name = "documented", options: { arm64?: boolean } = {}): NodePool {
  return NodePoolSchema.parse({
    name,
    template: {
      requirements: [
        { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
        { key: "kubernetes.io/arch", operator: "In", values: options.arm64 ? ["amd64", "arm64"] : ["amd64"] },
        { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
        { key: "karpenter.k8s.aws/instance-category", operator: "In", values: ["c", "m", "r"] },
        { key: "karpenter.k8s.aws/instance-generation", operator: "Gt", values: ["2"] },
      ],
    },
  });
}

/** A NodePool with no requirements (the `/unrestricted` stress rows). */
export function unrestrictedNodePool(name = "unrestricted"): NodePool {
  return NodePoolSchema.parse({ name });
}

/**
 * The usual EKS DaemonSets, on every node of every NodePool (they tolerate every taint): aws-node
 * (cpu 25m), kube-proxy (cpu 100m), ebs-csi-node (cpu 30m, memory 120Mi), a log agent (cpu 100m,
 * memory 128Mi). Each pod also takes one of the node's pod slots.
 */
export function eksDaemonSets(): DaemonSet[] {
  const ds = (namespace: string, name: string, cpuMillis: number, memoryMiB: number) =>
    DaemonSetSchema.parse({
      namespace,
      name,
      requests: { cpuMillis, ...(memoryMiB > 0 ? { memoryBytes: memoryMiB * MiB } : {}), pods: 1 },
      tolerations: [{ operator: "Exists" }],
    });
  return [
    ds("kube-system", "aws-node", 25, 0),
    ds("kube-system", "kube-proxy", 100, 0),
    ds("kube-system", "ebs-csi-node", 30, 120),
    ds("logging", "log-agent", 100, 128),
  ];
}

/**
 * `large-shapes-N` (our design, for the bound: few, large, heterogeneous shapes, like the real trace
 * of issue #19 with 2,356 pods in 25 shapes of 8-32 cores and 30-56 GiB). 25 shapes, drawn in this
 * order: cpu pick({8,12,16,24,32}) cores, memory 30 + floor(27 x rand()) GiB, weight 10 + floor(190 x
 * rand()); shape s gets floor(N x weight_s / total weight) pods, the remainder one each to the first
 * shapes. Pods are named `large-<index>` in shape order, label shape=<s>.
 */
export function largeShapesPods(n: number, seed = 42): Pod[] {
  const rand = mulberry32(seed);
  const shapes = Array.from({ length: 25 }, () => {
    const cores = pick(rand, [8, 12, 16, 24, 32]);
    const memoryGiB = 30 + Math.floor(27 * rand());
    const weight = 10 + Math.floor(190 * rand());
    return { cores, memoryGiB, weight };
  });
  const total = shapes.reduce((s, x) => s + x.weight, 0);
  const counts = shapes.map((x) => Math.floor((n * x.weight) / total));
  let left = n - counts.reduce((s, c) => s + c, 0);
  for (let i = 0; left > 0; i = (i + 1) % counts.length, left--) counts[i] = (counts[i] as number) + 1;
  const pods: Pod[] = [];
  shapes.forEach((x, s) => {
    for (let k = 0; k < (counts[s] as number); k++)
      pods.push(benchPod("large", pods.length, x.cores * 1000, x.memoryGiB * 1024, { shape: String(s) }));
  });
  return pods;
}
