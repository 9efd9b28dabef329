import { describe, expect, it } from "vitest";
import {
  computeInstanceResources,
  eniLimitedPods,
  ephemeralCapacityBytes,
  type InstanceMathOptions,
  kubeReservedCpuMillis,
  podCapacity,
} from "./allocatable.ts";
import type { Ec2InstanceTypeInfo } from "./ec2-info.ts";
import { parseQuantityValue } from "./k8s-quantity.ts";
import { toResourceList } from "./resource-names.ts";
import { loadEc2Fixture, loadPublishedCatalog } from "./shared-data.test-helper.ts";

const fixture = loadEc2Fixture();
const published = loadPublishedCatalog();
const byName = new Map(fixture.instanceTypes.map((t) => [t.InstanceType ?? "", t]));
const info = (name: string): Ec2InstanceTypeInfo => {
  const found = byName.get(name);
  if (found === undefined) throw new Error(`fixture has no ${name}`);
  return found;
};
const Mi = 2 ** 20;
const Gi = 2 ** 30;
const alloc = (name: string, options: InstanceMathOptions = {}) =>
  computeInstanceResources(info(name), options).allocatable;

describe("allocatable against the published catalog", () => {
  it("has all 17 fixture types", () => {
    expect(fixture.instanceTypes).toHaveLength(17);
  });
  for (const raw of loadEc2Fixture().instanceTypes) {
    const name = raw.InstanceType ?? "";
    it(`${name}: every resource equals the published AL2023 figure`, () => {
      const expected = published.get(name)?.allocatable;
      expect(expected).toBeDefined();
      expect(toResourceList(computeInstanceResources(raw).allocatable)).toEqual(expected);
    });
  }
});

describe("the SEMANTICS.md check", () => {
  it("m5.large: cpu 1930m, memory 6903Mi, pods 29, ephemeral 17Gi", () => {
    const a = alloc("m5.large");
    expect(a.cpuMillis).toBe(1930);
    expect(a.memoryBytes).toBe(6903 * Mi);
    expect(a.pods).toBe(29);
    expect(a.ephemeralBytes).toBe(17 * Gi);
  });
  it("max pods uses the default network card only (p5.48xlarge: 2 x 49 + 2)", () => {
    expect(eniLimitedPods(info("p5.48xlarge"), 0)).toBe(100);
  });
});

