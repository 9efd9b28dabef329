import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  type CatalogSource,
  type CloudInstance,
  type DecideOptions,
  type InstanceType,
  type LaunchedInstance,
  type Launcher,
  LaunchFailedError,
  type NodePool,
  type PlannedNodeClaim,
  parseCatalog,
  type UnavailableOffering,
} from "@nodeplan/core";
import type { FakeApiServer } from "./fake-apiserver.ts";

/**
 * The decision step's waits scaled down for tests that run on the wall clock (each stays in Karpenter's
 * order: validation longer than the poll): a consolidation is re-validated 0.3 s after it is found
 * (15 s in production), graceful disruption is planned every 0.1 s (10 s), a pending pod the last pass
 * could not place is retried after 0.5 s (10 s), and the batch window is 50 ms idle, 0.5 s at most (1 s, 10 s).
 */
export const FAST_DECIDE: DecideOptions = {
  validationSeconds: 0.3,
  disruptionPollSeconds: 0.1,
  provisioningRetrySeconds: 0.5,
  batchIdleSeconds: 0.05,
  batchMaxSeconds: 0.5,
};

/** A few real us-east-1 types from ../shared/data (on-demand, three zones). */
const catalogTypes: InstanceType[] = (() => {
  const raw = JSON.parse(
    readFileSync(
      new URL("../../../../../../shared/data/aws-catalog-us-east-1.json", import.meta.url),
      "utf8",
    ),
  ) as {
    meta: unknown;
    instanceTypes: { name: string }[];
  };
  const keep = new Set(["m5.large", "m5.xlarge", "m5.2xlarge", "c5.large", "c5.xlarge", "r5.large"]);
  return parseCatalog({ ...raw, instanceTypes: raw.instanceTypes.filter((t) => keep.has(t.name)) })
    .instanceTypes;
})();

/** A catalog source over those types (the same for every NodePool). */
export const staticCatalog: CatalogSource = {
  instanceTypes: async () => catalogTypes,
};

/** An instance the fake cloud runs. */
export interface FakeInstance {
  id: string;
  providerID: string;
  /** The claim's name and uid at launch: EC2's client token (the same token returns the same instance). */
  token: string;
  nodeClaim: string;
  nodePool: string;
  launchedAt: string;
  instance: LaunchedInstance;
}

/**
 * An EC2 stand-in behind core's Launcher: one instance per client token (claim name + uid, as
 * CreateFleet's ClientToken), so a retried launch returns the instance it started. `failNext` makes
 * launches fail definitely (LaunchFailedError, an offering marked unavailable); `loseNext` starts the
 * instance and then loses the response (the caller cannot know whether it launched).
 */
export class FakeLauncher implements Launcher {
  /** Instances started (not calls: a repeated token starts nothing). */
  readonly created: {
    claim: PlannedNodeClaim;
    nodePool: string;
    nodeClass: unknown;
    instance: LaunchedInstance;
  }[] = [];
  /** create() calls, in order. */
  readonly calls: string[] = [];
  readonly deleted: { name: string; providerID: string; at: number }[] = [];
  /** Running instances by id. */
  readonly running = new Map<string, FakeInstance>();
  failNext = 0;
  loseNext = 0;
  unavailable: UnavailableOffering[] = [];

