/**
 * The part of EC2's `InstanceTypeInfo` (DescribeInstanceTypes) the provider reads, with EC2's field
 * names. Declared here rather than imported from the AWS SDK so the main entry stays browser-safe;
 * the SDK's type is assignable to it.
 */
export interface Ec2InstanceTypeInfo {
  InstanceType?: string;
  SupportedUsageClasses?: readonly string[];
  SupportedVirtualizationTypes?: readonly string[];
  BareMetal?: boolean;
  Hypervisor?: string;
  ProcessorInfo?: {
    Manufacturer?: string;
    SupportedArchitectures?: readonly string[];
    SustainedClockSpeedInGhz?: number;
  };
  VCpuInfo?: { DefaultVCpus?: number };
  MemoryInfo?: { SizeInMiB?: number };
  EbsInfo?: {
    EbsOptimizedSupport?: string;
    EbsOptimizedInfo?: { MaximumBandwidthInMbps?: number };
  };
  NetworkInfo?: {
    MaximumNetworkInterfaces?: number;
    Ipv4AddressesPerInterface?: number;
    EncryptionInTransitSupported?: boolean;
    DefaultNetworkCardIndex?: number;
    NetworkCards?: readonly {
      NetworkCardIndex?: number;
      MaximumNetworkInterfaces?: number;
      BaselineBandwidthInGbps?: number;
    }[];
    EfaInfo?: { MaximumEfaInterfaces?: number };
  };
  GpuInfo?: {
    Gpus?: readonly {
      Name?: string;
      Manufacturer?: string;
      Count?: number;
      MemoryInfo?: { SizeInMiB?: number };
    }[];
  };
  NeuronInfo?: {
    NeuronDevices?: readonly { Name?: string; Count?: number; CoreInfo?: { Count?: number } }[];
  };
  InferenceAcceleratorInfo?: {
    Accelerators?: readonly { Name?: string; Manufacturer?: string; Count?: number }[];
  };
  InstanceStorageInfo?: { TotalSizeInGB?: number; NvmeSupport?: string };
}

/** Kubernetes' name for an EC2 architecture (`x86_64` -> `amd64`), undefined when unsupported. */
export function kubeArchitecture(info: Ec2InstanceTypeInfo): string | undefined {
  for (const arch of info.ProcessorInfo?.SupportedArchitectures ?? []) {
    if (arch === "x86_64") return "amd64";
    if (arch === "arm64") return "arm64";
  }
  return undefined;
}

/** Max network interfaces on the default network card: the only card the VPC CNI uses for pods. */
export function defaultCardInterfaces(info: Ec2InstanceTypeInfo): number {
  const network = info.NetworkInfo;
  const index = network?.DefaultNetworkCardIndex ?? 0;
  const card = network?.NetworkCards?.find((c) => (c.NetworkCardIndex ?? 0) === index);
  return card?.MaximumNetworkInterfaces ?? network?.MaximumNetworkInterfaces ?? 0;
}
