import type { InstanceTypeInfo } from "@aws-sdk/client-ec2";
import type { CapacityReservationInfo } from "../instance-type.ts";
import type { Ec2CatalogApi } from "./clients.ts";
import { eachPage, type RetryOptions } from "./retry.ts";
import { ec2Sdk } from "./sdk.ts";

const {
  DescribeCapacityReservationsCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  DescribeSpotPriceHistoryCommand,
} = ec2Sdk;

/**
 * The paginated EC2 reads behind the catalog, with the filters Karpenter uses
 * (A: pkg/providers/instancetype/instancetype.go, pkg/providers/pricing/pricing.go,
 * pkg/providers/capacityreservation). Each page is retried on throttling.
 */

/** DescribeInstanceTypes filtered to what Karpenter can launch: on-demand/spot, HVM, x86_64/arm64. */
export async function describeInstanceTypes(
  ec2: Ec2CatalogApi,
  retry?: RetryOptions,
): Promise<InstanceTypeInfo[]> {
  const out: InstanceTypeInfo[] = [];
  for await (const page of eachPage(
    (next) =>
      ec2.send(
        new DescribeInstanceTypesCommand({
          Filters: [
            { Name: "supported-usage-class", Values: ["on-demand", "spot"] },
            { Name: "supported-virtualization-type", Values: ["hvm"] },
            { Name: "processor-info.supported-architecture", Values: ["x86_64", "arm64"] },
          ],
          // EC2 caps this call's page at 100.
          MaxResults: 100,
          ...next,
        }),
      ),
    retry,
  )) {
    out.push(...(page.InstanceTypes ?? []));
  }
  return out;
}

/** The zones each instance type is offered in (DescribeInstanceTypeOfferings by availability zone). */
export async function describeOfferedZones(
  ec2: Ec2CatalogApi,
  retry?: RetryOptions,
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for await (const page of eachPage(
    (next) =>
      ec2.send(
        new DescribeInstanceTypeOfferingsCommand({
          LocationType: "availability-zone",
          MaxResults: 1000,
          ...next,
        }),
      ),
    retry,
  )) {
    for (const offering of page.InstanceTypeOfferings ?? []) {
      if (offering.InstanceType === undefined || offering.Location === undefined) continue;
      let zones = out.get(offering.InstanceType);
      if (zones === undefined) out.set(offering.InstanceType, (zones = new Set()));
      zones.add(offering.Location);
    }
  }
  return out;
}

/** Latest Linux spot price per instance type and zone (type -> zone -> USD per hour). */
export async function describeSpotPrices(
  ec2: Ec2CatalogApi,
  now: Date,
  retry?: RetryOptions,
): Promise<Map<string, Map<string, number>>> {
  const latest = new Map<string, Map<string, { price: number; at: number }>>();
  for await (const page of eachPage(
    (next) =>
      ec2.send(
        new DescribeSpotPriceHistoryCommand({
          ProductDescriptions: ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
          // A start time of now returns the price in effect now for every type and zone.
          StartTime: now,
          MaxResults: 1000,
          ...next,
        }),
      ),
    retry,
  )) {
    for (const record of page.SpotPriceHistory ?? []) {
      const price = Number(record.SpotPrice);
      if (record.InstanceType === undefined || record.AvailabilityZone === undefined) continue;
      if (record.Timestamp === undefined || !Number.isFinite(price) || price <= 0) continue;
      let zones = latest.get(record.InstanceType);
      if (zones === undefined) latest.set(record.InstanceType, (zones = new Map()));
      const at = record.Timestamp.getTime();
      const seen = zones.get(record.AvailabilityZone);
      if (seen === undefined || at > seen.at) zones.set(record.AvailabilityZone, { price, at });
    }
  }
  const out = new Map<string, Map<string, number>>();
  for (const [type, zones] of latest) out.set(type, new Map([...zones].map(([zone, p]) => [zone, p.price])));
  return out;
}

/** Active capacity reservations (optionally only the given ids), reduced to what offerings need. */
export async function describeCapacityReservations(
  ec2: Ec2CatalogApi,
  ids: readonly string[] | undefined,
  retry?: RetryOptions,
): Promise<CapacityReservationInfo[]> {
  const out: CapacityReservationInfo[] = [];
  for await (const page of eachPage(
    (next) =>
      ec2.send(
        new DescribeCapacityReservationsCommand({
          Filters: [{ Name: "state", Values: ["active"] }],
          ...(ids === undefined ? {} : { CapacityReservationIds: [...ids] }),
          ...next,
        }),
      ),
    retry,
  )) {
    for (const r of page.CapacityReservations ?? []) {
      if (
        r.CapacityReservationId === undefined ||
        r.InstanceType === undefined ||
        r.AvailabilityZone === undefined
      )
        continue;
      out.push({
        id: r.CapacityReservationId,
        instanceType: r.InstanceType,
        zone: r.AvailabilityZone,
        availableInstanceCount: r.AvailableInstanceCount ?? 0,
        ...(r.ReservationType === undefined ? {} : { reservationType: r.ReservationType }),
      });
    }
  }
  return out;
}
