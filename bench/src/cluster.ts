import {
  type DaemonSet,
  DaemonSetSchema,
  type InstanceType,
  type Node,
  type NodePool,
  NodePoolSchema,
  type Pod,
  type PodDisruptionBudget,
} from "@nodeplan/core";
import { catalog } from "./catalogs.ts";
import { mulberry32, pick } from "./random.ts";
import { benchPod, requestDraws } from "./workloads.ts";

const FAMILIES = ["m5", "m6i", "c6i", "r6i", "m6g", "c7g"];
const SIZES = ["large", "xlarge", "2xlarge", "4xlarge"];
const ZONES = ["a", "b", "c"];
const LETTERS = ["a", "b", "c", "d", "e", "f", "g"];
const REPLICA_SET_SIZE = 50;
/** When the existing nodes were created (a day before `now`: nothing is young, nothing expires). */
const CREATED_AT = "2026-10-31T00:00:00Z";

/** The existing cluster of a `consolidate-N` scenario: nodes, their bound pods, one NodePool, the PDBs. */
export interface ConsolidationCluster {
  nodes: Node[];
  pods: Pod[];
  nodePools: NodePool[];
  daemonSets: DaemonSet[];
  pdbs: PodDisruptionBudget[];
  instanceTypes: InstanceType[];
}

const MiB = 1024 * 1024;
/** The usual EKS DaemonSets (BENCHMARK-SCENARIOS.md), on every node. */
export const EKS_DAEMONSETS: DaemonSet[] = [
  { name: "aws-node", requests: { cpuMillis: 25 } },
  { name: "kube-proxy", requests: { cpuMillis: 100 } },
  { name: "ebs-csi-node", requests: { cpuMillis: 30, memoryBytes: 120 * MiB } },
  { name: "log-agent", requests: { cpuMillis: 100, memoryBytes: 128 * MiB } },
].map((d) =>
  DaemonSetSchema.parse({
    namespace: "kube-system",
    name: d.name,
    labels: { app: d.name },
    requests: { ...d.requests, pods: 1 },
    tolerations: [{ operator: "Exists" }],
  }),
);

