import type { ResourceVector } from "@nodeplan/core";
import { type AmiFamily, amiFamilyTraits, isWindowsFamily } from "./ami-family.ts";
import { defaultCardInterfaces, type Ec2InstanceTypeInfo } from "./ec2-info.ts";
import { instanceFacts } from "./instance-facts.ts";
import { parseQuantityValue } from "./k8s-quantity.ts";
import { awsResourceNames, CPU_MILLIS, EPHEMERAL_BYTES, MEMORY_BYTES, PODS } from "./resource-names.ts";

/**
 * Capacity, overhead and allocatable of an EC2 instance type, exactly as Karpenter's AWS provider
 * computes them (A: pkg/providers/instancetype/types.go: computeCapacity, kubeReservedResources,
 * evictionThreshold, pods, ENILimitedPods, memory, ephemeralStorage). Pure and browser-safe.
 */

/** A block device mapping, as far as the ephemeral-storage size depends on it. */
export interface BlockDeviceSize {
  deviceName?: string;
  rootVolume?: boolean;
  /** EBS volume size in bytes, when set. */
  volumeSizeBytes?: number;
}

/** The EC2NodeClass and operator settings the instance math depends on. */
export interface InstanceMathOptions {
  /** Default AL2023. */
  amiFamily?: AmiFamily;
  /** kubelet maxPods: replaces the family's default pod count. */
  maxPods?: number;
  /** kubelet podsPerCore: caps pods at podsPerCore x vCPUs (ignored by Bottlerocket, as in Karpenter). */
  podsPerCore?: number;
  /** kubelet kubeReserved (Kubernetes names and quantities); replaces the computed default per resource. */
  kubeReserved?: Readonly<Record<string, string>>;
  /** kubelet systemReserved (Kubernetes names and quantities). */
  systemReserved?: Readonly<Record<string, string>>;
  /** kubelet evictionHard: `memory.available` and `nodefs.available` (quantity or percentage) replace the defaults. */
  evictionHard?: Readonly<Record<string, string>>;
  /**
   * kubelet evictionSoft. Accepted and deliberately unused: Karpenter (v1.x, types.go
   * evictionThreshold) subtracts only evictionHard, since a soft threshold is a warning level.
   */
  evictionSoft?: Readonly<Record<string, string>>;
  /** ENIs kept out of the pod formula (Karpenter's --reserved-enis, default 0). */
  reservedENIs?: number;
  blockDeviceMappings?: readonly BlockDeviceSize[];
  /** RAID0: ephemeral storage is the instance store (when the type has one). */
  instanceStorePolicy?: "RAID0";
  /** Fraction of memory the hypervisor keeps (Karpenter's --vm-memory-overhead-percent, default 0.075). */
  vmMemoryOverheadPercent?: number;
}

/** Capacity, the three overhead parts, and allocatable = capacity - overhead, in model keys. */
export interface InstanceResources {
  capacity: ResourceVector;
  overhead: {
    kubeReserved: ResourceVector;
    systemReserved: ResourceVector;
    evictionThreshold: ResourceVector;
  };
  allocatable: ResourceVector;
}

const MiB = 2 ** 20;
const Gi = 2 ** 30;
const DEFAULT_EBS_BYTES = 20 * Gi;

/** Karpenter's default kubelet memory reservation for `pods` pods: 11 MiB each + 255 MiB. */
export function kubeReservedMemoryBytes(pods: number): number {
  return (11 * pods + 255) * MiB;
}

/**
 * Karpenter's default kubelet cpu reservation: 6% of the first core, 1% of the second, 0.5% of
 * cores 3-4, 0.25% of the rest (from Bottlerocket's formula), each range truncated to millicores.
 */
export function kubeReservedCpuMillis(cpuMillis: number): number {
  const ranges: readonly [number, number, number][] = [
    [0, 1000, 0.06],
    [1000, 2000, 0.01],
    [2000, 4000, 0.005],
    [4000, 2 ** 31, 0.0025],
  ];
  let reserved = 0;
  for (const [start, end, fraction] of ranges) {
    if (cpuMillis < start) continue;
    const span = cpuMillis < end ? cpuMillis - start : end - start;
    reserved += Math.trunc(span * fraction);
  }
  return reserved;
}

/** Max pods from the VPC CNI formula: usable ENIs x (IPv4 per ENI - 1) + 2; 0 when no ENI is usable. */
export function eniLimitedPods(info: Ec2InstanceTypeInfo, reservedENIs: number): number {
  const usable = Math.max(defaultCardInterfaces(info) - reservedENIs, 0);
  if (usable === 0) return 0;
  return usable * ((info.NetworkInfo?.Ipv4AddressesPerInterface ?? 0) - 1) + 2;
}

