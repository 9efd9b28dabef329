import type { CapacityType, InstanceType, Offering } from "@nodeplan/core";
import { computeInstanceResources, type InstanceMathOptions } from "./allocatable.ts";
import type { Ec2InstanceTypeInfo } from "./ec2-info.ts";
import { isExoticInstanceType } from "./exotic.ts";
import { instanceTypeLabels } from "./labels.ts";

/**
 * Turns one EC2 instance type into the model's InstanceType: labels, capacity, overhead,
 * allocatable and offerings per zone and capacity type, priced as Karpenter prices them
 * (A: pkg/providers/instancetype/offering/*.go, pkg/providers/pricing/pricing.go).
 */

/** A zone a node class can launch into (from its subnets), with its zone ID when known. */
export interface ZoneInfo {
  zone: string;
  zoneId?: string;
}

/** An active capacity reservation (DescribeCapacityReservations), reduced to what offerings need. */
export interface CapacityReservationInfo {
  id: string;
  instanceType: string;
  zone: string;
  /** Instances still available in the reservation. */
  availableInstanceCount: number;
  /** `default` or `capacity-block`. */
  reservationType?: string;
  /** An expiring reservation is not offered (Karpenter). */
  expiring?: boolean;
}

/** Everything besides the EC2 data that decides an instance type's offerings. */
export interface OfferingContext {
  region: string;
  /** Zones to make offerings in (the node class's subnets' zones). */
  zones: readonly ZoneInfo[];
  /** Zones where EC2 offers this type (DescribeInstanceTypeOfferings); undefined = all of `zones`. */
  offeredZones?: ReadonlySet<string>;
  /** Capacity types wanted (on-demand, spot); reserved offerings come from `reservations`. */
  capacityTypes: readonly CapacityType[];
  /** On-demand price per hour in USD; undefined when unknown (the offerings are then unavailable). */
  onDemandPricePerHour?: number;
  /** Spot price per hour by zone; a zone without one falls back to the on-demand price (see `spotWithoutPrice`). */
  spotPricePerHour?: ReadonlyMap<string, number>;
  /**
   * A zone with no spot price: `on-demand` (default, Karpenter's state until a live spot price arrives)
   * offers spot at the on-demand price; `none` makes no spot offering there (offline, where no price
   * will arrive).
   */
  spotWithoutPrice?: "on-demand" | "none";
  reservations?: readonly CapacityReservationInfo[];
  /** Offerings recently found unavailable (from the launcher): not available. */
  isUnavailable?: (zone: string, capacityType: CapacityType) => boolean;
}

/**
 * The resolved type, and the zones (where EC2 offers it) with no spot price: priced at on-demand, or
 * left without a spot offering when `spotWithoutPrice` is `none`.
 */
export interface ResolvedInstanceType {
  instanceType: InstanceType;
  spotPriceFallbackZones: string[];
}

/** Karpenter prices a reserved offering at a sliver of on-demand: nearly free, ordering kept. */
export const RESERVED_PRICE_DIVISOR = 10_000_000;

/**
 * Resolves `info` under the node class options `math` and the offering context. Undefined when the
 * type cannot run there (unsupported architecture, or arm64 under Windows).
 */
export function resolveInstanceType(
  info: Ec2InstanceTypeInfo,
  math: InstanceMathOptions,
  context: OfferingContext,
): ResolvedInstanceType | undefined {
  const name = info.InstanceType ?? "";
  const labels = instanceTypeLabels(info, context.region, math.amiFamily);
  if (labels === undefined) return undefined;
  const resources = computeInstanceResources(info, math);
  const supported = new Set(info.SupportedUsageClasses ?? []);
  const onDemand = context.onDemandPricePerHour;
  const offerings: Offering[] = [];
  const spotPriceFallbackZones: string[] = [];
  for (const { zone, zoneId } of context.zones) {
    const offered = context.offeredZones === undefined || context.offeredZones.has(zone);
    for (const capacityType of context.capacityTypes) {
      if (capacityType === "reserved" || !supported.has(capacityType)) continue;
      let price = capacityType === "spot" ? context.spotPricePerHour?.get(zone) : onDemand;
      if (capacityType === "spot" && price === undefined && context.spotWithoutPrice === "none") {
        if (offered) spotPriceFallbackZones.push(zone);
        continue;
      }
      if (capacityType === "spot" && price === undefined && onDemand !== undefined) {
        // Karpenter's initial state: spot is priced as on-demand until a spot price arrives.
        price = onDemand;
        if (offered) spotPriceFallbackZones.push(zone);
      }
      const unavailable = context.isUnavailable?.(zone, capacityType) === true;
      offerings.push({
        zone,
        ...(zoneId === undefined ? {} : { zoneId }),
        capacityType,
        pricePerHour: price ?? 0,
        available: offered && price !== undefined && !unavailable,
      });
    }
  }
  for (const reservation of context.reservations ?? []) {
    if (reservation.instanceType !== name) continue;
    const zone = context.zones.find((z) => z.zone === reservation.zone);
    if (zone === undefined) continue;
    const offered = context.offeredZones === undefined || context.offeredZones.has(zone.zone);
    offerings.push({
      zone: zone.zone,
      ...(zone.zoneId === undefined ? {} : { zoneId: zone.zoneId }),
      capacityType: "reserved",
      pricePerHour: onDemand === undefined ? 0 : onDemand / RESERVED_PRICE_DIVISOR,
      available:
        offered &&
        reservation.availableInstanceCount > 0 &&
        reservation.expiring !== true &&
        context.isUnavailable?.(zone.zone, "reserved") !== true,
      reservationCapacity: reservation.availableInstanceCount,
      reservationId: reservation.id,
      ...(reservation.reservationType === undefined ? {} : { reservationType: reservation.reservationType }),
    });
  }
  return {
    instanceType: {
      name,
      labels,
      capacity: resources.capacity,
      overhead: resources.overhead,
      allocatable: resources.allocatable,
      offerings,
      ...(isExoticInstanceType({ labels, capacity: resources.capacity, allocatable: resources.allocatable })
        ? { exotic: true }
        : {}),
    },
    spotPriceFallbackZones,
  };
}
