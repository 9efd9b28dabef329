import type { NodeCostOptions } from "@nodeplan/aws-provider";
import { AwsCatalog, ec2Sdk, pricingApiRegion, pricingSdk } from "@nodeplan/aws-provider/live";
import type { CapacityType } from "@nodeplan/core";
import { UsageError } from "./inputs.ts";

/** The AWS clients of the live catalog, with the ambient region and credentials (environment, profile, SSO, IMDS). */
export interface LiveClients {
  region: string;
  ec2: InstanceType<typeof ec2Sdk.EC2Client>;
  pricing: InstanceType<typeof pricingSdk.PricingClient>;
}

/**
 * Makes the clients and resolves region and credentials up front, so that a machine without them
 * gets one clear sentence instead of a failed call per dataset.
 */
export async function liveClients(region?: string): Promise<LiveClients> {
  const ec2 = new ec2Sdk.EC2Client(region === undefined ? {} : { region });
  let resolved: string;
  try {
    resolved = await ec2.config.region();
  } catch {
    throw new UsageError(
      "the live AWS catalog needs a region: set AWS_REGION (or a region in the AWS profile), or pass --region",
    );
  }
  try {
    await ec2.config.credentials();
  } catch (e) {
    throw new UsageError(
      `the live AWS catalog needs AWS credentials (environment, shared profile, SSO or instance role) and found none: ${(e as Error).message}`,
    );
  }
  const pricing = new pricingSdk.PricingClient({
    region: pricingApiRegion(resolved),
    credentials: ec2.config.credentials,
  });
  return { region: resolved, ec2, pricing };
}

/** The live catalog of the ambient region, checked to have instance types (else a clear error). */
export async function liveCatalog(
  offer: {
    zones: string[] | undefined;
    capacityTypes: CapacityType[] | undefined;
    nodeCosts?: NodeCostOptions;
  },
  wantedRegion?: string,
): Promise<AwsCatalog> {
  const { region, ec2, pricing } = await liveClients(wantedRegion);
  const catalog = new AwsCatalog({
    region,
    ec2,
    pricing,
    ...(offer.zones ? { zones: offer.zones } : {}),
    ...(offer.capacityTypes ? { capacityTypes: offer.capacityTypes } : {}),
    ...(offer.nodeCosts === undefined ? {} : { nodeCosts: offer.nodeCosts }),
  });
  try {
    await catalog.allInstanceTypes();
  } catch (e) {
    throw new UsageError(`--catalog aws: ${(e as Error).message}`);
  }
  return catalog;
}