/** The pod capacity: kubelet maxPods, else the family default (ENI formula or 110), capped by podsPerCore. */
export function podCapacity(info: Ec2InstanceTypeInfo, options: InstanceMathOptions = {}): number {
  const traits = amiFamilyTraits(options.amiFamily ?? "AL2023");
  let pods: number;
  if (options.maxPods !== undefined) pods = options.maxPods;
  else if (traits.eniLimitedPodDensity) pods = eniLimitedPods(info, options.reservedENIs ?? 0);
  else pods = 110;
  const perCore = options.podsPerCore ?? 0;
  if (perCore > 0 && traits.podsPerCoreEnabled)
    pods = Math.min(pods, perCore * (info.VCpuInfo?.DefaultVCpus ?? 0));
  return pods;
}

/**
 * Memory capacity in bytes: SizeInMiB, minus 64 MiB on Graviton (CMA reserve), minus the VM
 * overhead rounded up to whole MiB. The float expression follows Karpenter's so rounding agrees.
 */
export function memoryCapacityBytes(info: Ec2InstanceTypeInfo, vmMemoryOverheadPercent = 0.075): number {
  let sizeMiB = info.MemoryInfo?.SizeInMiB ?? 0;
  if (info.ProcessorInfo?.SupportedArchitectures?.[0] === "arm64") sizeMiB -= 64;
  const bytes = sizeMiB * MiB;
  const overheadMiB = Math.ceil((bytes * vmMemoryOverheadPercent) / 1024 / 1024);
  return bytes - overheadMiB * MiB;
}

/** Ephemeral-storage capacity in bytes: instance store under RAID0, else the root volume, else the family default. */
export function ephemeralCapacityBytes(info: Ec2InstanceTypeInfo, options: InstanceMathOptions = {}): number {
  const family = options.amiFamily ?? "AL2023";
  const traits = amiFamilyTraits(family);
  const instanceStoreGB = info.InstanceStorageInfo?.TotalSizeInGB;
  // EC2 reports instance store in decimal GB; Karpenter keeps it decimal ("%dG").
  if (options.instanceStorePolicy === "RAID0" && instanceStoreGB !== undefined) return instanceStoreGB * 1e9;
  const mappings = options.blockDeviceMappings ?? [];
  if (mappings.length > 0) {
    const root = mappings.find((m) => m.rootVolume === true);
    if (root?.volumeSizeBytes !== undefined) return root.volumeSizeBytes;
    if (family === "Custom") return mappings[mappings.length - 1]?.volumeSizeBytes ?? DEFAULT_EBS_BYTES;
    const device = mappings.find((m) => m.deviceName === traits.ephemeralDevice);
    if (device?.volumeSizeBytes !== undefined) return device.volumeSizeBytes;
  }
  return traits.ephemeralDevice === undefined ? DEFAULT_EBS_BYTES : traits.defaultEphemeralBytes;
}

function sumGpus(info: Ec2InstanceTypeInfo, manufacturer: string): number {
  let count = 0;
  for (const gpu of info.GpuInfo?.Gpus ?? []) if (gpu.Manufacturer === manufacturer) count += gpu.Count ?? 0;
  return count;
}

/** Every resource Karpenter puts in the capacity of `info`, zero counts left out. */
export function instanceCapacity(
  info: Ec2InstanceTypeInfo,
  options: InstanceMathOptions = {},
): ResourceVector {
  const family = options.amiFamily ?? "AL2023";
  const name = info.InstanceType ?? "";
  const neuron = info.NeuronInfo?.NeuronDevices ?? [];
  const firstNeuron = neuron[0];
  const capacity: Record<string, number> = {
    [CPU_MILLIS]: (info.VCpuInfo?.DefaultVCpus ?? 0) * 1000,
    [MEMORY_BYTES]: memoryCapacityBytes(info, options.vmMemoryOverheadPercent),
    [EPHEMERAL_BYTES]: ephemeralCapacityBytes(info, options),
    [PODS]: podCapacity(info, options),
    [awsResourceNames.podEni]: instanceFacts[name]?.[0] ?? 0,
    [awsResourceNames.nvidiaGpu]: sumGpus(info, "NVIDIA"),
    [awsResourceNames.amdGpu]: sumGpus(info, "AMD"),
    [awsResourceNames.habanaGaudi]: sumGpus(info, "Habana"),
    [awsResourceNames.neuron]: neuron.reduce((n, d) => n + (d.Count ?? 0), 0),
    // Karpenter multiplies the first device's count by its cores (all devices of a type are alike).
    [awsResourceNames.neuronCore]: firstNeuron
      ? (firstNeuron.Count ?? 0) * (firstNeuron.CoreInfo?.Count ?? 0)
      : 0,
    [awsResourceNames.efa]: info.NetworkInfo?.EfaInfo?.MaximumEfaInterfaces ?? 0,
  };
  // The VPC resource controller advertises secondary IPv4 addresses on Windows nodes.
  if (isWindowsFamily(family)) {
    capacity[awsResourceNames.privateIPv4Address] = Math.max(
      (info.NetworkInfo?.Ipv4AddressesPerInterface ?? 0) - 1,
      0,
    );
  }
  return sorted(Object.fromEntries(Object.entries(capacity).filter(([, v]) => v > 0)));
}

