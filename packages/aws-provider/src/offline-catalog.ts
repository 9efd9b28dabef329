import type {
  CapacityType,
  CatalogSource,
  InstanceType,
  NodePool,
  UnavailableOffering,
  Warning,
} from "@nodeplan/core";
import { type InstanceCatalogFile, spotPriceUnknownWarning, toCatalogFile } from "./catalog-file.ts";
import type { Ec2InstanceTypeInfo } from "./ec2-info.ts";
import { type EC2NodeClass, instanceMathOptions, type OperatorSettings } from "./ec2nodeclass.ts";
import { resolveInstanceType, type ZoneInfo } from "./instance-type.ts";
import { filterInstanceTypes, nodePoolRequirements } from "./nodepool-filter.ts";
import { type OfflineFamily, type OfflineSizeRow, offlineFamilies } from "./offline-table.ts";

/**
 * The embedded default catalog: the offline table's facts turned into EC2-shaped data and run
 * through the same instance math as the live path. Prices are us-east-1 on-demand; spot prices
 * are not known offline, so spot offerings take the on-demand price and carry a warning.
 */

/** The region the offline prices were published for. */
export const OFFLINE_PRICE_REGION = "us-east-1";

function infoOf(family: OfflineFamily, row: OfflineSizeRow): Ec2InstanceTypeInfo {
  const [size, vcpus, memoryMiB, maxENIs, ipv4PerENI, clockMhz, ebsMbps, gpuCount, efaCount, localNvmeGB] =
    row;
  const info: Ec2InstanceTypeInfo = {
    InstanceType: `${family.family}.${size}`,
    SupportedUsageClasses: ["on-demand", "spot"],
    SupportedVirtualizationTypes: ["hvm"],
    Hypervisor: family.hypervisor,
    ProcessorInfo: {
      Manufacturer: family.cpuManufacturer,
      SupportedArchitectures: [family.arch],
      SustainedClockSpeedInGhz: clockMhz / 1000,
    },
    VCpuInfo: { DefaultVCpus: vcpus },
    MemoryInfo: { SizeInMiB: memoryMiB },
    NetworkInfo: {
      MaximumNetworkInterfaces: maxENIs,
      Ipv4AddressesPerInterface: ipv4PerENI,
      EncryptionInTransitSupported: family.encryptionInTransit,
      DefaultNetworkCardIndex: 0,
      NetworkCards: [{ NetworkCardIndex: 0, MaximumNetworkInterfaces: maxENIs }],
      ...(efaCount > 0 ? { EfaInfo: { MaximumEfaInterfaces: efaCount } } : {}),
    },
  };
  if (ebsMbps > 0)
    info.EbsInfo = { EbsOptimizedSupport: "default", EbsOptimizedInfo: { MaximumBandwidthInMbps: ebsMbps } };
  if (family.gpu !== undefined && gpuCount > 0) {
    info.GpuInfo = {
      Gpus: [
        {
          Name: family.gpu.name,
          Manufacturer: family.gpu.manufacturer,
          Count: gpuCount,
          MemoryInfo: { SizeInMiB: family.gpu.memoryMiB },
        },
      ],
    };
  }
  if (localNvmeGB > 0) info.InstanceStorageInfo = { TotalSizeInGB: localNvmeGB, NvmeSupport: "required" };
  return info;
}

/** Every offline type as EC2 would describe it, with its us-east-1 on-demand price. */
export function offlineInstanceTypeInfos(): { info: Ec2InstanceTypeInfo; onDemandPricePerHour: number }[] {
  return offlineFamilies.flatMap((family) =>
    family.sizes.map((row) => ({ info: infoOf(family, row), onDemandPricePerHour: row[10] })),
  );
}

