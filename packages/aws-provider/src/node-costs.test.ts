import { type InstanceType, NodePoolSchema, totalPerHour } from "@nodeplan/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseEC2NodeClass } from "./ec2nodeclass.ts";
import { isExoticInstanceType, isKarpenterExotic, markExotic } from "./exotic.ts";
import {
  burstableBaselinePercent,
  defaultCreditSpecification,
  defaultVolumes,
  fixedNodeCosts,
  nodeVolumes,
  US_EAST_1_NODE_COST_PRICES,
  volumeCostPerHour,
  withAwsNodeCosts,
} from "./node-costs.ts";
import { OFFLINE_ZONE_NAME_TO_ID, offlineSpotPrices2022, offlineZoneIds } from "./offline-offerings.ts";
import {
  loadNodeCosts,
  loadOfferings,
  loadPublishedCatalog,
  loadSpotPrices2022,
} from "./shared-data.test-helper.ts";

const facts = loadNodeCosts();
const Gi = 2 ** 30;
const nodeClass = (spec: Record<string, unknown> = {}) =>
  parseEC2NodeClass({
    apiVersion: "karpenter.k8s.aws/v1",
    kind: "EC2NodeClass",
    metadata: { name: "nc" },
    spec: {
      role: "KarpenterNodeRole",
      amiSelectorTerms: [{ alias: "al2023@latest" }],
      subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": "c" } }],
      securityGroupSelectorTerms: [{ tags: { "karpenter.sh/discovery": "c" } }],
      ...spec,
    },
  });
const type = (name: string, cpuMillis: number, allocatableCpu: number, price = 0.01): InstanceType => ({
  name,
  labels: { "karpenter.k8s.aws/instance-size": name.split(".")[1] ?? "" },
  capacity: { cpuMillis, memoryBytes: 2 * Gi, pods: 8 },
  allocatable: { cpuMillis: allocatableCpu, memoryBytes: Gi, pods: 8 },
  offerings: [{ zone: "us-east-1a", capacityType: "on-demand", pricePerHour: price, available: true }],
});

describe("the embedded figures are the published ones", () => {
  it("EBS, IPv4 and burstable prices of us-east-1", () => {
    const p = US_EAST_1_NODE_COST_PRICES;
    expect(p.ebsPerGbMonth).toEqual(facts.ebsPerGbMonth);
    expect(p.gp3).toEqual(facts.ebsProvisioned.gp3);
    expect(p.io1PerIopsMonth).toBe(facts.ebsProvisioned.io1.perIopsMonth);
    expect(p.io2IopsTiers).toEqual(
      facts.ebsProvisioned.io2.perIopsMonthTiers.map((t) => ({ upTo: t.upTo, perIopsMonth: t.price })),
    );
    expect(p.publicIpv4PerHour).toBe(facts.publicIpv4PerHour);
    expect(p.hoursPerMonth).toBe(facts.hoursPerMonth);
    expect(p.surplusCreditPerVcpuHour).toBe(facts.burstable.surplusCreditPerVcpuHour.linux);
    expect(burstableBaselinePercent).toEqual(facts.burstable.baselinePercentPerVcpu);
    expect(defaultCreditSpecification).toEqual(facts.burstable.defaultCreditSpecification);
  });

  it("Karpenter's default block device mappings per AMI family", () => {
    for (const [family, mappings] of Object.entries(facts.defaultBlockDeviceMappings)) {
      expect(defaultVolumes(family as "AL2023"), family).toEqual(
        mappings.map((m) => ({
          deviceName: m.deviceName,
          sizeBytes: Number(m.volumeSize.replace("Gi", "")) * Gi,
          volumeType: m.volumeType,
        })),
      );
    }
  });

  it("zone offerings and May 2022 spot prices of the offline types, by zone ID", () => {
    const offerings = loadOfferings();
    const spot = loadSpotPrices2022();
    expect(OFFLINE_ZONE_NAME_TO_ID).toEqual(offerings.zoneNameToId);
    expect(Object.keys(offlineZoneIds)).toHaveLength(205);
    for (const [name, ids] of Object.entries(offlineZoneIds))
      expect([...ids].sort(), name).toEqual([...(offerings.offerings[name]?.zoneIds ?? [])].sort());
    for (const [name, prices] of Object.entries(offlineSpotPrices2022))
      expect(prices, name).toEqual(spot[name]);
    for (const name of Object.keys(offlineZoneIds))
      if (spot[name] !== undefined) expect(offlineSpotPrices2022[name], name).toBeDefined();
  });
});

