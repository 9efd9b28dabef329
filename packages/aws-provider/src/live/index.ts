/**
 * @nodeplan/aws-provider/live (Node only): the catalog read from AWS (EC2 and the Price List API),
 * cached, retried on throttling, and written as a catalog file; launches with CreateFleet (reserved
 * capacity targeted per reservation, spot, on-demand; an idempotent client token per NodeClaim),
 * drift and the interruption queue. Share one UnavailableOfferings and one
 * CapacityReservationAvailability between AwsCatalog and AwsLauncher so launch failures and
 * reservation use show in the catalog at once.
 */
export { AwsCatalog, type AwsCatalogOptions, type CatalogIssue } from "./aws-catalog.ts";
export { type CachedValue, TtlCache } from "./cache.ts";
export { type Ec2CatalogApi, type PricingApi, pricingApiRegion } from "./clients.ts";
export {
  AwsDriftDetector,
  type AwsDriftDetectorOptions,
  describeInstanceFacts,
  EC2NODECLASS_HASH_ANNOTATION,
  EC2NODECLASS_HASH_VERSION,
  EC2NODECLASS_HASH_VERSION_ANNOTATION,
  type Ec2DescribeInstancesApi,
  ec2NodeClassHash,
  ec2NodeClassHashAnnotations,
  type InstanceFacts,
} from "./drift.ts";
export {
  describeCapacityReservations,
  describeInstanceTypes,
  describeOfferedZones,
  describeSpotPrices,
} from "./ec2-calls.ts";
export { describeClusterInstances } from "./instances.ts";
export {
  consumeInterruptionQueue,
  type InterruptionQueueOptions,
  type ParsedInterruptionMessage,
  parseInterruptionMessage,
} from "./interruption.ts";
export {
  awsErrorCode,
  type Ec2LaunchApi,
  type Ec2LaunchTemplateApi,
  type Ec2ResolveApi,
  type SqsApi,
  type SsmApi,
} from "./launch-clients.ts";
export {
  blockDeviceMappings,
  canonicalJson,
  LaunchTemplates,
  type LaunchTemplatesOptions,
  stableHash,
} from "./launch-template.ts";
export {
  AwsLauncher,
  type AwsLauncherOptions,
  fleetClientToken,
  InsufficientCapacityError,
  instanceIdOf,
  type LaunchClaim,
  MAX_INSTANCE_TYPES,
  UNFULFILLABLE_CAPACITY_CODES,
} from "./launcher.ts";
export {
  fetchNodeCostPrices,
  fetchOnDemandPrices,
  type NodeCostPriceIssue,
  type NodeCostPriceList,
  type OnDemandPrices,
  onDemandFilters,
  type PriceListIssue,
  parsePriceList,
  parseUsagePrices,
} from "./pricing.ts";
export { type RefreshCatalogOptions, refreshCatalogFile } from "./refresh.ts";
export {
  type AliasParameter,
  type AmiVariant,
  aliasSsmParameters,
  amiForInstanceType,
  amiVariantOf,
  type ResolveAmisOptions,
  type ResolvedAmi,
  type ResolvedNodeClass,
  type ResolvedSecurityGroup,
  type ResolvedSubnet,
  resolveAmis,
  resolveNodeClass,
  resolveSecurityGroups,
  resolveSubnets,
  subnetsAssignPublicIpv4,
  tagFilters,
  zonalSubnets,
} from "./resolve.ts";
export { isThrottlingError, type RetryOptions, runBounded, withThrottlingRetry } from "./retry.ts";
export { ec2Sdk, pricingSdk, sqsSdk, ssmSdk } from "./sdk.ts";
export {
  type BootstrapInput,
  type ClusterInfo,
  nodeConfig,
  nodeLabelsFlag,
  taintsFlag,
  userData,
} from "./user-data.ts";
