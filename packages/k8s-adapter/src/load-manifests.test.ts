import { readFileSync } from "node:fs";
import { renderInputError } from "@nodeplan/core";
import { describe, expect, it } from "vitest";
import { loadManifests } from "./load-manifests.ts";
import { renderLoadWarning } from "./warnings.ts";

const fixture = (name: string) => ({
  source: name,
  text: readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"),
});
const now = "2026-11-22T12:00:00Z";

describe("production setup", () => {
  const result = loadManifests([fixture("production.yaml")], { now });
  const { cluster } = result;

  it("loads everything without errors and lists the unknown kind as skipped", () => {
    expect(result.errors).toEqual([]);
    expect(result.skipped).toEqual([
      { source: "production.yaml", index: [18], kind: "ConfigMap", name: "settings" },
    ]);
  });

  it("reads NodePools with the CRD's defaults", () => {
    const general = cluster.nodePools.find((p) => p.name === "general");
    const system = cluster.nodePools.find((p) => p.name === "system");
    expect(general?.weight).toBe(0);
    expect(general?.limits).toEqual({ cpuMillis: 1_000_000, memoryBytes: 4000 * 2 ** 30 });
    expect(general?.template.expireAfter).toBe("336h");
    expect(general?.disruption.budgets).toEqual([
      { nodes: "10%" },
      { nodes: "0", schedule: "0 9 * * mon-fri", duration: "8h", reasons: ["Underutilized"] },
    ]);
    expect(system?.template.taints).toEqual([
      { key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" },
    ]);
    expect(system?.template.expireAfter).toBe("720h");
    expect(system?.disruption).toEqual({
      consolidationPolicy: "WhenEmpty",
      consolidateAfter: "Never",
      budgets: [{ nodes: "10%" }],
    });
    expect(result.nodePoolUids).toEqual({ general: "3b7c5a1e-2f0d-4c8e-9a61-0d5f6e7a8b90" });
  });

  it("synthesizes 40 API pods with LimitRange defaults, priority and reproducible uids", () => {
    const api = cluster.pods.filter((p) => p.owner?.name === "api");
    expect(api).toHaveLength(40);
    expect(api.map((p) => p.name).slice(0, 3)).toEqual(["api-0", "api-1", "api-2"]);
    // api 500m/1Gi + log-shipper from the LimitRange: defaultRequest cpu 100m, default limit memory 512Mi.
    expect(api[0]?.requests).toEqual({ cpuMillis: 600, memoryBytes: 1.5 * 2 ** 30, pods: 1 });
    expect(api[0]?.priority).toBe(100_000);
    expect(api[0]?.creationTimestamp).toBe("2026-11-01T10:00:00Z");
    expect(api[0]?.provisionable).toBe(true);
    expect(api[0]?.podAntiAffinity.preferred[0]?.term.namespaces).toEqual(["shop"]);
    expect(api[0]?.topologySpreadConstraints[0]).toMatchObject({
      nodeAffinityPolicy: "Honor",
      nodeTaintsPolicy: "Ignore",
    });
    expect(new Set(api.map((p) => p.uid)).size).toBe(40);
    const again = loadManifests([fixture("production.yaml")], { now });
    expect(again.cluster.pods.map((p) => p.uid)).toEqual(cluster.pods.map((p) => p.uid));
  });

  it("plans for the HPA's maxReplicas when asked", () => {
    const atMax = loadManifests([fixture("production.yaml")], { now, maxReplicasFromHpa: true });
    expect(atMax.cluster.pods.filter((p) => p.owner?.name === "api")).toHaveLength(150);
    expect(cluster.horizontalPodAutoscalers).toEqual([
      {
        namespace: "shop",
        name: "api",
        target: { kind: "Deployment", name: "api" },
        minReplicas: 4,
        maxReplicas: 150,
      },
    ]);
  });

  it("reads the PDB, DaemonSet, namespaces and priority classes", () => {
    expect(cluster.podDisruptionBudgets).toEqual([
      {
        namespace: "shop",
        name: "api",
        selector: { matchLabels: { app: "api" }, matchExpressions: [] },
        maxUnavailable: 1,
        unhealthyPodEvictionPolicy: "IfHealthyBudget",
      },
    ]);
    const ds = cluster.daemonSets[0];
    expect(ds?.requests).toEqual({ cpuMillis: 50, memoryBytes: 64 * 2 ** 20, pods: 1 });
    expect(ds?.priority).toBe(2_000_001_000);
    expect(cluster.namespaces).toEqual([
      { name: "shop", labels: { "kubernetes.io/metadata.name": "shop", tier: "frontend" } },
    ]);
    expect(cluster.nodeClasses[0]).toMatchObject({ kind: "EC2NodeClass", name: "default" });
  });

  it("gives StatefulSet pods the zone of their bound volume, or the StorageClass's topologies", () => {
    const db0 = cluster.pods.find((p) => p.name === "db-0");
    const db1 = cluster.pods.find((p) => p.name === "db-1");
    expect(db0?.volumeRequirements).toEqual([
      { key: "topology.kubernetes.io/zone", operator: "In", values: ["us-east-1c"] },
    ]);
    expect(db1?.volumeRequirements).toEqual([
      { key: "topology.kubernetes.io/zone", operator: "In", values: ["us-east-1a", "us-east-1b"] },
    ]);
    expect(db0?.priority).toBe(10); // the globalDefault PriorityClass
  });

  it("synthesizes Jobs for the remaining completions and CronJobs for one run", () => {
    const migrate = cluster.pods.filter((p) => p.owner?.name === "migrate");
    expect(migrate.map((p) => p.name)).toEqual(["migrate-0", "migrate-1"]);
    // Init container 4 cpu before the sidecar; app 1 cpu (limit) + sidecar 250m. Memory: the init
    // container's LimitRange default 512Mi beats app 256Mi + sidecar 128Mi.
    expect(migrate[0]?.requests).toEqual({ cpuMillis: 4000, memoryBytes: 512 * 2 ** 20, pods: 1 });
    const report = cluster.pods.filter((p) => p.owner?.name === "report");
    expect(report).toHaveLength(1);
    expect(report[0]?.nodeSelector).toEqual({ "kubernetes.io/arch": "arm64" });
  });
});

describe("kubectl List dump", () => {
  const result = loadManifests([fixture("kubectl-list.yaml")], { now });
  const { cluster } = result;

  it("loads through status noise and managedFields", () => {
    expect(result.errors).toEqual([]);
    expect(result.skipped).toEqual([]);
  });

  it("merges a Node with its NodeClaim by providerID and keeps an unlaunched NodeClaim in flight", () => {
    expect(cluster.nodes.map((n) => [n.name, n.nodeClaim, n.inFlight])).toEqual([
      ["ip-10-0-1-17.ec2.internal", "general-x7k2p", false],
      ["ip-10-0-9-9.ec2.internal", undefined, false],
      ["general-q9w4r", "general-q9w4r", true],
    ]);
    const [managed, unmanaged, inFlight] = cluster.nodes;
    expect(managed).toMatchObject({
      nodePool: "general",
      capacityType: "spot",
      instanceType: "m6g.large",
      zone: "us-east-1a",
      expireAfter: "336h",
      initialized: true,
      ready: true,
      taints: [{ key: "example.com/maintenance", value: "soon", effect: "PreferNoSchedule" }],
    });
    expect(managed?.allocatable).toEqual({
      cpuMillis: 1930,
      memoryBytes: 7291432 * 1024,
      ephemeralBytes: 18242267924,
      pods: 29,
    });
    expect(unmanaged?.nodePool).toBeUndefined();
    expect(unmanaged).toMatchObject({ capacityType: "on-demand", unschedulable: true, ready: false });
    expect(inFlight).toMatchObject({
      instanceType: "c6i.xlarge",
      zone: "us-east-1b",
      capacityType: "on-demand",
      initialized: false,
    });
    expect(inFlight?.allocatable).toEqual({ cpuMillis: 3000, memoryBytes: 4 * 2 ** 30, pods: 3 });
  });

  it("decides which pods are provisionable", () => {
    const byName = new Map(cluster.pods.map((p) => [p.name, p]));
    expect(byName.get("api-7d9f8c6b5-abcde")).toMatchObject({
      provisionable: true,
      priority: 100_000,
      annotations: {
        "karpenter.sh/do-not-disrupt": "true",
        "controller.kubernetes.io/pod-deletion-cost": "-100",
      },
      tolerations: [
        {
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
      ],
    });
    expect(byName.get("web-0")).toMatchObject({
      provisionable: false,
      terminating: true,
      nodeName: "ip-10-0-1-17.ec2.internal",
    });
    expect(byName.get("node-exporter-j2k4l")).toMatchObject({ provisionable: false, daemonSet: true });
    expect(byName.get("gated")?.provisionable).toBe(false);
  });

  it("does not synthesize pods for a Deployment whose pods are present (matched through the ReplicaSet name)", () => {
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: shop }
spec:
  replicas: 5
  template: { spec: { containers: [{ name: api }] } }
`;
    const both = loadManifests([fixture("kubectl-list.yaml"), { source: "deploy.yaml", text: deployment }], {
      now,
    });
    expect(both.cluster.pods.filter((p) => p.namespace === "shop" && p.name.startsWith("api"))).toHaveLength(
      1,
    );
  });
});

describe("bad input", () => {
  it("reports each error exactly and still loads the valid object", () => {
    const result = loadManifests([fixture("bad-input.yaml")], { now });
    expect(result.errors.map(renderInputError)).toEqual([
      "bad-input.yaml: Pod shop/wrong-type: [1].spec.containers is invalid: Invalid input: expected array, received string",
      "bad-input.yaml: Deployment (unnamed): [2].metadata.name is invalid: Invalid input: expected string, received undefined",
      'bad-input.yaml: NodePool legacy: [3].apiVersion ("karpenter.sh/v1beta1") is not supported: expected karpenter.sh/v1',
      "bad-input.yaml: NodePool no-requirements: [4].spec.template.spec.requirements is invalid: Invalid input: expected array, received undefined",
      'bad-input.yaml: Pod shop/bad-quantity: [0].spec.containers[0].resources.requests.cpu ("2 cores") is not a valid quantity: expected a Kubernetes quantity such as 500m, 2, 1.5Gi or 1e3',
    ]);
    expect(result.errors[4]).toEqual({
      code: "invalid_quantity",
      source: "bad-input.yaml",
      object: "Pod shop/bad-quantity",
      path: [0, "spec", "containers", 0, "resources", "requests", "cpu"],
      value: "2 cores",
      expected: "a Kubernetes quantity such as 500m, 2, 1.5Gi or 1e3",
    });
    expect(result.cluster.pods.map((p) => p.name)).toEqual(["fine"]);
    expect(result.cluster.nodePools).toEqual([]);
  });

  it("reports a YAML syntax error with its line and loads the other documents", () => {
    const result = loadManifests([fixture("syntax-error.yaml.txt")], { now });
    expect(result.errors).toEqual([
      {
        code: "invalid_schema",
        source: "syntax-error.yaml.txt",
        path: [1],
        expected: "valid YAML or JSON",
        detail:
          "line 10, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]",
      },
    ]);
    expect(result.cluster.namespaces.map((n) => n.name)).toEqual(["first", "third"]);
  });

  it("names a List item by document and item index, and reads JSON", () => {
    const json = JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "ok" } },
        {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name: "n1" },
          status: { allocatable: { memory: "1.5.5Gi" } },
        },
      ],
    });
    const result = loadManifests([{ source: "dump.json", text: json }], { now });
    expect(result.errors).toMatchObject([
      {
        code: "invalid_quantity",
        object: "Node n1",
        path: [0, "items", 1, "status", "allocatable", "memory"],
        value: "1.5.5Gi",
      },
    ]);
    expect(result.cluster.namespaces.map((n) => n.name)).toEqual(["ok"]);
    expect(result.cluster.nodes).toEqual([]);
  });

  it("warns about a missing PriorityClass and PVC, and uses priority 0", () => {
    const text = `apiVersion: v1
kind: Pod
metadata: { name: p, namespace: shop, creationTimestamp: "2026-11-22T00:00:00Z" }
spec:
  priorityClassName: nightly
  containers: [{ name: c }]
  volumes: [{ name: data, persistentVolumeClaim: { claimName: missing } }]
`;
    const result = loadManifests([{ source: "pod.yaml", text }], { now });
    expect(result.warnings.map(renderLoadWarning)).toEqual([
      'pod.yaml, document 1: Pod shop/p: spec.volumes[0]: PersistentVolumeClaim "missing" is not in the input; its volume\'s zone is not known',
      'pod.yaml, document 1: Pod shop/p: spec.priorityClassName: PriorityClass "nightly" is not in the input; priority 0 is used',
    ]);
    expect(result.cluster.pods[0]?.priority).toBe(0);
  });
});