describe("volumes", () => {
  it("Karpenter's AL2023 default: 20 GiB gp3 = $0.0022/h", () => {
    const [root] = nodeVolumes(undefined);
    expect(root).toEqual({ deviceName: "/dev/xvda", sizeBytes: 20 * Gi, volumeType: "gp3" });
    expect(volumeCostPerHour(root as never)).toBeCloseTo((20 * 0.08) / 730, 12);
    expect(fixedNodeCosts(undefined).storagePerHour).toBeCloseTo(0.0021918, 7);
  });

  it("the node class's mappings replace the defaults; IOPS and throughput above gp3's included", () => {
    const nc = nodeClass({
      blockDeviceMappings: [
        {
          deviceName: "/dev/xvda",
          ebs: { volumeSize: "100Gi", volumeType: "gp3", iops: 6000, throughput: 250 },
        },
        { deviceName: "/dev/xvdb", ebs: { volumeSize: "1Ti", volumeType: "io2", iops: 40000 } },
        { deviceName: "/dev/xvdc", ebs: { volumeSize: "50G" } },
        { deviceName: "/dev/xvdd", ebs: { snapshotID: "snap-0123" } },
      ],
    });
    const [gp3, io2, gp2, snapshot] = nodeVolumes(nc);
    expect(volumeCostPerHour(gp3 as never) * 730).toBeCloseTo(100 * 0.08 + 3000 * 0.005 + 125 * 0.04, 9);
    expect(volumeCostPerHour(io2 as never) * 730).toBeCloseTo(
      1024 * 0.125 + 32000 * 0.065 + 8000 * 0.0455,
      9,
    );
    // No volume type: EC2's default, gp2; decimal gigabytes are billed as the GiB they are.
    expect(gp2).toMatchObject({ volumeType: "gp2", sizeBytes: 50e9 });
    expect(volumeCostPerHour(gp2 as never) * 730).toBeCloseTo((50e9 / Gi) * 0.1, 9);
    // Sized by its snapshot only: its size is unknown before launch, so it is not priced.
    expect(volumeCostPerHour(snapshot as never)).toBe(0);
  });

  it("Bottlerocket and Windows defaults follow the AMI family", () => {
    const br = nodeClass({ amiSelectorTerms: [{ alias: "bottlerocket@latest" }] });
    expect(fixedNodeCosts(br).storagePerHour * 730).toBeCloseTo(24 * 0.08, 9);
    const win = nodeClass({ amiSelectorTerms: [{ alias: "windows2022@latest" }] });
    expect(fixedNodeCosts(win).storagePerHour * 730).toBeCloseTo(50 * 0.08, 9);
  });
});

describe("public IPv4", () => {
  it("the node class decides, else the subnets, else an offline flag; private by default", () => {
    expect(fixedNodeCosts(undefined).networkPerHour).toBe(0);
    expect(fixedNodeCosts(undefined, { publicIpv4: true }).networkPerHour).toBe(0.005);
    expect(fixedNodeCosts(nodeClass({ associatePublicIPAddress: true })).networkPerHour).toBe(0.005);
    expect(
      fixedNodeCosts(nodeClass({ associatePublicIPAddress: false }), { subnetsAssignPublicIpv4: true })
        .networkPerHour,
    ).toBe(0);
    expect(fixedNodeCosts(nodeClass(), { subnetsAssignPublicIpv4: true }).networkPerHour).toBe(0.005);
  });
});

describe("burstable credits", () => {
  // t4g.micro: 2 vCPU at 10% each = 200m baseline; 1930m allocatable; $0.0084/h.
  const micro = type("t4g.micro", 2000, 1930, 0.0084);
  const m7g = type("m7g.medium", 1000, 940, 0.0408);

  it("unlimited (T4g's default): a full node's surplus at the requested load is paid", () => {
    const [t] = withAwsNodeCosts([micro], undefined, undefined);
    const credits = ((1930 - 200) / 1000) * 0.05;
    expect(t?.offerings[0]?.costs?.burstableCreditsPerHour).toBeCloseTo(credits, 12);
    expect(t?.offerings[0]?.pricePerHour).toBeCloseTo(0.0084 + credits + (20 * 0.08) / 730, 12);
    expect(t?.allocatable.cpuMillis).toBe(1930);
    // Pods that use a quarter of what they request: 482.5m used, 282.5m above the baseline.
    const [light] = withAwsNodeCosts([micro], undefined, undefined, { burstableLoad: 0.25 });
    expect(light?.offerings[0]?.costs?.burstableCreditsPerHour).toBeCloseTo(0.2825 * 0.05, 12);
    // Not burstable: nothing to pay.
    const [m] = withAwsNodeCosts([m7g], undefined, undefined);
    expect(m?.offerings[0]?.costs?.burstableCreditsPerHour).toBe(0);
  });

  it("standard: only the baseline is usable, and nothing is paid for credits", () => {
    const [t] = withAwsNodeCosts([micro], undefined, undefined, { credits: "standard" });
    expect(t?.allocatable.cpuMillis).toBe(200);
    expect(t?.offerings[0]?.costs?.burstableCreditsPerHour).toBe(0);
    const [half] = withAwsNodeCosts([micro], undefined, undefined, {
      credits: "standard",
      burstableLoad: 0.5,
    });
    expect(half?.allocatable.cpuMillis).toBe(400);
    // T2 runs standard by default.
    const [t2] = withAwsNodeCosts([type("t2.medium", 2000, 1930)], undefined, undefined);
    expect(t2?.allocatable.cpuMillis).toBe(400);
  });

  it("rejects a load factor outside (0, 1] and a negative fee, naming them", () => {
    expect(() => withAwsNodeCosts([micro], undefined, undefined, { burstableLoad: 0 })).toThrow(
      /burstable load 0/,
    );
    expect(() => withAwsNodeCosts([micro], undefined, undefined, { burstableLoad: 1.5 })).toThrow(/\(0, 1\]/);
    expect(() => withAwsNodeCosts([micro], undefined, undefined, { feePerHour: -1 })).toThrow(/node fee -1/);
  });
});

