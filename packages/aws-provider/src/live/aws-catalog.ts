import type { InstanceTypeInfo } from "@aws-sdk/client-ec2";
import type {
  CapacityType,
  CatalogSource,
  InstanceType,
  NodePool,
  UnavailableOffering,
  Warning,
} from "@nodeplan/core";
import { CapacityReservationAvailability } from "../capacity-reservations.ts";
import { spotPriceUnknownWarning } from "../catalog-file.ts";
import { type EC2NodeClass, instanceMathOptions, type OperatorSettings } from "../ec2nodeclass.ts";
import { type CapacityReservationInfo, resolveInstanceType, type ZoneInfo } from "../instance-type.ts";
import { type NodeCostOptions, withAwsNodeCosts } from "../node-costs.ts";
import { filterInstanceTypes, nodePoolRequirements } from "../nodepool-filter.ts";
import { TtlCache } from "./cache.ts";
import type { Ec2CatalogApi, PricingApi } from "./clients.ts";
import {
  describeCapacityReservations,
  describeInstanceTypes,
  describeOfferedZones,
  describeSpotPrices,
} from "./ec2-calls.ts";
import {
  fetchNodeCostPrices,
  fetchOnDemandPrices,
  type NodeCostPriceIssue,
  type NodeCostPriceList,
  type OnDemandPrices,
  type PriceListIssue,
} from "./pricing.ts";
import { type RetryOptions, runBounded } from "./retry.ts";

/**
 * The live AWS catalog: EC2 instance types, zones, spot and on-demand prices and (optionally)
 * capacity reservations, each cached with its own TTL; a refresh that fails keeps the last good
 * data. Implements core's CatalogSource per NodePool and EC2NodeClass.
 */

/** Options of `AwsCatalog`. */
export interface AwsCatalogOptions {
  region: string;
  ec2: Ec2CatalogApi;
  /** A client for the Pricing endpoint of `pricingApiRegion(region)`. */
  pricing: PricingApi;
  /** Zones to offer in (the node class's subnet zones, with IDs when known); default every zone EC2 reports. */
  zones?: readonly (string | ZoneInfo)[];
  /** Capacity types to offer; default on-demand and spot. */
  capacityTypes?: readonly CapacityType[];
  /** Read capacity reservations (all active ones, or these ids) for reserved offerings. */
  capacityReservations?: boolean | readonly string[];
  /**
   * Reservation counts kept between DescribeCapacityReservations calls; share it with the launcher
   * (`reservationAvailability`) so capacity it launched into or released counts at once. Default a new one.
   */
  reservationAvailability?: CapacityReservationAvailability;
  /** Offerings the launcher found unavailable; they are offered as unavailable. */
  unavailableOfferings?: () => readonly UnavailableOffering[];
  operator?: OperatorSettings;
  /**
   * Per-node costs folded into every offering `instanceTypes` returns (volumes, public IPv4, burstable
   * credits, fees); EBS and public IPv4 prices are read from the Price List API (`prices` is ignored).
   */
  nodeCosts?: Omit<NodeCostOptions, "prices">;
  /** TTLs in ms; defaults: instance types and zones 1 h, on-demand prices 12 h, spot prices and reservations 5 min. */
  ttlMillis?: { instanceTypes?: number; onDemandPrices?: number; spotPrices?: number; reservations?: number };
  /** At most this many AWS reads at once (default 2). */
  concurrency?: number;
  retry?: RetryOptions;
  /** Clock in ms since the epoch; default Date.now. */
  now?: () => number;
}

/** Something that went wrong in a refresh; the data it would have replaced was kept. */
export type CatalogIssue =
  | PriceListIssue
  | NodeCostPriceIssue
  | { code: "refresh_failed"; dataset: string; detail: string }
  | { code: "no_data"; dataset: string; detail: string };

const HOUR = 3_600_000;

