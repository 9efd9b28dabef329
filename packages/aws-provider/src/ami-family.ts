/**
 * What an EC2NodeClass's AMI family changes in the instance math, as Karpenter's AMI families
 * declare it (A: pkg/providers/amifamily/{al2,al2023,bottlerocket,windows,custom}.go, resolver.go).
 */

/** AMI families an EC2NodeClass may name. */
export const amiFamilies = [
  "AL2",
  "AL2023",
  "Bottlerocket",
  "Windows2019",
  "Windows2022",
  "Windows2025",
  "Custom",
] as const;
/** One of `amiFamilies`. */
export type AmiFamily = (typeof amiFamilies)[number];

/** The traits of an AMI family the instance math reads. */
export interface AmiFamilyTraits {
  /** Default max pods from the ENI formula; otherwise 110. */
  eniLimitedPodDensity: boolean;
  /** podsPerCore is honoured (Bottlerocket's settings cannot pass it, so Karpenter ignores it there). */
  podsPerCoreEnabled: boolean;
  /** kube-reserved memory counts the ENI-limited pods (reservedENIs 0) whatever maxPods says. */
  eniLimitedMemoryOverhead: boolean;
  /** The block device kubelet's root dir lives on; undefined for Custom (unknowable). */
  ephemeralDevice: string | undefined;
  /** Size of that device when no block device mapping names it. */
  defaultEphemeralBytes: number;
  /** Windows build label value, for Windows families. */
  windowsBuild?: string;
}

const Gi = 2 ** 30;
const linuxDefaults = {
  eniLimitedPodDensity: true,
  podsPerCoreEnabled: true,
  eniLimitedMemoryOverhead: true,
  ephemeralDevice: "/dev/xvda",
  defaultEphemeralBytes: 20 * Gi,
};
const windows = (build: string): AmiFamilyTraits => ({
  eniLimitedPodDensity: false,
  podsPerCoreEnabled: true,
  eniLimitedMemoryOverhead: false,
  ephemeralDevice: "/dev/sda1",
  defaultEphemeralBytes: 50 * Gi,
  windowsBuild: build,
});

const traits: Record<AmiFamily, AmiFamilyTraits> = {
  AL2: linuxDefaults,
  AL2023: linuxDefaults,
  // Bottlerocket's OS volume is /dev/xvda (4Gi); pods and images live on /dev/xvdb.
  Bottlerocket: {
    eniLimitedPodDensity: true,
    podsPerCoreEnabled: false,
    eniLimitedMemoryOverhead: false,
    ephemeralDevice: "/dev/xvdb",
    defaultEphemeralBytes: 20 * Gi,
  },
  Windows2019: windows("10.0.17763"),
  Windows2022: windows("10.0.20348"),
  Windows2025: windows("10.0.26100"),
  // Custom AMIs keep EC2's own volumes; Karpenter assumes its default 20Gi EBS volume.
  Custom: { ...linuxDefaults, ephemeralDevice: undefined },
};

/** The traits of `family`. */
export function amiFamilyTraits(family: AmiFamily): AmiFamilyTraits {
  return traits[family];
}

/** True for the Windows families. */
export function isWindowsFamily(family: AmiFamily): boolean {
  return family.startsWith("Windows");
}