/** Converts a kubelet reservation map (Kubernetes names) into model keys; `pid` and unknown keys have no model resource. */
function reservationToModel(map: Readonly<Record<string, string>> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, raw] of Object.entries(map ?? {})) {
    const key =
      name === "cpu"
        ? CPU_MILLIS
        : name === "memory"
          ? MEMORY_BYTES
          : name === "ephemeral-storage"
            ? EPHEMERAL_BYTES
            : undefined;
    if (key === undefined) continue;
    const value = parseQuantityValue(raw, key === CPU_MILLIS ? "cpu" : "bytes");
    if (value === undefined) throw new RangeError(`invalid ${name} reservation ${JSON.stringify(raw)}`);
    out[key] = value;
  }
  return out;
}

/** An eviction signal's threshold: a percentage of `capacity` (100% disables it, as in the kubelet) or a quantity. */
function evictionSignalBytes(capacity: number, signal: string): number {
  if (signal.endsWith("%")) {
    let percent = Number.parseFloat(signal.slice(0, -1));
    if (percent === 100) percent = 0;
    return Math.ceil((capacity / 100) * percent);
  }
  const value = parseQuantityValue(signal, "bytes");
  if (value === undefined) throw new RangeError(`invalid eviction threshold ${JSON.stringify(signal)}`);
  return value;
}

/**
 * Capacity, overhead and allocatable of `info` under `options`. Inputs are expected to be
 * validated (parseEC2NodeClass does it); an invalid quantity here throws a RangeError.
 */
export function computeInstanceResources(
  info: Ec2InstanceTypeInfo,
  options: InstanceMathOptions = {},
): InstanceResources {
  const traits = amiFamilyTraits(options.amiFamily ?? "AL2023");
  const capacity = instanceCapacity(info, options);
  const cpuMillis = capacity[CPU_MILLIS] ?? 0;
  const memoryBytes = capacity[MEMORY_BYTES] ?? 0;
  const ephemeralBytes = capacity[EPHEMERAL_BYTES] ?? 0;
  const reservedPods = traits.eniLimitedMemoryOverhead ? eniLimitedPods(info, 0) : (capacity[PODS] ?? 0);
  const kubeReserved = sorted({
    [CPU_MILLIS]: kubeReservedCpuMillis(cpuMillis),
    [MEMORY_BYTES]: kubeReservedMemoryBytes(reservedPods),
    [EPHEMERAL_BYTES]: Gi,
    ...reservationToModel(options.kubeReserved),
  });
  const systemReserved = sorted(reservationToModel(options.systemReserved));
  const hard = options.evictionHard ?? {};
  const memorySignal = hard["memory.available"];
  const nodefsSignal = hard["nodefs.available"];
  const evictionThreshold = sorted({
    [MEMORY_BYTES]: memorySignal === undefined ? 100 * MiB : evictionSignalBytes(memoryBytes, memorySignal),
    [EPHEMERAL_BYTES]:
      nodefsSignal === undefined
        ? Math.ceil((ephemeralBytes / 100) * 10)
        : evictionSignalBytes(ephemeralBytes, nodefsSignal),
  });
  const allocatable: Record<string, number> = {};
  for (const [key, value] of Object.entries(capacity)) {
    const overhead = (kubeReserved[key] ?? 0) + (systemReserved[key] ?? 0) + (evictionThreshold[key] ?? 0);
    // A node whose reservations exceed its capacity has nothing to offer, not a negative amount.
    allocatable[key] = Math.max(value - overhead, 0);
  }
  return {
    capacity,
    overhead: { kubeReserved, systemReserved, evictionThreshold },
    allocatable: sorted(allocatable),
  };
}

function sorted(record: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] ?? 0;
  return out;
}
