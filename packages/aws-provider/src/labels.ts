import { type AmiFamily, amiFamilyTraits, isWindowsFamily } from "./ami-family.ts";
import { type Ec2InstanceTypeInfo, kubeArchitecture } from "./ec2-info.ts";
import { instanceFacts } from "./instance-facts.ts";

/**
 * The well-known labels Karpenter's AWS provider puts on an instance type
 * (A: pkg/apis/v1/labels.go, pkg/providers/instancetype/types.go computeRequirements).
 */

const AWS = "karpenter.k8s.aws";

/** Label keys of the AWS provider, by what they describe. */
export const awsLabels = {
  instanceCategory: `${AWS}/instance-category`,
  instanceFamily: `${AWS}/instance-family`,
  instanceGeneration: `${AWS}/instance-generation`,
  instanceSize: `${AWS}/instance-size`,
  instanceCpu: `${AWS}/instance-cpu`,
  instanceCpuManufacturer: `${AWS}/instance-cpu-manufacturer`,
  instanceCpuSustainedClockSpeedMhz: `${AWS}/instance-cpu-sustained-clock-speed-mhz`,
  instanceMemory: `${AWS}/instance-memory`,
  instanceNetworkBandwidth: `${AWS}/instance-network-bandwidth`,
  instanceEbsBandwidth: `${AWS}/instance-ebs-bandwidth`,
  instanceHypervisor: `${AWS}/instance-hypervisor`,
  instanceEncryptionInTransitSupported: `${AWS}/instance-encryption-in-transit-supported`,
  instanceGpuName: `${AWS}/instance-gpu-name`,
  instanceGpuManufacturer: `${AWS}/instance-gpu-manufacturer`,
  instanceGpuCount: `${AWS}/instance-gpu-count`,
  instanceGpuMemory: `${AWS}/instance-gpu-memory`,
  instanceAcceleratorName: `${AWS}/instance-accelerator-name`,
  instanceAcceleratorManufacturer: `${AWS}/instance-accelerator-manufacturer`,
  instanceAcceleratorCount: `${AWS}/instance-accelerator-count`,
  instanceLocalNvme: `${AWS}/instance-local-nvme`,
  instanceCapabilityFlex: `${AWS}/instance-capability-flex`,
  instanceTenancy: `${AWS}/instance-tenancy`,
  nitroSandbox: `${AWS}/nitro-sandbox`,
  capacityReservationId: `${AWS}/capacity-reservation-id`,
  capacityReservationType: `${AWS}/capacity-reservation-type`,
  capacityReservationInterruptible: `${AWS}/capacity-reservation-interruptible`,
  placementGroupId: `${AWS}/placement-group-id`,
  placementGroupPartition: `${AWS}/placement-group-partition`,
  ec2NodeClass: `${AWS}/ec2nodeclass`,
  topologyZoneId: "topology.k8s.aws/zone-id",
} as const;

/** Kubernetes and Karpenter core label keys the provider sets. */
export const coreLabels = {
  instanceType: "node.kubernetes.io/instance-type",
  arch: "kubernetes.io/arch",
  os: "kubernetes.io/os",
  windowsBuild: "node.kubernetes.io/windows-build",
  zone: "topology.kubernetes.io/zone",
  region: "topology.kubernetes.io/region",
  capacityType: "karpenter.sh/capacity-type",
} as const;

/**
 * The keys the AWS provider adds to Karpenter's well-known labels (labels.go init): a requirement
 * on one of them may be undefined on the other side of a compatibility check. Sorted, frozen.
 */
export const awsWellKnownLabelKeys: readonly string[] = Object.freeze(
  [
    awsLabels.capacityReservationId,
    awsLabels.capacityReservationType,
    awsLabels.capacityReservationInterruptible,
    awsLabels.instanceHypervisor,
    awsLabels.instanceEncryptionInTransitSupported,
    awsLabels.nitroSandbox,
    awsLabels.instanceCategory,
    awsLabels.instanceCapabilityFlex,
    awsLabels.instanceFamily,
    awsLabels.instanceGeneration,
    awsLabels.instanceSize,
    awsLabels.instanceLocalNvme,
    awsLabels.instanceCpu,
    awsLabels.instanceCpuManufacturer,
    awsLabels.instanceCpuSustainedClockSpeedMhz,
    awsLabels.instanceMemory,
    awsLabels.instanceEbsBandwidth,
    awsLabels.instanceNetworkBandwidth,
    awsLabels.instanceGpuName,
    awsLabels.instanceGpuManufacturer,
    awsLabels.instanceGpuCount,
    awsLabels.instanceGpuMemory,
    awsLabels.instanceAcceleratorName,
    awsLabels.instanceAcceleratorManufacturer,
    awsLabels.instanceAcceleratorCount,
    awsLabels.topologyZoneId,
    awsLabels.instanceTenancy,
    coreLabels.windowsBuild,
    awsLabels.placementGroupId,
    awsLabels.placementGroupPartition,
  ].sort(),
);

/** Karpenter's spelling of EC2 names in label values: lower case, spaces to dashes ("Radeon Pro V520" -> "radeon-pro-v520"). */
export function lowerKebabCase(s: string): string {
  return s.replaceAll(" ", "-").toLowerCase();
}

// Category is the leading letters; generation the digits after an optional "-<n>tb" (u-6tb1.metal).
const INSTANCE_TYPE_SCHEME = /^([a-z]+)(-[0-9]+tb)?([0-9]+).*\./;

