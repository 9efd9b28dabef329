/**
 * @nodeplan/aws-provider/live (Node only): the catalog read from AWS (EC2 and the Price List API),
 * cached, retried on throttling, and written as a catalog file.
 */
export { AwsCatalog, type AwsCatalogOptions, type CatalogIssue } from "./aws-catalog.ts";
export { type CachedValue, TtlCache } from "./cache.ts";
export { type Ec2CatalogApi, type PricingApi, pricingApiRegion } from "./clients.ts";
export {
  describeCapacityReservations,
  describeInstanceTypes,
  describeOfferedZones,
  describeSpotPrices,
} from "./ec2-calls.ts";
export {
  fetchOnDemandPrices,
  type OnDemandPrices,
  onDemandFilters,
  type PriceListIssue,
  parsePriceList,
} from "./pricing.ts";
export { type RefreshCatalogOptions, refreshCatalogFile } from "./refresh.ts";
export { isThrottlingError, type RetryOptions, runBounded, withThrottlingRetry } from "./retry.ts";
