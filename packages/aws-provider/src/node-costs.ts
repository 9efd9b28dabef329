import {
  type InstanceType,
  type NodeCosts,
  type NodePool,
  nodePoolFeePerHour,
  withNodeCosts,
} from "@nodeplan/core";
import type { AmiFamily } from "./ami-family.ts";
import { type EC2NodeClass, resolvedAmiFamily } from "./ec2nodeclass.ts";
import { parseQuantityValue } from "./k8s-quantity.ts";
import { CPU_MILLIS } from "./resource-names.ts";

/**
 * What an EC2 node costs beyond its instance price, folded into every offering the AWS catalogs return
 * (core's `withNodeCosts`), so that provisioning, the lower bound, validation and disruption all price
 * the bill as it will be:
 *
 * - storage: the EC2NodeClass's blockDeviceMappings (Karpenter's defaults per AMI family when it has
 *   none), per GB-month by volume type, plus gp3 IOPS and throughput above what gp3 includes and io1 /
 *   io2 provisioned IOPS. Not priced: magnetic (`standard`) I/O requests, which depend on use, and a
 *   volume sized only by its snapshot (its size is not known before launch).
 * - network: one public IPv4 address per node when the node class (or, live, its subnets) assigns one.
 * - burstable credits: T2/T3/T3a/T4g nodes sustain only a baseline share of each vCPU. In unlimited
 *   mode (AWS's default for T3, T3a, T4g) CPU used above it is billed as surplus credits; in standard
 *   mode (T2's default) it is throttled. The model: pods use `burstableLoad` (default 1) of the CPU they
 *   request and a node is packed to its allocatable CPU. Unlimited, each offering pays the surplus of a
 *   full node at that load, (load x allocatable cpu - baseline) x the surplus price per vCPU-hour: the
 *   most the node is billed at that load whatever the plan puts on it. Standard, only the baseline is
 *   usable: allocatable cpu is cut to baseline / load, and no credits are paid.
 * - fees: the NodePool's `nodeplan.dev/node-fee-per-hour`, else a host's default.
 *
 * Prices are us-east-1's (../shared/data/aws-node-costs-us-east-1.json) unless the live catalog read
 * them from the Price List API.
 */

/** EBS volume types. */
export type VolumeType = "gp3" | "gp2" | "io1" | "io2" | "st1" | "sc1" | "standard";

/** What EBS volumes and public addresses cost in one region. */
export interface NodeCostPrices {
  region: string;
  /** Dollars per GB-month of provisioned size, by volume type (EBS bills per GiB). */
  ebsPerGbMonth: Readonly<Record<VolumeType, number>>;
  gp3: {
    includedIops: number;
    perIopsMonth: number;
    includedThroughputMiBps: number;
    perMiBpsMonth: number;
  };
  io1PerIopsMonth: number;
  /** io2 IOPS price tiers, ascending; the last has `upTo` null. */
  io2IopsTiers: readonly { upTo: number | null; perIopsMonth: number }[];
  publicIpv4PerHour: number;
  hoursPerMonth: number;
  /** Surplus CPU credits (unlimited mode), Linux, per vCPU-hour. */
  surplusCreditPerVcpuHour: number;
}

/** us-east-1's prices, as published by AWS (../shared/data/aws-node-costs-us-east-1.json). */
export const US_EAST_1_NODE_COST_PRICES: NodeCostPrices = Object.freeze({
  region: "us-east-1",
  ebsPerGbMonth: { gp3: 0.08, gp2: 0.1, io1: 0.125, io2: 0.125, st1: 0.045, sc1: 0.015, standard: 0.05 },
  gp3: { includedIops: 3000, perIopsMonth: 0.005, includedThroughputMiBps: 125, perMiBpsMonth: 0.04 },
  io1PerIopsMonth: 0.065,
  io2IopsTiers: [
    { upTo: 32000, perIopsMonth: 0.065 },
    { upTo: 64000, perIopsMonth: 0.0455 },
    { upTo: null, perIopsMonth: 0.032 },
  ],
  publicIpv4PerHour: 0.005,
  hoursPerMonth: 730,
  surplusCreditPerVcpuHour: 0.05,
});

/** Burstable CPU credit specification: each family's AWS default, or one for all. */
export type CreditSpecification = "default" | "unlimited" | "standard";

/** AWS's default credit specification per burstable family. */
export const defaultCreditSpecification: Readonly<Record<string, "unlimited" | "standard">> = Object.freeze({
  t2: "standard",
  t3: "unlimited",
  t3a: "unlimited",
  t4g: "unlimited",
});

