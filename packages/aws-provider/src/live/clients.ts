import type {
  DescribeCapacityReservationsCommand,
  DescribeCapacityReservationsCommandOutput,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypeOfferingsCommandOutput,
  DescribeInstanceTypesCommand,
  DescribeInstanceTypesCommandOutput,
  DescribeSpotPriceHistoryCommand,
  DescribeSpotPriceHistoryCommandOutput,
} from "@aws-sdk/client-ec2";
import type { GetProductsCommand, GetProductsCommandOutput } from "@aws-sdk/client-pricing";

/**
 * The AWS SDK clients typed as just the calls this provider makes (as Karpenter's sdk.go does),
 * so a real EC2Client / PricingClient fits and a fake stays a few lines.
 */

/** The EC2 calls of the catalog: instance types, their zones, spot prices, capacity reservations. */
export interface Ec2CatalogApi {
  send(command: DescribeInstanceTypesCommand): Promise<DescribeInstanceTypesCommandOutput>;
  send(command: DescribeInstanceTypeOfferingsCommand): Promise<DescribeInstanceTypeOfferingsCommandOutput>;
  send(command: DescribeSpotPriceHistoryCommand): Promise<DescribeSpotPriceHistoryCommandOutput>;
  send(command: DescribeCapacityReservationsCommand): Promise<DescribeCapacityReservationsCommandOutput>;
}

/** The Pricing call of the catalog: on-demand price lists. */
export interface PricingApi {
  send(command: GetProductsCommand): Promise<GetProductsCommandOutput>;
}

/**
 * The region whose Pricing API endpoint serves `region`: the Price List API exists only in a few
 * regions, chosen as Karpenter chooses (A: pkg/providers/pricing/pricing.go NewAPI).
 */
export function pricingApiRegion(region: string): string {
  if (region.startsWith("ap-")) return "ap-south-1";
  if (region.startsWith("cn-")) return "cn-northwest-1";
  if (region.startsWith("eu-")) return "eu-central-1";
  return "us-east-1";
}
