/**
 * @nodeplan/aws-provider (browser-safe main entry): EC2 instance math and labels, the EC2NodeClass
 * schema, the offline catalog and the catalog file format. Everything that calls AWS lives on the
 * Node-only `@nodeplan/aws-provider/live` subpath.
 */
export {
  type BlockDeviceSize,
  computeInstanceResources,
  eniLimitedPods,
  ephemeralCapacityBytes,
  type InstanceMathOptions,
  type InstanceResources,
  instanceCapacity,
  kubeReservedCpuMillis,
  kubeReservedMemoryBytes,
  memoryCapacityBytes,
  podCapacity,
} from "./allocatable.ts";
export {
  type AmiFamily,
  type AmiFamilyTraits,
  amiFamilies,
  amiFamilyTraits,
  isWindowsFamily,
} from "./ami-family.ts";
export { CapacityReservationAvailability } from "./capacity-reservations.ts";
export {
  type CatalogFileInstanceType,
  type InstanceCatalogFile,
  spotPriceUnknownWarning,
  toCatalogFile,
} from "./catalog-file.ts";
export { defaultCardInterfaces, type Ec2InstanceTypeInfo, kubeArchitecture } from "./ec2-info.ts";
export {
  AmiAliasSchema,
  AmiSelectorTermSchema,
  BlockDeviceMappingSchema,
  CapacityReservationSelectorTermSchema,
  type EC2NodeClass,
  type EC2NodeClassInput,
  EC2NodeClassSchema,
  EC2NodeClassSpecSchema,
  ec2NodeClassOf,
  instanceMathOptions,
  KubeletSchema,
  type OperatorSettings,
  parseEC2NodeClass,
  resolvedAmiFamily,
  restrictedTagPatterns,
  SecurityGroupSelectorTermSchema,
  SubnetSelectorTermSchema,
} from "./ec2nodeclass.ts";
export {
  EXOTIC_RESOURCES,
  isExoticInstanceType,
  isKarpenterExotic,
  markExotic,
  SPECIAL_QUOTA_CATEGORIES,
} from "./exotic.ts";
export { instanceFacts } from "./instance-facts.ts";
export {
  type CapacityReservationInfo,
  type OfferingContext,
  RESERVED_PRICE_DIVISOR,
  type ResolvedInstanceType,
  resolveInstanceType,
  type ZoneInfo,
} from "./instance-type.ts";
export {
  formatQuantityValue,
  parseQuantityAt,
  parseQuantityValue,
  type QuantityUnit,
} from "./k8s-quantity.ts";
export {
  awsLabels,
  awsWellKnownLabelKeys,
  coreLabels,
  instanceTypeLabels,
  lowerKebabCase,
} from "./labels.ts";
export {
  baselineCpuMillis,
  burstableBaselinePercent,
  type CreditSpecification,
  checkNodeCostOptions,
  creditsOf,
  defaultCreditSpecification,
  defaultVolumes,
  fixedNodeCosts,
  type NodeCostOptions,
  type NodeCostPrices,
  nodeVolumes,
  type PricedVolume,
  US_EAST_1_NODE_COST_PRICES,
  type VolumeType,
  volumeCostPerHour,
  withAwsNodeCosts,
} from "./node-costs.ts";
export { filterInstanceTypes, nodePoolRequirements, satisfies } from "./nodepool-filter.ts";
export {
  OFFLINE_PRICE_REGION,
  type OfflineCatalogOptions,
  offlineCatalog,
  offlineCatalogSource,
  offlineInstanceTypeInfos,
  offlineInstanceTypes,
  offlineSpotWarnings,
  offlineZones,
} from "./offline-catalog.ts";
export {
  OFFLINE_SPOT_PRICES_RECORDED_AT,
  OFFLINE_ZONE_NAME_TO_ID,
  offlineSpotPrices2022,
  offlineZoneIds,
} from "./offline-offerings.ts";
export { type OfflineFamily, type OfflineSizeRow, offlineFamilies } from "./offline-table.ts";
export {
  awsResourceNames,
  CPU_MILLIS,
  EPHEMERAL_BYTES,
  MEMORY_BYTES,
  PODS,
  toResourceList,
} from "./resource-names.ts";
export { UNAVAILABLE_OFFERING_TTL_MILLIS, UnavailableOfferings } from "./unavailable-offerings.ts";