/** Options of `offlineCatalog`. */
export interface OfflineCatalogOptions {
  /** Region to label the catalog with; default us-east-1 (prices stay us-east-1's). */
  region?: string;
  /** Zones to offer in; default `<region>a`, `b`, `c`. */
  zones?: readonly (string | ZoneInfo)[];
  /** Capacity types to offer; default on-demand only. */
  capacityTypes?: readonly CapacityType[];
  /** Allocatable follows its AMI family, kubelet and block devices; default AL2023 defaults. */
  nodeClass?: EC2NodeClass;
  operator?: OperatorSettings;
  /** Timestamp to write; default now. */
  generatedAt?: string;
  /** Offerings the launcher found unavailable (`UnavailableOfferings.list`); offered as unavailable. */
  unavailableOfferings?: () => readonly UnavailableOffering[];
}

/** The offline catalog as model instance types, and the warnings plans made from it must carry. */
export function offlineInstanceTypes(options: OfflineCatalogOptions = {}): {
  instanceTypes: InstanceType[];
  warnings: Warning[];
} {
  const region = options.region ?? OFFLINE_PRICE_REGION;
  const zones = (options.zones ?? [`${region}a`, `${region}b`, `${region}c`]).map((z) =>
    typeof z === "string" ? { zone: z } : z,
  );
  const capacityTypes = options.capacityTypes ?? ["on-demand"];
  const math = instanceMathOptions(options.nodeClass, options.operator);
  const unavailable = new Set(
    (options.unavailableOfferings?.() ?? []).map((u) => `${u.instanceType}/${u.zone}/${u.capacityType}`),
  );
  const instanceTypes: InstanceType[] = [];
  const spotUnknown: string[] = [];
  for (const { info, onDemandPricePerHour } of offlineInstanceTypeInfos()) {
    const name = info.InstanceType ?? "";
    const resolved = resolveInstanceType(info, math, {
      region,
      zones,
      capacityTypes,
      onDemandPricePerHour,
      isUnavailable: (zone, capacityType) => unavailable.has(`${name}/${zone}/${capacityType}`),
    });
    if (resolved === undefined) continue;
    instanceTypes.push(resolved.instanceType);
    if (resolved.spotPriceFallbackZones.length > 0) spotUnknown.push(resolved.instanceType.name);
  }
  const warnings = spotUnknown.length > 0 ? [spotPriceUnknownWarning(spotUnknown)] : [];
  return { instanceTypes, warnings };
}

/** The offline catalog in the catalog file format (what `parseCatalog` reads), with its warnings. */
export function offlineCatalog(options: OfflineCatalogOptions = {}): InstanceCatalogFile {
  const { instanceTypes, warnings } = offlineInstanceTypes(options);
  return toCatalogFile({
    region: options.region ?? OFFLINE_PRICE_REGION,
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    source: `nodeplan offline table (${OFFLINE_PRICE_REGION} on-demand prices, no spot prices)`,
    instanceTypes,
    warnings,
  });
}

/** A CatalogSource over the offline table: per NodePool and EC2NodeClass, filtered by the NodePool's requirements. */
export function offlineCatalogSource(
  options: Omit<OfflineCatalogOptions, "nodeClass"> = {},
): CatalogSource<EC2NodeClass> & {
  /** Warnings of the last `instanceTypes` call (spot_price_unknown when spot was offered). */
  warnings(): Warning[];
} {
  let lastWarnings: Warning[] = [];
  return {
    async instanceTypes(nodePool: NodePool, nodeClass: EC2NodeClass | undefined) {
      const all = offlineInstanceTypes({ ...options, ...(nodeClass === undefined ? {} : { nodeClass }) });
      const allowed = filterInstanceTypes(all.instanceTypes, nodePoolRequirements(nodePool));
      // Offline, every spot offering is priced as on-demand: warn only when the NodePool can use one.
      const spot = allowed
        .filter((t) => t.offerings.some((o) => o.capacityType === "spot"))
        .map((t) => t.name);
      lastWarnings = spot.length > 0 ? [spotPriceUnknownWarning(spot)] : [];
      return allowed;
    },
    warnings: () => lastWarnings,
  };
}
