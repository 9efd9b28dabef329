import { readFileSync } from "node:fs";
import { NodeClaim } from "@kubernetes-models/karpenter/karpenter.sh/v1/NodeClaim";
import type { PlannedNodeClaim } from "@nodeplan/core";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadManifests } from "./load-manifests.ts";
import { toNodeClaimManifests } from "./nodeclaim-manifests.ts";
import { toJson, toYaml } from "./serialize.ts";

const text = readFileSync(new URL("./fixtures/production.yaml", import.meta.url), "utf8");
const loaded = loadManifests([{ source: "production.yaml", text }], { now: "2026-11-22T12:00:00Z" });
const options = {
  nodePools: loaded.cluster.nodePools,
  pods: loaded.cluster.pods,
  nodeClasses: loaded.cluster.nodeClasses,
  nodePoolUids: loaded.nodePoolUids,
};

const claim: PlannedNodeClaim = {
  name: "general-0",
  nodePool: "general",
  instanceType: "m7g.xlarge",
  instanceTypeOptions: ["m7g.xlarge", "c7i.2xlarge", "m6i.xlarge"],
  zone: "us-east-1a",
  capacityType: "spot",
  pricePerHour: 0.0712,
  worstPricePerHour: 0.1105,
  requirements: [
    { key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] },
    { key: "kubernetes.io/arch", operator: "In", values: ["arm64", "amd64"] },
    { key: "karpenter.k8s.aws/instance-generation", operator: "Gte", values: ["6"] },
    { key: "node.kubernetes.io/instance-type", operator: "In", values: ["m7g.xlarge"], minValues: 2 },
    { key: "example.com/rack", operator: "In", values: ["r2"] },
    { key: "kubernetes.io/hostname", operator: "In", values: ["hostname-placeholder-0001"] },
  ],
  daemonSetOverhead: { cpuMillis: 50, memoryBytes: 64 * 2 ** 20, pods: 1 },
  pods: ["shop/api-0", "shop/api-1"],
  annotations: { "karpenter.sh/nodeclaim-min-values-relaxed": "true" },
};

/** The CRD's CEL rules that the generated JSON schema does not carry (K: pkg/apis/v1/nodeclaim.go). */
function celViolations(manifest: Record<string, unknown>): string[] {
  const spec = manifest.spec as {
    requirements: { key: string; operator: string; values?: string[]; minValues?: number }[];
  };
  const out: string[] = [];
  const keyPattern =
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(\/))?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
  if (spec.requirements.length > 100) out.push("more than 100 requirements");
  for (const r of spec.requirements) {
    if (!keyPattern.test(r.key) || r.key.length > 316) out.push(`bad key ${r.key}`);
    if (r.operator === "In" && (r.values ?? []).length === 0) out.push(`${r.key}: In without values`);
    if (["Gt", "Lt"].includes(r.operator) && !((r.values ?? []).length === 1 && Number(r.values?.[0]) >= 0)) {
      out.push(`${r.key}: ${r.operator} needs one non-negative integer`);
    }
    if (r.operator === "In" && r.minValues !== undefined && (r.values ?? []).length < r.minValues)
      out.push(`${r.key}: minValues`);
  }
  return out;
}

describe("toNodeClaimManifests", () => {
  const [manifest] = toNodeClaimManifests([claim], options);

  it("validates against the published karpenter.sh/v1 NodeClaim schema and its CEL rules", () => {
    expect(manifest).toBeDefined();
    expect(() => new NodeClaim(manifest as never).validate()).not.toThrow();
    expect(celViolations(manifest as Record<string, unknown>)).toEqual([]);
  });

  it("labels, annotates and owns the claim as Karpenter does", () => {
    expect(manifest?.metadata).toEqual({
      name: "general-0",
      labels: {
        "example.com/rack": "r2",
        "karpenter.k8s.aws/ec2nodeclass": "default",
        "karpenter.sh/nodepool": "general",
        team: "platform",
      },
      annotations: {
        "karpenter.k8s.aws/ec2nodeclass-hash": "6821555240594823858",
        "karpenter.k8s.aws/ec2nodeclass-hash-version": "v4",
        "karpenter.sh/nodeclaim-min-values-relaxed": "true",
        "karpenter.sh/nodepool-hash": "12393960163388511505",
        "karpenter.sh/nodepool-hash-version": "v3",
      },
      ownerReferences: [
        {
          apiVersion: "karpenter.sh/v1",
          kind: "NodePool",
          name: "general",
          uid: "3b7c5a1e-2f0d-4c8e-9a61-0d5f6e7a8b90",
          blockOwnerDeletion: true,
        },
      ],
    });
  });

  it("writes requirements, requests and the template's spec", () => {
    expect(manifest?.spec).toEqual({
      requirements: [
        { key: "example.com/rack", operator: "In", values: ["r2"] },
        { key: "karpenter.k8s.aws/ec2nodeclass", operator: "In", values: ["default"] },
        { key: "karpenter.k8s.aws/instance-category", operator: "In", values: ["c", "m", "r"] },
        { key: "karpenter.k8s.aws/instance-generation", operator: "Gt", values: ["5"] },
        { key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] },
        { key: "karpenter.sh/nodepool", operator: "In", values: ["general"] },
        { key: "kubernetes.io/arch", operator: "In", values: ["amd64", "arm64"] },
        {
          key: "node.kubernetes.io/instance-type",
          operator: "In",
          values: ["m7g.xlarge", "c7i.2xlarge", "m6i.xlarge"],
          minValues: 2,
        },
        { key: "team", operator: "In", values: ["platform"] },
        { key: "topology.kubernetes.io/zone", operator: "In", values: ["us-east-1a"] },
      ],
      // Two API pods (600m, 1.5Gi each) + node-exporter (50m, 64Mi); pods 2 + 1.
      resources: { requests: { cpu: "1250m", memory: "3136Mi", pods: "3" } },
      expireAfter: "336h",
      nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" },
    });
  });

  it("carries the system NodePool's taints and omits the owner when the uid is unknown", () => {
    const [system] = toNodeClaimManifests(
      [{ ...claim, name: "system-0", nodePool: "system", requirements: [], annotations: {}, pods: [] }],
      options,
    );
    expect((system as { spec: { taints: unknown } }).spec.taints).toEqual([
      { key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" },
    ]);
    expect((system as { metadata: Record<string, unknown> }).metadata.ownerReferences).toBeUndefined();
    expect(() => new NodeClaim(system as never).validate()).not.toThrow();
  });

  it("rejects a claim naming a pod that was not given", () => {
    expect(() => toNodeClaimManifests([{ ...claim, pods: ["shop/nope"] }], options)).toThrow(/shop\/nope/);
  });

  it("serializes to multi-document YAML and a JSON List that read back to the same objects", () => {
    const objects = toNodeClaimManifests([claim, { ...claim, name: "general-1" }], options);
    const yaml = toYaml(objects);
    expect(parseAllDocuments(yaml).map((d) => (Array.isArray(d) ? null : d.toJS()))).toEqual(objects);
    expect(JSON.parse(toJson(objects))).toEqual({ apiVersion: "v1", kind: "List", items: objects });
    const reloaded = loadManifests([{ source: "out.yaml", text: yaml }]);
    expect(reloaded.errors).toEqual([]);
    expect(reloaded.cluster.nodes.map((n) => [n.name, n.inFlight, n.zone, n.capacityType])).toEqual([
      ["general-0", true, "us-east-1a", "spot"],
      ["general-1", true, "us-east-1a", "spot"],
    ]);
  });
});