  async create(
    claim: PlannedNodeClaim & { uid?: string },
    nodePool: NodePool,
    nodeClass?: unknown,
  ): Promise<LaunchedInstance> {
    this.calls.push(claim.name);
    if (this.failNext > 0) {
      this.failNext -= 1;
      this.unavailable.push({
        instanceType: claim.instanceType,
        zone: claim.zone,
        capacityType: claim.capacityType,
        reason: "InsufficientInstanceCapacity",
        until: new Date(Date.now() + 3_600_000).toISOString(),
      });
      throw new LaunchFailedError(`InsufficientInstanceCapacity: ${claim.instanceType} in ${claim.zone}`);
    }
    const token = `${claim.name}/${claim.uid ?? ""}`;
    let found = [...this.running.values()].find((i) => i.token === token);
    if (found === undefined) {
      const id = `i-${createHash("sha256").update(token).digest("hex").slice(0, 17)}`;
      const instance = {
        providerID: `aws:///${claim.zone}/${id}`,
        instanceType: claim.instanceType,
        zone: claim.zone,
        capacityType: claim.capacityType,
        imageID: "ami-0123456789abcdef0",
        // What a provider stamps (AWS: the capacity reservation); the uid shows the claim object was read.
        labels: { "example.com/claim-uid": claim.uid ?? "none" },
      };
      found = {
        id,
        providerID: instance.providerID,
        token,
        nodeClaim: claim.name,
        nodePool: nodePool.name,
        launchedAt: new Date().toISOString(),
        instance,
      };
      this.running.set(id, found);
      this.created.push({ claim, nodePool: nodePool.name, nodeClass, instance });
    }
    if (this.loseNext > 0) {
      this.loseNext -= 1;
      throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    }
    return found.instance;
  }

  async delete(node: { name: string; providerID: string }): Promise<void> {
    this.deleted.push({ name: node.name, providerID: node.providerID, at: Date.now() });
    for (const [id, i] of this.running) if (i.providerID === node.providerID) this.running.delete(id);
  }

  unavailableOfferings(): UnavailableOffering[] {
    return this.unavailable;
  }

  async instances(): Promise<CloudInstance[]> {
    return [...this.running.values()].map((i) => ({
      providerID: i.providerID,
      nodeClaim: i.nodeClaim,
      nodePool: i.nodePool,
      launchedAt: i.launchedAt,
    }));
  }

  /** An instance started outside this test's controller (a leak, or a seeded node's). */
  seed(options: { id: string; nodeClaim: string; zone?: string; launchedAt?: string }): FakeInstance {
    const zone = options.zone ?? "us-east-1a";
    const providerID = `aws:///${zone}/${options.id}`;
    const seeded: FakeInstance = {
      id: options.id,
      providerID,
      token: `${options.nodeClaim}/seeded`,
      nodeClaim: options.nodeClaim,
      nodePool: "general",
      launchedAt: options.launchedAt ?? new Date().toISOString(),
      instance: { providerID, instanceType: "m5.xlarge", zone, capacityType: "on-demand" },
    };
    this.running.set(options.id, seeded);
    return seeded;
  }
}

/** Seeds a NodePool `general` (on-demand, m/c/r) and its EC2NodeClass. */
export function seedNodePool(api: FakeApiServer, limits: Record<string, string> = { cpu: "1000" }): void {
  api.put({
    apiVersion: "karpenter.k8s.aws/v1",
    kind: "EC2NodeClass",
    metadata: { name: "default" },
    spec: {
      role: "KarpenterNodeRole",
      amiSelectorTerms: [{ alias: "al2023@latest" }],
      subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": "test" } }],
      securityGroupSelectorTerms: [{ tags: { "karpenter.sh/discovery": "test" } }],
    },
  });
  api.put({
    apiVersion: "karpenter.sh/v1",
    kind: "NodePool",
    metadata: { name: "general" },
    spec: {
      template: {
        spec: {
          nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" },
          requirements: [
            { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
            { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] },
          ],
        },
      },
      limits,
      disruption: {
        consolidationPolicy: "WhenEmptyOrUnderutilized",
        consolidateAfter: "0s",
        budgets: [{ nodes: "100%" }],
      },
    },
  });
}

/** A pod kube-scheduler gave up on (PodScheduled=False/Unschedulable). */
export function pendingPod(
  name: string,
  cpu = "500m",
  memory = "1Gi",
  labels: Record<string, string> = { app: "web" },
) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels, creationTimestamp: "2026-12-01T08:00:00Z" },
    spec: { containers: [{ name: "app", image: "nginx", resources: { requests: { cpu, memory } } }] },
    status: {
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }],
    },
  };
}

/** A pod running on a node. */
export function runningPod(
  name: string,
  node: string,
  cpu = "500m",
  labels: Record<string, string> = { app: "web" },
) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      labels,
      creationTimestamp: "2026-12-01T07:00:00Z",
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-abc", uid: "rs-1", controller: true },
      ],
    },
    spec: {
      nodeName: node,
      containers: [{ name: "app", image: "nginx", resources: { requests: { cpu, memory: "512Mi" } } }],
    },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  };
}

