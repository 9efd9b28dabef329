import { OfferingSchema } from "@nodeplan/core";
import { describe, expect, it } from "vitest";
import { parseEC2NodeClass } from "./ec2nodeclass.ts";
import { parseQuantityValue } from "./k8s-quantity.ts";
import {
  offlineCatalog,
  offlineCatalogSource,
  offlineInstanceTypeInfos,
  offlineInstanceTypes,
} from "./offline-catalog.ts";
import { loadPublishedCatalog } from "./shared-data.test-helper.ts";

const published = loadPublishedCatalog();
const nodePool = (
  requirements: { key: string; operator: "In" | "NotIn" | "Gt"; values: string[] }[] = [],
) => ({
  name: "default",
  weight: 0,
  template: { labels: {}, annotations: {}, taints: [], startupTaints: [], requirements, expireAfter: "720h" },
  limits: {},
  disruption: {
    consolidationPolicy: "WhenEmptyOrUnderutilized" as const,
    consolidateAfter: "0s",
    budgets: [{ nodes: "10%" }],
  },
  annotations: {},
});

describe("offline catalog", () => {
  const file = offlineCatalog({ generatedAt: "2026-01-01T00:00:00Z" });
  const families = new Set(file.instanceTypes.map((t) => t.labels["karpenter.k8s.aws/instance-family"]));

  it("covers m, c, r of generations 5 to 8 on Intel, AMD and Graviton, t3/t4g and g5/g6", () => {
    for (const f of [
      "m5",
      "m5a",
      "m6i",
      "m6a",
      "m6g",
      "m7i",
      "m7a",
      "m7g",
      "m8g",
      "c5",
      "c5a",
      "c6i",
      "c6a",
      "c6g",
      "c7i",
      "c7a",
      "c7g",
      "c8g",
    ]) {
      expect(families).toContain(f);
    }
    for (const f of ["r5", "r5a", "r6i", "r6a", "r6g", "r7i", "r7a", "r7g", "r8g", "t3", "t4g", "g5", "g6"])
      expect(families).toContain(f);
    expect(file.instanceTypes).toHaveLength(205);
  });

  it("computes, for every offline type, the published allocatable, labels and price", () => {
    for (const t of file.instanceTypes) {
      const expected = published.get(t.name);
      expect(expected, t.name).toBeDefined();
      expect(t.allocatable, t.name).toEqual(expected?.allocatable);
      expect({ ...t.labels, "topology.kubernetes.io/region": undefined }, t.name).toEqual({
        ...expected?.labels,
        "topology.kubernetes.io/region": undefined,
      });
      expect(t.offerings[0]?.pricePerHour, t.name).toBe(expected?.onDemandPricePerHour);
    }
  });

  it("offers on-demand in us-east-1a/b/c by default, every offering valid for core", () => {
    const m5 = file.instanceTypes.find((t) => t.name === "m5.large");
    expect(m5?.offerings.map((o) => `${o.zone}/${o.capacityType}`)).toEqual([
      "us-east-1a/on-demand",
      "us-east-1b/on-demand",
      "us-east-1c/on-demand",
    ]);
    for (const t of file.instanceTypes)
      for (const o of t.offerings) expect(OfferingSchema.safeParse(o).success).toBe(true);
    expect(file.warnings).toBeUndefined();
    expect(file.apiVersion).toBe("nodeplan.dev/v1");
    expect(file.kind).toBe("InstanceCatalog");
  });

  it("prices spot as on-demand and says so when spot is requested", () => {
    const withSpot = offlineCatalog({
      zones: ["eu-west-1a"],
      region: "eu-west-1",
      capacityTypes: ["on-demand", "spot"],
    });
    const m5 = withSpot.instanceTypes.find((t) => t.name === "m5.large");
    expect(m5?.offerings).toEqual([
      { zone: "eu-west-1a", capacityType: "on-demand", pricePerHour: 0.096, available: true },
      { zone: "eu-west-1a", capacityType: "spot", pricePerHour: 0.096, available: true },
    ]);
    expect(withSpot.warnings).toEqual([
      { code: "spot_price_unknown", message: expect.stringContaining("205 instance types") },
    ]);
  });

  it("follows the node class: Bottlerocket with maxPods 110 and a 100Gi data volume", () => {
    const nodeClass = parseEC2NodeClass({
      apiVersion: "karpenter.k8s.aws/v1",
      kind: "EC2NodeClass",
      metadata: { name: "br" },
      spec: {
        role: "KarpenterNodeRole",
        amiSelectorTerms: [{ alias: "bottlerocket@latest" }],
        subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": "c" } }],
        securityGroupSelectorTerms: [{ tags: { "karpenter.sh/discovery": "c" } }],
        kubelet: { maxPods: 110 },
        blockDeviceMappings: [{ deviceName: "/dev/xvdb", ebs: { volumeSize: "100Gi" } }],
      },
    });
    const m5 = offlineInstanceTypes({ nodeClass }).instanceTypes.find((t) => t.name === "m5.large");
    expect(m5?.allocatable.pods).toBe(110);
    expect(m5?.allocatable.ephemeralBytes).toBe(100 * 2 ** 30 - 2 ** 30 - 10 * 2 ** 30);
  });

  it("writes quantities core can read back", () => {
    for (const t of file.instanceTypes) {
      expect(parseQuantityValue(t.allocatable.cpu ?? "", "cpu")).toBeGreaterThan(0);
      expect(parseQuantityValue(t.capacity.memory ?? "", "bytes")).toBeGreaterThan(0);
    }
  });

  it("is a CatalogSource that filters by NodePool requirements and warns only for spot", async () => {
    const source = offlineCatalogSource({ capacityTypes: ["on-demand", "spot"] });
    const graviton = await source.instanceTypes(
      nodePool([
        { key: "kubernetes.io/arch", operator: "In", values: ["arm64"] },
        { key: "karpenter.k8s.aws/instance-cpu", operator: "Gt", values: ["16"] },
        { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
        { key: "topology.kubernetes.io/zone", operator: "NotIn", values: ["us-east-1c"] },
      ]),
      undefined,
    );
    expect(graviton.length).toBeGreaterThan(0);
    for (const t of graviton) {
      expect(t.labels["kubernetes.io/arch"]).toBe("arm64");
      expect(Number(t.labels["karpenter.k8s.aws/instance-cpu"])).toBeGreaterThan(16);
      expect(t.offerings.map((o) => `${o.zone}/${o.capacityType}`)).toEqual([
        "us-east-1a/on-demand",
        "us-east-1b/on-demand",
      ]);
    }
    expect(source.warnings()).toEqual([]);
    await source.instanceTypes(nodePool(), undefined);
    expect(source.warnings()[0]?.code).toBe("spot_price_unknown");
  });

  it("gpu requirements select only GPU types", async () => {
    const gpus = await offlineCatalogSource().instanceTypes(
      nodePool([{ key: "karpenter.k8s.aws/instance-gpu-name", operator: "In", values: ["l4"] }]),
      undefined,
    );
    expect(new Set(gpus.map((t) => t.labels["karpenter.k8s.aws/instance-family"]))).toEqual(new Set(["g6"]));
    expect(gpus.every((t) => (t.allocatable["nvidia.com/gpu"] ?? 0) > 0)).toBe(true);
  });

  it("synthesizes EC2 data that round-trips the table's facts", () => {
    const infos = offlineInstanceTypeInfos();
    const g5 = infos.find((i) => i.info.InstanceType === "g5.12xlarge");
    expect(g5?.info.GpuInfo?.Gpus?.[0]).toEqual({
      Name: "A10G",
      Manufacturer: "NVIDIA",
      Count: 4,
      MemoryInfo: { SizeInMiB: 22888 },
    });
    expect(g5?.onDemandPricePerHour).toBe(5.672);
  });
});
