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

  it("offers spot only where a May 2022 price is recorded for the zone's ID, and says so", () => {
    const withSpot = offlineCatalog({ capacityTypes: ["on-demand", "spot"] });
    const m5 = withSpot.instanceTypes.find((t) => t.name === "m5.large");
    // us-east-1a/b/c are use1-az2/az4/az6 in the recorded pairing; m5.large had no az6 spot price.
    expect(m5?.offerings).toEqual([
      {
        zone: "us-east-1a",
        zoneId: "use1-az2",
        capacityType: "on-demand",
        pricePerHour: 0.096,
        available: true,
      },
      { zone: "us-east-1a", zoneId: "use1-az2", capacityType: "spot", pricePerHour: 0.0424, available: true },
      {
        zone: "us-east-1b",
        zoneId: "use1-az4",
        capacityType: "on-demand",
        pricePerHour: 0.096,
        available: true,
      },
      { zone: "us-east-1b", zoneId: "use1-az4", capacityType: "spot", pricePerHour: 0.0416, available: true },
      {
        zone: "us-east-1c",
        zoneId: "use1-az6",
        capacityType: "on-demand",
        pricePerHour: 0.096,
        available: true,
      },
    ]);
    // Types launched after May 2022 have no spot price at all: no spot offering, not an on-demand-priced one.
    const m7i = withSpot.instanceTypes.find((t) => t.name === "m7i.large");
    expect(m7i?.offerings.map((o) => o.capacityType)).toEqual(["on-demand", "on-demand", "on-demand"]);
    const dropped = withSpot.instanceTypes.filter((t) => !t.offerings.some((o) => o.capacityType === "spot"));
    expect(dropped.length).toBeGreaterThan(50);
    expect(withSpot.warnings).toEqual([
      {
        code: "spot_prices_dated",
        message: expect.stringMatching(/2022-05 figures .*: \d+ instance types have one/),
      },
      {
        code: "spot_price_unknown",
        message: expect.stringContaining(
          `for ${dropped.length} of 205 instance types: they have no spot offering`,
        ),
      },
    ]);
    // Outside the recorded region nothing is known: no spot offering anywhere.
    const elsewhere = offlineCatalog({ region: "eu-west-1", capacityTypes: ["on-demand", "spot"] });
    expect(
      elsewhere.instanceTypes.every((t) => t.offerings.every((o) => o.capacityType === "on-demand")),
    ).toBe(true);
    expect(elsewhere.warnings?.map((w) => w.code)).toEqual(["spot_price_unknown"]);
  });

  it("offers a type only in the zones EC2 offers it in (by zone ID)", () => {
    // us-east-1e is use1-az3, which offers older types only.
    const e = offlineCatalog({ zones: ["us-east-1a", "us-east-1e"] });
    const offered = (name: string) =>
      e.instanceTypes
        .find((t) => t.name === name)
        ?.offerings.filter((o) => o.available)
        .map((o) => `${o.zone}/${o.zoneId}`);
    expect(offered("m5.large")).toEqual(["us-east-1a/use1-az2"]);
    expect(offered("m7i.large")).toEqual(["us-east-1a/use1-az2"]);
    const inE = e.instanceTypes.filter((t) =>
      t.offerings.some((o) => o.zone === "us-east-1e" && o.available),
    );
    expect(inE.length).toBeLessThan(e.instanceTypes.length / 2);
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
    expect(source.warnings().map((w) => w.code)).toEqual(["spot_prices_dated", "spot_price_unknown"]);
  });

  it("prices every offering with its node's costs: the AL2023 root volume by default", async () => {
    const source = offlineCatalogSource();
    const [m5] = await source.instanceTypes(
      nodePool([{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["m5.large"] }]),
      undefined,
    );
    const storage = (20 * 0.08) / 730;
    expect(m5?.offerings[0]).toMatchObject({
      pricePerHour: 0.096 + storage,
      costs: {
        instancePerHour: 0.096,
        storagePerHour: storage,
        networkPerHour: 0,
        burstableCreditsPerHour: 0,
        feesPerHour: 0,
      },
    });
    const fee = {
      ...nodePool([{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["m5.large"] }]),
    };
    fee.annotations = { "nodeplan.dev/node-fee-per-hour": "0.01" };
    const [withFee] = await offlineCatalogSource({ nodeCosts: { publicIpv4: true } }).instanceTypes(
      fee,
      undefined,
    );
    expect(withFee?.offerings[0]?.costs).toMatchObject({ networkPerHour: 0.005, feesPerHour: 0.01 });
    expect(withFee?.offerings[0]?.pricePerHour).toBeCloseTo(0.096 + storage + 0.005 + 0.01, 12);
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