/** A ready Node of NodePool `general` with its NodeClaim (an m5.xlarge in us-east-1a by default). */
export function seedManagedNode(
  api: FakeApiServer,
  name: string,
  instanceType = "m5.xlarge",
  zone = "us-east-1a",
  options: {
    /** Merged into the NodeClaim's spec (expireAfter, terminationGracePeriod). */
    claimSpec?: Record<string, unknown>;
    createdAt?: string;
  } = {},
) {
  const it = catalogTypes.find((t) => t.name === instanceType) as InstanceType;
  const cpu = String(it.allocatable.cpuMillis ?? 0);
  const resources = {
    cpu: `${cpu}m`,
    memory: `${it.allocatable.memoryBytes}`,
    pods: `${it.allocatable.pods}`,
  };
  const providerID = `aws:///${zone}/i-${name}`;
  const labels = {
    "karpenter.sh/nodepool": "general",
    "karpenter.sh/initialized": "true",
    "karpenter.sh/registered": "true",
    "node.kubernetes.io/instance-type": instanceType,
    "topology.kubernetes.io/zone": zone,
    "karpenter.sh/capacity-type": "on-demand",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/os": "linux",
    "kubernetes.io/hostname": name,
  };
  const conditions = [
    { type: "Launched", status: "True" },
    { type: "Registered", status: "True" },
    { type: "Initialized", status: "True" },
    { type: "Ready", status: "True" },
  ];
  api.put({
    apiVersion: "karpenter.sh/v1",
    kind: "NodeClaim",
    metadata: {
      name: `${name}-claim`,
      labels,
      creationTimestamp: options.createdAt ?? "2026-12-01T06:00:00Z",
    },
    spec: {
      nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" },
      requirements: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: [instanceType] }],
      ...options.claimSpec,
    },
    status: { providerID, nodeName: name, capacity: resources, allocatable: resources, conditions },
  });
  api.put({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels, creationTimestamp: options.createdAt ?? "2026-12-01T06:00:00Z" },
    spec: { providerID },
    status: { capacity: resources, allocatable: resources, conditions: [{ type: "Ready", status: "True" }] },
  });
}

/** Polls until `check` holds (fails the test after `timeoutMs`). */
export async function until(check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What a kubelet and Karpenter's registration would do: a Node for every launched claim, then Initialized. */
export function registerLaunchedClaims(api: FakeApiServer): void {
  for (const claim of api.list("karpenter.sh/v1", "NodeClaim")) {
    const status = (claim.status ?? {}) as {
      providerID?: string;
      nodeName?: string;
      allocatable?: Record<string, string>;
      capacity?: Record<string, string>;
      conditions?: unknown[];
    };
    if (status.providerID === undefined || status.nodeName !== undefined) continue;
    const name = claim.metadata.name;
    api.put({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        labels: {
          ...claim.metadata.labels,
          "karpenter.sh/initialized": "true",
          "kubernetes.io/hostname": name,
        },
        ownerReferences: [
          { apiVersion: "karpenter.sh/v1", kind: "NodeClaim", name, uid: String(claim.metadata.uid) },
        ],
      },
      spec: { providerID: status.providerID },
      status: {
        capacity: status.capacity,
        allocatable: status.allocatable,
        conditions: [{ type: "Ready", status: "True" }],
      },
    });
    api.put({
      ...claim,
      status: {
        ...status,
        nodeName: name,
        conditions: [
          ...(status.conditions ?? []),
          { type: "Registered", status: "True" },
          { type: "Initialized", status: "True" },
          { type: "Ready", status: "True" },
        ],
      },
    });
  }
}

/** `kubectl delete` of a cluster-scoped object: a DELETE the apiserver answers honouring finalizers. */
export async function kubectlDelete(api: FakeApiServer, path: string): Promise<number> {
  const res = await fetch(`${api.url}${path}`, { method: "DELETE" });
  await res.arrayBuffer();
  return res.status;
}