/** The live catalog of one region. */
export class AwsCatalog implements CatalogSource<EC2NodeClass> {
  readonly region: string;
  readonly reservationAvailability: CapacityReservationAvailability;
  private readonly options: AwsCatalogOptions;
  private readonly instanceTypesCache: TtlCache<InstanceTypeInfo[]>;
  private readonly zonesCache: TtlCache<Map<string, Set<string>>>;
  private readonly onDemandCache: TtlCache<OnDemandPrices>;
  private readonly nodeCostCache: TtlCache<NodeCostPriceList>;
  private readonly spotCache: TtlCache<Map<string, Map<string, number>>>;
  private readonly reservationsCache: TtlCache<CapacityReservationInfo[]>;
  private lastWarnings: Warning[] = [];
  private lastIssues: CatalogIssue[] = [];

  constructor(options: AwsCatalogOptions) {
    this.region = options.region;
    this.options = options;
    const now = options.now ?? Date.now;
    const ttl = options.ttlMillis ?? {};
    const retry = options.retry;
    this.instanceTypesCache = new TtlCache(
      () => describeInstanceTypes(options.ec2, retry),
      ttl.instanceTypes ?? HOUR,
      now,
    );
    this.zonesCache = new TtlCache(
      () => describeOfferedZones(options.ec2, retry),
      ttl.instanceTypes ?? HOUR,
      now,
    );
    this.onDemandCache = new TtlCache(
      () => fetchOnDemandPrices(options.pricing, options.region, retry),
      ttl.onDemandPrices ?? 12 * HOUR,
      now,
    );
    this.nodeCostCache = new TtlCache(
      () => fetchNodeCostPrices(options.pricing, options.region, retry),
      ttl.onDemandPrices ?? 12 * HOUR,
      now,
    );
    this.spotCache = new TtlCache(
      () => describeSpotPrices(options.ec2, new Date(now()), retry),
      ttl.spotPrices ?? 5 * 60_000,
      now,
    );
    const ids = Array.isArray(options.capacityReservations)
      ? (options.capacityReservations as readonly string[])
      : undefined;
    this.reservationAvailability =
      options.reservationAvailability ?? new CapacityReservationAvailability({ now });
    this.reservationsCache = new TtlCache(
      async () => {
        const startedAt = now();
        const reservations = await describeCapacityReservations(options.ec2, ids, retry);
        this.reservationAvailability.sync(reservations, startedAt);
        return reservations;
      },
      ttl.reservations ?? 5 * 60_000,
      now,
    );
  }

  /** Per-node costs were asked for (options) or used (`instanceTypes`): their prices are kept fresh. */
  private nodeCostsWanted = false;

  private wantsNodeCosts(): boolean {
    return this.nodeCostsWanted || this.options.nodeCosts !== undefined;
  }

  private wantsReservations(): boolean {
    const r = this.options.capacityReservations;
    return r === true || Array.isArray(r);
  }

  private caches(): [string, TtlCache<unknown>][] {
    const list: [string, TtlCache<unknown>][] = [
      ["instance types", this.instanceTypesCache],
      ["instance type zones", this.zonesCache],
      ["on-demand prices", this.onDemandCache],
      ["spot prices", this.spotCache],
    ];
    // Catalog files (`allInstanceTypes`) carry instance prices only: EBS and IPv4 prices are read once
    // a NodePool's catalog is asked for.
    if (this.wantsNodeCosts()) list.push(["EBS and public IPv4 prices", this.nodeCostCache]);
    if (this.wantsReservations()) list.push(["capacity reservations", this.reservationsCache]);
    return list;
  }

  /**
   * Brings stale datasets up to date (all of them when `force`), at most `concurrency` AWS reads at
   * once. Never throws: failures are reported by `issues()` and the last good data stays.
   */
  async refresh(force = false): Promise<CatalogIssue[]> {
    const caches = this.caches();
    const results = await runBounded(
      caches.map(
        ([, cache]) =>
          () =>
            force || cache.isStale() ? cache.refresh() : cache.get(),
      ),
      this.options.concurrency ?? 2,
    );
    const issues: CatalogIssue[] = [];
    caches.forEach(([dataset, cache], i) => {
      const result = results[i];
      const error = result?.status === "rejected" ? result.reason : cache.lastError;
      if (error === undefined) return;
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      issues.push({ code: cache.peek() === undefined ? "no_data" : "refresh_failed", dataset, detail });
    });
    issues.push(...(this.onDemandCache.peek()?.value.issues ?? []));
    if (this.wantsNodeCosts()) issues.push(...(this.nodeCostCache.peek()?.value.issues ?? []));
    this.lastIssues = issues;
    return issues;
  }

