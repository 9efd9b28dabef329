import type {
  CapacityType,
  CatalogSource,
  InstanceType,
  NodePool,
  UnavailableOffering,
  Warning,
} from "@nodeplan/core";
import { type InstanceCatalogFile, toCatalogFile } from "./catalog-file.ts";
import type { Ec2InstanceTypeInfo } from "./ec2-info.ts";
import { type EC2NodeClass, instanceMathOptions, type OperatorSettings } from "./ec2nodeclass.ts";
import { resolveInstanceType, type ZoneInfo } from "./instance-type.ts";
import { coreLabels } from "./labels.ts";
import { checkNodeCostOptions, type NodeCostOptions, withAwsNodeCosts } from "./node-costs.ts";
import { filterInstanceTypes, nodePoolRequirements, satisfies } from "./nodepool-filter.ts";
import {
  OFFLINE_SPOT_PRICES_RECORDED_AT,
  OFFLINE_ZONE_NAME_TO_ID,
  offlineSpotPrices2022,
  offlineZoneIds,
} from "./offline-offerings.ts";
import { type OfflineFamily, type OfflineSizeRow, offlineFamilies } from "./offline-table.ts";

/**
 * The embedded default catalog: the offline table's facts turned into EC2-shaped data and run
 * through the same instance math as the live path. Prices are us-east-1 on-demand; each type is
 * offered only in the zones EC2 offers it in (recorded by zone ID); spot prices are the ones recorded
 * at the end of May 2022 (labelled as such in every plan that offers spot), and a type with no
 * recorded spot price in a zone has no spot offering there.
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
  const zones = offlineZones(region, options.zones);
  const capacityTypes = options.capacityTypes ?? ["on-demand"];
  const math = instanceMathOptions(options.nodeClass, options.operator);
  const unavailable = new Set(
    (options.unavailableOfferings?.() ?? []).map((u) => `${u.instanceType}/${u.zone}/${u.capacityType}`),
  );
  const instanceTypes: InstanceType[] = [];
  for (const { info, onDemandPricePerHour } of offlineInstanceTypeInfos()) {
    const name = info.InstanceType ?? "";
    const offeredIds = new Set(offlineZoneIds[name] ?? []);
    const spot = offlineSpotPrices2022[name] ?? {};
    const spotPricePerHour = new Map<string, number>();
    for (const z of zones) {
      const price = z.zoneId === undefined ? undefined : spot[z.zoneId];
      if (price !== undefined) spotPricePerHour.set(z.zone, price);
    }
    const resolved = resolveInstanceType(info, math, {
      region,
      zones,
      // A zone with a known ID is offered only where EC2 offers the type; an unknown one is not checked.
      offeredZones: new Set(
        zones.filter((z) => z.zoneId === undefined || offeredIds.has(z.zoneId)).map((z) => z.zone),
      ),
      capacityTypes,
      onDemandPricePerHour,
      spotPricePerHour,
      spotWithoutPrice: "none",
      isUnavailable: (zone, capacityType) => unavailable.has(`${name}/${zone}/${capacityType}`),
    });
    if (resolved === undefined) continue;
    instanceTypes.push(resolved.instanceType);
  }
  return { instanceTypes, warnings: offlineSpotWarnings(instanceTypes, capacityTypes) };
}

/**
 * The offline catalog's zones, each with its zone ID: the given ones (names are looked up in the
 * recorded us-east-1 pairing), default `<region>a`, `b`, `c`.
 */
export function offlineZones(region: string, zones?: readonly (string | ZoneInfo)[]): ZoneInfo[] {
  return (zones ?? [`${region}a`, `${region}b`, `${region}c`]).map((z) => {
    const info = typeof z === "string" ? { zone: z } : z;
    const zoneId =
      info.zoneId ?? (region === OFFLINE_PRICE_REGION ? OFFLINE_ZONE_NAME_TO_ID[info.zone] : undefined);
    return zoneId === undefined ? { zone: info.zone } : { zone: info.zone, zoneId };
  });
}

/**
 * What plans that may launch offline spot must say: the spot prices are May 2022 figures, and how many
 * types (of those spot was asked for) have no spot offering because none was recorded.
 */
export function offlineSpotWarnings(
  instanceTypes: readonly InstanceType[],
  capacityTypes: readonly CapacityType[],
): Warning[] {
  if (!capacityTypes.includes("spot")) return [];
  const withSpot = instanceTypes.filter((t) => t.offerings.some((o) => o.capacityType === "spot")).length;
  const dropped = instanceTypes.length - withSpot;
  const warnings: Warning[] = [];
  if (withSpot > 0)
    warnings.push({
      code: "spot_prices_dated",
      message: `offline spot prices are ${OFFLINE_SPOT_PRICES_RECORDED_AT.slice(0, 7)} figures (us-east-1, recorded with DescribeSpotPriceHistory in May 2022), not today's: ${withSpot} instance types have one`,
    });
  if (dropped > 0)
    warnings.push({
      code: "spot_price_unknown",
      message: `no 2022 spot price is recorded for ${dropped} of ${instanceTypes.length} instance types: they have no spot offering offline (use the live catalog for today's spot prices)`,
    });
  return warnings;
}

/** The offline catalog in the catalog file format (what `parseCatalog` reads), with its warnings. */
export function offlineCatalog(options: OfflineCatalogOptions = {}): InstanceCatalogFile {
  const { instanceTypes, warnings } = offlineInstanceTypes(options);
  return toCatalogFile({
    region: options.region ?? OFFLINE_PRICE_REGION,
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    source: `nodeplan offline table (${OFFLINE_PRICE_REGION} on-demand prices, May 2022 spot prices, zones as EC2 offers them)`,
    instanceTypes,
    warnings,
  });
}

/**
 * A CatalogSource over the offline table: per NodePool and EC2NodeClass, filtered by the NodePool's
 * requirements, every offering priced with the node's per-node costs (`withAwsNodeCosts`: volumes,
 * public IPv4, burstable credits, the NodePool's fee) and exotic types marked.
 */
export function offlineCatalogSource(
  options: Omit<OfflineCatalogOptions, "nodeClass"> & { nodeCosts?: NodeCostOptions } = {},
): CatalogSource<EC2NodeClass> & {
  /** Warnings of the last `instanceTypes` call (spot_prices_dated, spot_price_unknown when spot was offered). */
  warnings(): Warning[];
} {
  const { nodeCosts, ...catalogOptions } = options;
  if (nodeCosts !== undefined) checkNodeCostOptions(nodeCosts);
  let lastWarnings: Warning[] = [];
  return {
    async instanceTypes(nodePool: NodePool, nodeClass: EC2NodeClass | undefined) {
      const all = offlineInstanceTypes({
        ...catalogOptions,
        ...(nodeClass === undefined ? {} : { nodeClass }),
      });
      const requirements = nodePoolRequirements(nodePool);
      const allowed = filterInstanceTypes(all.instanceTypes, requirements);
      // Spot warnings count the types the NodePool allows by their labels, when it allows spot at all.
      const capacity = requirements.filter((r) => r.key === coreLabels.capacityType);
      const spotAllowed = capacity.every((r) => satisfies("spot", r));
      const byLabels = filterInstanceTypes(
        all.instanceTypes,
        requirements.filter((r) => r.key !== coreLabels.capacityType),
      );
      lastWarnings = offlineSpotWarnings(
        byLabels,
        spotAllowed ? (catalogOptions.capacityTypes ?? ["on-demand"]) : [],
      );
      return withAwsNodeCosts(allowed, nodePool, nodeClass, nodeCosts);
    },
    warnings: () => lastWarnings,
  };
}