describe("options change the result as Karpenter's do", () => {
  it("kubelet maxPods replaces the ENI formula, but AL2023 kube-reserved memory still counts ENI pods", () => {
    const r = computeInstanceResources(info("m5.large"), { maxPods: 110 });
    expect(r.capacity.pods).toBe(110);
    expect(r.overhead.kubeReserved.memoryBytes).toBe((11 * 29 + 255) * Mi);
  });
  it("Bottlerocket's kube-reserved memory follows maxPods", () => {
    const r = computeInstanceResources(info("m5.large"), { amiFamily: "Bottlerocket", maxPods: 110 });
    expect(r.overhead.kubeReserved.memoryBytes).toBe((11 * 110 + 255) * Mi);
  });
  it("podsPerCore caps pods (AL2023) and is ignored by Bottlerocket", () => {
    expect(podCapacity(info("m5.xlarge"), { podsPerCore: 4 })).toBe(16);
    expect(podCapacity(info("m5.xlarge"), { podsPerCore: 100 })).toBe(58);
    expect(podCapacity(info("m5.xlarge"), { amiFamily: "Bottlerocket", podsPerCore: 4 })).toBe(58);
  });
  it("Windows defaults to 110 pods, 50Gi root and advertises private IPv4 addresses", () => {
    const r = computeInstanceResources(info("m5.large"), { amiFamily: "Windows2022" });
    expect(r.capacity.pods).toBe(110);
    expect(r.capacity.ephemeralBytes).toBe(50 * Gi);
    expect(r.capacity["vpc.amazonaws.com/PrivateIPv4Address"]).toBe(9);
    expect(r.overhead.kubeReserved.memoryBytes).toBe((11 * 110 + 255) * Mi);
  });
  it("reservedENIs removes interfaces from the pod formula", () => {
    expect(podCapacity(info("m5.large"), { reservedENIs: 1 })).toBe(2 * 9 + 2);
    expect(podCapacity(info("m5.large"), { reservedENIs: 3 })).toBe(0);
  });
  it("kubeReserved replaces the computed default per resource", () => {
    const a = alloc("m5.large", { kubeReserved: { cpu: "500m" } });
    expect(a.cpuMillis).toBe(1500);
    expect(a.memoryBytes).toBe(6903 * Mi);
  });
  it("systemReserved is subtracted on top", () => {
    const a = alloc("m5.large", {
      systemReserved: { cpu: "100m", memory: "100Mi", "ephemeral-storage": "1Gi" },
    });
    expect(a.cpuMillis).toBe(1830);
    expect(a.memoryBytes).toBe(6803 * Mi);
    expect(a.ephemeralBytes).toBe(16 * Gi);
  });
  it("evictionHard quantities and percentages replace the defaults; 100% disables", () => {
    const base = computeInstanceResources(info("m5.large"));
    const memoryCapacity = base.capacity.memoryBytes ?? 0;
    expect(alloc("m5.large", { evictionHard: { "memory.available": "500Mi" } }).memoryBytes).toBe(6503 * Mi);
    expect(alloc("m5.large", { evictionHard: { "memory.available": "5%" } }).memoryBytes).toBe(
      memoryCapacity - (11 * 29 + 255) * Mi - Math.ceil((memoryCapacity / 100) * 5),
    );
    expect(alloc("m5.large", { evictionHard: { "nodefs.available": "100%" } }).ephemeralBytes).toBe(19 * Gi);
  });
  it("evictionSoft does not change allocatable (Karpenter subtracts only evictionHard)", () => {
    expect(alloc("m5.large", { evictionSoft: { "memory.available": "2Gi" } })).toEqual(alloc("m5.large"));
  });
  it("a root volume from blockDeviceMappings sets ephemeral capacity", () => {
    const bdm = [{ deviceName: "/dev/xvda", volumeSizeBytes: 100 * Gi }];
    expect(alloc("m5.large", { blockDeviceMappings: bdm }).ephemeralBytes).toBe(100 * Gi - Gi - 10 * Gi);
    const rooted = [{ deviceName: "/dev/xvdz", volumeSizeBytes: 80 * Gi, rootVolume: true }, ...bdm];
    expect(ephemeralCapacityBytes(info("m5.large"), { blockDeviceMappings: rooted })).toBe(80 * Gi);
    // Not the family's ephemeral device, no root flag: the default stays.
    expect(
      ephemeralCapacityBytes(info("m5.large"), {
        blockDeviceMappings: [{ deviceName: "/dev/xvdb", volumeSizeBytes: Gi }],
      }),
    ).toBe(20 * Gi);
    expect(
      ephemeralCapacityBytes(info("m5.large"), {
        amiFamily: "Bottlerocket",
        blockDeviceMappings: [{ deviceName: "/dev/xvdb", volumeSizeBytes: 60 * Gi }],
      }),
    ).toBe(60 * Gi);
    expect(
      ephemeralCapacityBytes(info("m5.large"), {
        amiFamily: "Custom",
        blockDeviceMappings: [{ deviceName: "/dev/sdf", volumeSizeBytes: 30 * Gi }],
      }),
    ).toBe(30 * Gi);
  });
  it("instanceStorePolicy RAID0 uses the instance store (decimal GB) when there is one", () => {
    expect(ephemeralCapacityBytes(info("g4dn.8xlarge"), { instanceStorePolicy: "RAID0" })).toBe(900e9);
    expect(ephemeralCapacityBytes(info("m5.large"), { instanceStorePolicy: "RAID0" })).toBe(20 * Gi);
  });
  it("the VM memory overhead percent is an option", () => {
    const r = computeInstanceResources(info("m5.large"), { vmMemoryOverheadPercent: 0 });
    expect(r.capacity.memoryBytes).toBe(8192 * Mi);
  });
  it("Graviton loses 64 MiB before the VM overhead", () => {
    const r = computeInstanceResources(info("c6g.large"), { vmMemoryOverheadPercent: 0 });
    expect(r.capacity.memoryBytes).toBe((4096 - 64) * Mi);
  });
});

describe("kube-reserved cpu", () => {
  it("follows the per-core percentages", () => {
    expect(kubeReservedCpuMillis(1000)).toBe(60);
    expect(kubeReservedCpuMillis(2000)).toBe(70);
    expect(kubeReservedCpuMillis(4000)).toBe(80);
    expect(kubeReservedCpuMillis(96000)).toBe(80 + 230);
  });
  it("never exceeds the capacity and grows with it", () => {
    let last = 0;
    for (let cpus = 1; cpus <= 448; cpus++) {
      const reserved = kubeReservedCpuMillis(cpus * 1000);
      expect(reserved).toBeGreaterThanOrEqual(last);
      expect(reserved).toBeLessThan(cpus * 1000);
      last = reserved;
    }
  });
});

describe("quantities", () => {
  it("parse exactly and round up", () => {
    expect(parseQuantityValue("100Mi", "bytes")).toBe(100 * Mi);
    expect(parseQuantityValue("0.1", "cpu")).toBe(100);
    expect(parseQuantityValue("1.5Gi", "bytes")).toBe(1.5 * Gi);
    expect(parseQuantityValue("10G", "bytes")).toBe(10e9);
    expect(parseQuantityValue("1e3", "count")).toBe(1000);
    expect(parseQuantityValue("0.0001", "cpu")).toBe(1);
    expect(parseQuantityValue("-1", "bytes")).toBeUndefined();
    expect(parseQuantityValue("10Mb", "bytes")).toBeUndefined();
  });
});