  /** What went wrong in the last refresh. */
  issues(): CatalogIssue[] {
    return this.lastIssues;
  }

  /** Warnings of the last `allInstanceTypes` / `instanceTypes` call (spot_price_unknown). */
  warnings(): Warning[] {
    return this.lastWarnings;
  }

  /**
   * Every instance type with offerings under `nodeClass` (refreshing stale data first). Throws only
   * when instance types were never loaded.
   */
  async allInstanceTypes(nodeClass?: EC2NodeClass): Promise<InstanceType[]> {
    await this.refresh();
    const infos = this.instanceTypesCache.peek()?.value;
    if (infos === undefined)
      throw new Error(
        `no EC2 instance types for ${this.region}: ${String(this.instanceTypesCache.lastError)}`,
      );
    const offered = this.zonesCache.peek()?.value ?? new Map<string, Set<string>>();
    const onDemand = this.onDemandCache.peek()?.value.prices ?? new Map<string, number>();
    const spot = this.spotCache.peek()?.value;
    // The tracked count: EC2's last answer less this process's launches it may not reflect yet.
    const reservations = this.wantsReservations()
      ? (this.reservationsCache.peek()?.value ?? []).map((r) => ({
          ...r,
          availableInstanceCount:
            this.reservationAvailability.availableCount(r.id) ?? r.availableInstanceCount,
        }))
      : [];
    const zones = this.zoneList(offered);
    const unavailable = new Set(
      (this.options.unavailableOfferings?.() ?? []).map(
        (u) => `${u.instanceType}/${u.zone}/${u.capacityType}`,
      ),
    );
    const math = instanceMathOptions(nodeClass, this.options.operator);
    const capacityTypes = this.options.capacityTypes ?? ["on-demand", "spot"];
    const out: InstanceType[] = [];
    const spotUnknown: string[] = [];
    for (const info of infos) {
      const name = info.InstanceType ?? "";
      const onDemandPrice = onDemand.get(name);
      const spotPrices = spot?.get(name);
      const resolved = resolveInstanceType(info, math, {
        region: this.region,
        zones,
        offeredZones: offered.get(name) ?? new Set(),
        capacityTypes: this.wantsReservations() ? [...capacityTypes, "reserved"] : capacityTypes,
        ...(onDemandPrice === undefined ? {} : { onDemandPricePerHour: onDemandPrice }),
        ...(spotPrices === undefined ? {} : { spotPricePerHour: spotPrices }),
        reservations,
        isUnavailable: (zone, capacityType) => unavailable.has(`${name}/${zone}/${capacityType}`),
      });
      if (resolved === undefined) continue;
      out.push(resolved.instanceType);
      if (resolved.spotPriceFallbackZones.length > 0) spotUnknown.push(name);
    }
    this.lastWarnings = spotUnknown.length > 0 ? [spotPriceUnknownWarning(spotUnknown)] : [];
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * The instance types a NodePool can launch with its EC2NodeClass (core's CatalogSource), each
   * offering priced with its per-node costs (`withAwsNodeCosts`) at the region's EBS and IPv4 prices
   * (us-east-1's until the Price List has answered).
   */
  async instanceTypes(nodePool: NodePool, nodeClass: EC2NodeClass | undefined): Promise<InstanceType[]> {
    this.nodeCostsWanted = true;
    const all = await this.allInstanceTypes(nodeClass);
    const prices = this.nodeCostCache.peek()?.value.prices;
    return withAwsNodeCosts(filterInstanceTypes(all, nodePoolRequirements(nodePool)), nodePool, nodeClass, {
      ...this.options.nodeCosts,
      ...(prices === undefined ? {} : { prices }),
    });
  }

  private zoneList(offered: Map<string, Set<string>>): ZoneInfo[] {
    if (this.options.zones !== undefined)
      return this.options.zones.map((z) => (typeof z === "string" ? { zone: z } : z));
    const all = new Set<string>();
    for (const zones of offered.values()) for (const zone of zones) all.add(zone);
    return [...all].sort().map((zone) => ({ zone }));
  }
}