/** Baseline utilization per vCPU, in percent, of the burstable types (EC2 User Guide). */
export const burstableBaselinePercent: Readonly<Record<string, number>> = Object.freeze({
  "t2.nano": 5,
  "t2.micro": 10,
  "t2.small": 20,
  "t2.medium": 20,
  "t2.large": 30,
  "t2.xlarge": 22.5,
  "t2.2xlarge": 17,
  ...Object.fromEntries(
    ["t3", "t3a", "t4g"].flatMap((f) =>
      (
        [
          ["nano", 5],
          ["micro", 10],
          ["small", 20],
          ["medium", 20],
          ["large", 30],
          ["xlarge", 40],
          ["2xlarge", 40],
        ] as const
      ).map(([size, percent]) => [`${f}.${size}`, percent]),
    ),
  ),
});

/** A block device as priced: its size, type and provisioned performance. */
export interface PricedVolume {
  deviceName?: string;
  /** Size in bytes; undefined when only a snapshot sizes it. */
  sizeBytes?: number;
  volumeType: VolumeType;
  iops?: number;
  throughputMiBps?: number;
}

const Gi = 2 ** 30;

/** Karpenter's default block device mappings per AMI family (A: pkg/providers/amifamily/*.go). */
export function defaultVolumes(family: AmiFamily): PricedVolume[] {
  const gp3 = (deviceName: string, gib: number): PricedVolume => ({
    deviceName,
    sizeBytes: gib * Gi,
    volumeType: "gp3",
  });
  if (family === "Bottlerocket") return [gp3("/dev/xvda", 4), gp3("/dev/xvdb", 20)];
  if (family.startsWith("Windows")) return [gp3("/dev/sda1", 50)];
  // AL2, AL2023 and Custom (Karpenter assumes its default 20Gi volume for Custom AMIs too).
  return [gp3("/dev/xvda", 20)];
}

/**
 * The volumes a node of `nodeClass` carries: its blockDeviceMappings, or its AMI family's defaults
 * (AL2023's when there is no node class). A mapping without a volume type is gp2, EC2's default.
 */
export function nodeVolumes(nodeClass: EC2NodeClass | undefined): PricedVolume[] {
  const mappings = nodeClass?.spec.blockDeviceMappings;
  if (mappings === undefined || mappings.length === 0)
    return defaultVolumes(nodeClass === undefined ? "AL2023" : resolvedAmiFamily(nodeClass));
  return mappings.flatMap((m) => {
    if (m.ebs === undefined) return [];
    const size = m.ebs.volumeSize === undefined ? undefined : parseQuantityValue(m.ebs.volumeSize, "bytes");
    return [
      {
        ...(m.deviceName === undefined ? {} : { deviceName: m.deviceName }),
        ...(size === undefined ? {} : { sizeBytes: size }),
        volumeType: m.ebs.volumeType ?? "gp2",
        ...(m.ebs.iops === undefined ? {} : { iops: m.ebs.iops }),
        ...(m.ebs.throughput === undefined ? {} : { throughputMiBps: m.ebs.throughput }),
      },
    ];
  });
}

/** What one volume costs per hour: size by type, and provisioned IOPS / throughput where billed. */
export function volumeCostPerHour(
  volume: PricedVolume,
  prices: NodeCostPrices = US_EAST_1_NODE_COST_PRICES,
): number {
  const gib = (volume.sizeBytes ?? 0) / Gi;
  let monthly = gib * prices.ebsPerGbMonth[volume.volumeType];
  const iops = volume.iops ?? 0;
  if (volume.volumeType === "gp3") {
    monthly += Math.max(0, iops - prices.gp3.includedIops) * prices.gp3.perIopsMonth;
    monthly +=
      Math.max(0, (volume.throughputMiBps ?? 0) - prices.gp3.includedThroughputMiBps) *
      prices.gp3.perMiBpsMonth;
  } else if (volume.volumeType === "io1") {
    monthly += iops * prices.io1PerIopsMonth;
  } else if (volume.volumeType === "io2") {
    let below = 0;
    for (const tier of prices.io2IopsTiers) {
      const top = tier.upTo ?? Number.POSITIVE_INFINITY;
      monthly += Math.max(0, Math.min(iops, top) - below) * tier.perIopsMonth;
      below = top;
      if (iops <= top) break;
    }
  }
  return monthly / prices.hoursPerMonth;
}

