import type { CapacityType, UnavailableOffering } from "@nodeplan/core";

/**
 * Offerings that recently failed to launch (Karpenter's UnavailableOfferings cache,
 * A: pkg/cache/unavailableofferings.go): an instance type in a zone with a capacity type is skipped
 * for a TTL (3 minutes for insufficient capacity). Browser-safe; the clock is injectable.
 */

/** Karpenter's TTL for an insufficient-capacity error. */
export const UNAVAILABLE_OFFERING_TTL_MILLIS = 3 * 60_000;

const key = (instanceType: string, zone: string, capacityType: string) =>
  `${instanceType}/${zone}/${capacityType}`;

/** The cache of unavailable offerings. */
export class UnavailableOfferings {
  private readonly entries = new Map<string, UnavailableOffering & { untilMillis: number }>();
  private readonly ttlMillis: number;
  private readonly now: () => number;

  constructor(options: { ttlMillis?: number; now?: () => number } = {}) {
    this.ttlMillis = options.ttlMillis ?? UNAVAILABLE_OFFERING_TTL_MILLIS;
    this.now = options.now ?? Date.now;
  }

  /** Marks an offering unavailable for the TTL (a later mark extends it). */
  markUnavailable(
    instanceType: string,
    zone: string,
    capacityType: CapacityType | string,
    reason: string,
  ): void {
    const untilMillis = this.now() + this.ttlMillis;
    this.entries.set(key(instanceType, zone, capacityType), {
      instanceType,
      zone,
      capacityType,
      reason,
      until: new Date(untilMillis).toISOString(),
      untilMillis,
    });
  }

  /** True while the offering's mark has not expired. */
  isUnavailable(instanceType: string, zone: string, capacityType: string): boolean {
    const entry = this.entries.get(key(instanceType, zone, capacityType));
    return entry !== undefined && entry.untilMillis > this.now();
  }

  /** The unexpired marks (expired ones are dropped), sorted. */
  list(): UnavailableOffering[] {
    const now = this.now();
    const out: UnavailableOffering[] = [];
    for (const [k, { untilMillis, ...entry }] of this.entries) {
      if (untilMillis <= now) this.entries.delete(k);
      else out.push(entry);
    }
    return out.sort((a, b) => {
      const ka = key(a.instanceType, a.zone, a.capacityType);
      const kb = key(b.instanceType, b.zone, b.capacityType);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  }
}