describe("fees and the breakdown", () => {
  it("the NodePool's annotation, else the host's default fee", () => {
    const pool = NodePoolSchema.parse({
      name: "p",
      annotations: { "nodeplan.dev/node-fee-per-hour": "0.02" },
    });
    const [a] = withAwsNodeCosts([type("m7g.medium", 1000, 940)], pool, undefined, { feePerHour: 0.5 });
    expect(a?.offerings[0]?.costs?.feesPerHour).toBe(0.02);
    const [b] = withAwsNodeCosts(
      [type("m7g.medium", 1000, 940)],
      NodePoolSchema.parse({ name: "q" }),
      undefined,
      {
        feePerHour: 0.5,
      },
    );
    expect(b?.offerings[0]?.costs?.feesPerHour).toBe(0.5);
  });

  it("every offering's costs sum to its price, whatever the options", () => {
    const published = [...loadPublishedCatalog().values()].filter((t) => t.onDemandPricePerHour !== null);
    const sample = published.filter((_, i) => i % 37 === 0 || _.name.startsWith("t"));
    const types = sample.map((t) =>
      type(
        t.name,
        Number(t.labels["karpenter.k8s.aws/instance-cpu"]) * 1000,
        900,
        t.onDemandPricePerHour ?? 0,
      ),
    );
    fc.assert(
      fc.property(
        fc.record({
          credits: fc.constantFrom("default", "unlimited", "standard" as const),
          burstableLoad: fc.double({ min: 0.01, max: 1, noNaN: true }),
          publicIpv4: fc.boolean(),
          feePerHour: fc.double({ min: 0, max: 2, noNaN: true }),
        }),
        (options) => {
          for (const t of withAwsNodeCosts(types, undefined, undefined, options as never))
            for (const o of t.offerings) {
              expect(o.costs).toBeDefined();
              expect(totalPerHour(o.costs as never)).toBeCloseTo(o.pricePerHour, 12);
              expect(o.costs?.instancePerHour).toBe(
                types.find((x) => x.name === t.name)?.offerings[0]?.pricePerHour,
              );
            }
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("exotic instance types", () => {
  const published = loadPublishedCatalog();
  const typeOf = (name: string): InstanceType => {
    const t = published.get(name);
    if (t === undefined) throw new Error(name);
    const allocatable: Record<string, number> = {};
    for (const [k, v] of Object.entries(t.allocatable)) if (/^[0-9]+$/.test(v)) allocatable[k] = Number(v);
    return { name, labels: t.labels, capacity: allocatable, allocatable, offerings: [] };
  };

  it("metal, GPUs and accelerators (Karpenter's filter), plus high-memory and HPC families", () => {
    for (const name of [
      "m5.metal",
      "p4d.24xlarge",
      "g4ad.xlarge",
      "inf2.xlarge",
      "trn1.2xlarge",
      "gr6.4xlarge",
    ]) {
      expect(isKarpenterExotic(typeOf(name)), name).toBe(true);
      expect(isExoticInstanceType(typeOf(name)), name).toBe(true);
    }
    for (const name of ["u-6tb1.56xlarge", "hpc7g.16xlarge", "u7i-12tb.224xlarge"]) {
      expect(isKarpenterExotic(typeOf(name)), name).toBe(false);
      expect(isExoticInstanceType(typeOf(name)), name).toBe(true);
    }
    for (const name of ["m5.large", "t4g.micro", "c7g.16xlarge", "x2iedn.32xlarge", "vt1.3xlarge"])
      expect(isExoticInstanceType(typeOf(name)), name).toBe(false);
    expect(markExotic([typeOf("m5.metal"), typeOf("m5.large")]).map((t) => t.exotic)).toEqual([
      true,
      undefined,
    ]);
  });
});