/** The `documented` NodePool (AWS's and Karpenter's example) with arm64 added, as consolidate rows run it. */
export function documentedPoolWithArm64(): NodePool {
  return NodePoolSchema.parse({
    name: "default",
    template: {
      requirements: [
        { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
        { key: "kubernetes.io/arch", operator: "In", values: ["amd64", "arm64"] },
        { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
        { key: "karpenter.k8s.aws/instance-category", operator: "In", values: ["c", "m", "r"] },
        { key: "karpenter.k8s.aws/instance-generation", operator: "Gt", values: ["2"] },
      ],
    },
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "0s",
      budgets: [{ nodes: "10%" }],
    },
  });
}

/**
 * `consolidate-N` (../shared/BENCHMARK-SCENARIOS.md): N nodes on aws-us-east-1. Per node, in this order:
 * family, size, zone, target = 0.2 + 0.7 x rand(); then generic pods (cpu, memory, label draws) are
 * drawn one at a time and bound while the node's cpu requests stay at or below target x allocatable
 * cpu and memory and pods fit; the first drawn pod that does not is discarded and the next node begins
 * (our reading of "added while"). Pods are owned by ReplicaSets of 50 in creation order, each with a
 * PDB maxUnavailable 1 selecting its pods.
 */
export function consolidationCluster(n: number, seed = 42): ConsolidationCluster {
  const rand = mulberry32(seed);
  const types = catalog("aws-us-east-1");
  const byName = new Map(types.map((t) => [t.name, t]));
  const nodes: Node[] = [];
  const pods: Pod[] = [];
  let app = 0;
  for (let i = 0; i < n; i++) {
    const family = pick(rand, FAMILIES);
    const size = pick(rand, SIZES);
    const zone = `us-east-1${pick(rand, ZONES)}`;
    const target = 0.2 + 0.7 * rand();
    const type = byName.get(`${family}.${size}`);
    if (type === undefined) throw new Error(`consolidate: ${family}.${size} is not in aws-us-east-1`);
    const offering = type.offerings.find((o) => o.zone === zone && o.capacityType === "on-demand");
    if (offering === undefined)
      throw new Error(`consolidate: ${type.name} has no on-demand offering in ${zone}`);
    const name = `node-${i}`;
    const alloc = type.allocatable;
    nodes.push({
      name,
      providerID: `aws:///${zone}/i-${i.toString(16).padStart(17, "0")}`,
      nodeClaim: `default-${i}`,
      labels: {
        ...type.labels,
        "topology.kubernetes.io/zone": zone,
        "karpenter.sh/capacity-type": "on-demand",
        "karpenter.sh/nodepool": "default",
        "kubernetes.io/hostname": name,
      },
      annotations: {},
      taints: [],
      capacity: type.capacity,
      allocatable: alloc,
      instanceType: type.name,
      zone,
      capacityType: "on-demand",
      nodePool: "default",
      pricePerHour: offering.pricePerHour,
      createdAt: CREATED_AT,
      initialized: true,
      ready: true,
      deleting: false,
      unschedulable: false,
      inFlight: false,
      lastPodEventAt: CREATED_AT,
      expireAfter: "720h",
    });
    // The DaemonSets run on every node first; the fill target counts them.
    const used = { cpuMillis: 0, memoryBytes: 0, pods: 0 };
    for (const ds of EKS_DAEMONSETS) {
      used.cpuMillis += ds.requests.cpuMillis ?? 0;
      used.memoryBytes += ds.requests.memoryBytes ?? 0;
      used.pods += 1;
      const pod = benchPod(
        `${ds.name}-${i}`,
        0,
        ds.requests.cpuMillis ?? 0,
        (ds.requests.memoryBytes ?? 0) / MiB,
        {
          app: ds.name,
        },
      );
      pods.push({
        ...pod,
        namespace: "kube-system",
        name: `${ds.name}-${name}`,
        uid: `bench-${ds.name}-${name}`,
        nodeName: name,
        phase: "Running",
        provisionable: false,
        daemonSet: true,
        startTime: CREATED_AT,
        tolerations: [{ operator: "Exists" }],
      });
    }
    for (;;) {
      const r = requestDraws(rand);
      const label = pick(rand, LETTERS);
      const fits =
        used.cpuMillis + r.cpuMillis <= target * (alloc.cpuMillis ?? 0) &&
        used.memoryBytes + r.memoryBytes <= (alloc.memoryBytes ?? 0) &&
        used.pods + 1 <= (alloc.pods ?? 0);
      if (!fits) break;
      used.cpuMillis += r.cpuMillis;
      used.memoryBytes += r.memoryBytes;
      used.pods++;
      const k = app++;
      const rs = `rs-${Math.floor(k / REPLICA_SET_SIZE)}`;
      const pod = benchPod("generic", k, r.cpuMillis, r.memoryBytes / 2 ** 20, {
        "my-label": label,
        app: rs,
      });
      pod.owner = { kind: "ReplicaSet", name: rs, uid: `bench-${rs}`, controller: true };
      pod.nodeName = name;
      pod.phase = "Running";
      pod.provisionable = false;
      pod.startTime = CREATED_AT;
      pods.push(pod);
    }
  }
  const pdbs: PodDisruptionBudget[] = [];
  for (let j = 0; j * REPLICA_SET_SIZE < app; j++) {
    pdbs.push({
      namespace: "bench",
      name: `rs-${j}`,
      selector: { matchLabels: { app: `rs-${j}` }, matchExpressions: [] },
      maxUnavailable: 1,
      unhealthyPodEvictionPolicy: "IfHealthyBudget",
    });
  }
  return {
    nodes,
    pods,
    nodePools: [documentedPoolWithArm64()],
    daemonSets: EKS_DAEMONSETS,
    pdbs,
    instanceTypes: types,
  };
}

/** The cluster's $/h now. */
export function clusterCostPerHour(nodes: readonly Node[]): number {
  return nodes.reduce((s, n) => s + (n.pricePerHour ?? 0), 0);
}