/**
 * The single-valued labels of an instance type (zone and capacity type come from its offerings).
 * Undefined when the type cannot run under `amiFamily` (Windows needs amd64) or has no supported
 * architecture.
 */
export function instanceTypeLabels(
  info: Ec2InstanceTypeInfo,
  region: string | undefined,
  amiFamily: AmiFamily = "AL2023",
): Record<string, string> | undefined {
  const name = info.InstanceType ?? "";
  const arch = kubeArchitecture(info);
  if (arch === undefined) return undefined;
  const windows = isWindowsFamily(amiFamily);
  if (windows && arch !== "amd64") return undefined;
  const labels: Record<string, string> = {
    [coreLabels.instanceType]: name,
    [coreLabels.arch]: arch,
    [coreLabels.os]: windows ? "windows" : "linux",
    [awsLabels.instanceCpu]: String(info.VCpuInfo?.DefaultVCpus ?? 0),
    [awsLabels.instanceMemory]: String(info.MemoryInfo?.SizeInMiB ?? 0),
    [awsLabels.instanceEncryptionInTransitSupported]: String(
      info.NetworkInfo?.EncryptionInTransitSupported === true,
    ),
  };
  if (region !== undefined) labels[coreLabels.region] = region;
  const build = amiFamilyTraits(amiFamily).windowsBuild;
  if (build !== undefined) labels[coreLabels.windowsBuild] = build;
  if (info.Hypervisor !== undefined && info.Hypervisor !== "")
    labels[awsLabels.instanceHypervisor] = info.Hypervisor;
  const scheme = INSTANCE_TYPE_SCHEME.exec(name);
  if (scheme?.[1] !== undefined && scheme[3] !== undefined) {
    labels[awsLabels.instanceCategory] = scheme[1];
    labels[awsLabels.instanceGeneration] = scheme[3];
  }
  const parts = name.split(".");
  if (parts.length === 2 && parts[0] !== undefined && parts[1] !== undefined) {
    labels[awsLabels.instanceFamily] = parts[0];
    labels[awsLabels.instanceSize] = parts[1];
  }
  const storage = info.InstanceStorageInfo;
  if (storage?.TotalSizeInGB !== undefined && storage.NvmeSupport !== "unsupported") {
    labels[awsLabels.instanceLocalNvme] = String(storage.TotalSizeInGB);
  }
  labels[awsLabels.instanceCapabilityFlex] = String((parts[0] ?? "").includes("-flex"));
  const bandwidthMbps = instanceFacts[name]?.[1] ?? networkBandwidthFromCards(info);
  if (bandwidthMbps !== undefined && bandwidthMbps !== null)
    labels[awsLabels.instanceNetworkBandwidth] = String(bandwidthMbps);
  const gpus = info.GpuInfo?.Gpus ?? [];
  if (gpus.length === 1 && gpus[0] !== undefined) {
    const gpu = gpus[0];
    labels[awsLabels.instanceGpuName] = lowerKebabCase(gpu.Name ?? "");
    labels[awsLabels.instanceGpuManufacturer] = lowerKebabCase(gpu.Manufacturer ?? "");
    labels[awsLabels.instanceGpuCount] = String(gpu.Count ?? 0);
    labels[awsLabels.instanceGpuMemory] = String(gpu.MemoryInfo?.SizeInMiB ?? 0);
  }
  const accelerators = info.InferenceAcceleratorInfo?.Accelerators ?? [];
  if (accelerators.length === 1 && accelerators[0] !== undefined && info.NeuronInfo === undefined) {
    const accelerator = accelerators[0];
    labels[awsLabels.instanceAcceleratorName] = lowerKebabCase(accelerator.Name ?? "");
    labels[awsLabels.instanceAcceleratorManufacturer] = lowerKebabCase(accelerator.Manufacturer ?? "");
    labels[awsLabels.instanceAcceleratorCount] = String(accelerator.Count ?? 0);
  }
  const neuron = info.NeuronInfo?.NeuronDevices ?? [];
  if (neuron.length === 1 && neuron[0] !== undefined) {
    labels[awsLabels.instanceAcceleratorName] = lowerKebabCase(neuron[0].Name ?? "");
    labels[awsLabels.instanceAcceleratorManufacturer] = "aws";
    labels[awsLabels.instanceAcceleratorCount] = String(neuron[0].Count ?? 0);
  }
  const processor = info.ProcessorInfo;
  if (processor !== undefined) {
    labels[awsLabels.instanceCpuManufacturer] = lowerKebabCase(processor.Manufacturer ?? "");
    labels[awsLabels.instanceCpuSustainedClockSpeedMhz] = String(
      Math.round((processor.SustainedClockSpeedInGhz ?? 0) * 1000),
    );
  }
  const ebs = info.EbsInfo;
  if (ebs?.EbsOptimizedInfo !== undefined && ebs.EbsOptimizedSupport === "default") {
    labels[awsLabels.instanceEbsBandwidth] = String(ebs.EbsOptimizedInfo.MaximumBandwidthInMbps ?? 0);
  }
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) out[key] = labels[key] ?? "";
  return out;
}

/** Network bandwidth summed over network cards, for types newer than the embedded facts. */
function networkBandwidthFromCards(info: Ec2InstanceTypeInfo): number | undefined {
  const cards = info.NetworkInfo?.NetworkCards ?? [];
  if (!cards.some((c) => c.BaselineBandwidthInGbps !== undefined)) return undefined;
  return Math.round(cards.reduce((sum, c) => sum + (c.BaselineBandwidthInGbps ?? 0), 0) * 1000);
}