/** Options of the per-node costs (hosts: CLI flags, controller settings, bench). */
export interface NodeCostOptions {
  /**
   * Whether each node gets a public IPv4 address. Undefined: the node class decides
   * (`associatePublicIPAddress`), else the live subnets (`subnetsAssignPublicIpv4`), else none.
   */
  publicIpv4?: boolean;
  /** Live: whether the node class's subnets map a public IPv4 address on launch. */
  subnetsAssignPublicIpv4?: boolean;
  /** Burstable credit specification (default: each family's AWS default). */
  credits?: CreditSpecification;
  /** Share of their CPU requests pods use, in (0, 1] (default 1: pods use what they request). */
  burstableLoad?: number;
  /** Fee per node for NodePools without the `nodeplan.dev/node-fee-per-hour` annotation (default 0). */
  feePerHour?: number;
  /** Prices of the region (default us-east-1's). */
  prices?: NodeCostPrices;
}

/** Checks the options, naming the bad one. */
export function checkNodeCostOptions(options: NodeCostOptions): void {
  const load = options.burstableLoad;
  if (load !== undefined && !(load > 0 && load <= 1))
    throw new RangeError(
      `burstable load ${load} must be in (0, 1]: the share of their CPU requests pods use`,
    );
  const fee = options.feePerHour;
  if (fee !== undefined && !(fee >= 0 && Number.isFinite(fee)))
    throw new RangeError(`node fee ${fee} must be a non-negative amount in dollars per hour`);
}

/** Storage and network $/h of one node of `nodeClass` (the same for every instance type). */
export function fixedNodeCosts(
  nodeClass: EC2NodeClass | undefined,
  options: NodeCostOptions = {},
): { storagePerHour: number; networkPerHour: number } {
  const prices = options.prices ?? US_EAST_1_NODE_COST_PRICES;
  let storagePerHour = 0;
  for (const v of nodeVolumes(nodeClass)) storagePerHour += volumeCostPerHour(v, prices);
  const publicIpv4 =
    options.publicIpv4 ??
    nodeClass?.spec.associatePublicIPAddress ??
    options.subnetsAssignPublicIpv4 ??
    false;
  return { storagePerHour, networkPerHour: publicIpv4 ? prices.publicIpv4PerHour : 0 };
}

/** The credit specification a burstable type runs with, or undefined for a type that is not burstable. */
export function creditsOf(
  typeName: string,
  credits: CreditSpecification = "default",
): "unlimited" | "standard" | undefined {
  if (burstableBaselinePercent[typeName] === undefined) return undefined;
  if (credits !== "default") return credits;
  return defaultCreditSpecification[typeName.split(".")[0] ?? ""] ?? "unlimited";
}

/** A burstable type's baseline CPU in millicores (vCPUs x baseline share), or undefined. */
export function baselineCpuMillis(type: Pick<InstanceType, "name" | "capacity">): number | undefined {
  const percent = burstableBaselinePercent[type.name];
  if (percent === undefined) return undefined;
  return ((type.capacity[CPU_MILLIS] ?? 0) * percent) / 100;
}

/**
 * The AWS catalog of one NodePool and node class with its per-node costs folded into every offering
 * (see the module comment): standard-mode burstable types get their usable CPU, and every offering
 * pays volumes, public IPv4, unlimited-mode surplus credits and the NodePool's fee.
 */
export function withAwsNodeCosts(
  instanceTypes: readonly InstanceType[],
  nodePool: Pick<NodePool, "annotations"> | undefined,
  nodeClass: EC2NodeClass | undefined,
  options: NodeCostOptions = {},
): InstanceType[] {
  checkNodeCostOptions(options);
  const prices = options.prices ?? US_EAST_1_NODE_COST_PRICES;
  const load = options.burstableLoad ?? 1;
  const fixed = fixedNodeCosts(nodeClass, options);
  const feesPerHour =
    nodePool === undefined
      ? (options.feePerHour ?? 0)
      : nodePoolFeePerHour(nodePool, options.feePerHour ?? 0);
  const perType = new Map<InstanceType, NodeCosts>();
  const types = instanceTypes.map((type) => {
    const credits = creditsOf(type.name, options.credits);
    const baseline = baselineCpuMillis(type);
    let out = type;
    let burstableCreditsPerHour = 0;
    if (credits === "standard" && baseline !== undefined) {
      // Only the baseline is sustained: pods using `load` of their requests may request baseline / load.
      const usable = Math.floor(baseline / load);
      const allocatable = type.allocatable[CPU_MILLIS] ?? 0;
      if (usable < allocatable) out = { ...type, allocatable: { ...type.allocatable, [CPU_MILLIS]: usable } };
    } else if (credits === "unlimited" && baseline !== undefined) {
      const surplusMillis = Math.max(0, load * (type.allocatable[CPU_MILLIS] ?? 0) - baseline);
      burstableCreditsPerHour = (surplusMillis / 1000) * prices.surplusCreditPerVcpuHour;
    }
    perType.set(out, { ...fixed, burstableCreditsPerHour, feesPerHour });
    return out;
  });
  return withNodeCosts(types, (type) => perType.get(type));
}
