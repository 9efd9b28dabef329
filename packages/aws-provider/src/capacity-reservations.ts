/**
 * In-memory availability of capacity reservations (Karpenter's availabilityCache,
 * A: pkg/providers/capacityreservation/types.go): the count DescribeCapacityReservations last
 * reported, lowered by each launch this process made into the reservation and raised by each
 * termination, so the catalog stops offering capacity this process already used before EC2 reports
 * it. A reservation that failed to launch counts as empty until the next sync. Browser-safe; the
 * clock is injectable.
 */

interface Entry {
  count: number;
  /** When this process launched into the reservation (ms), for launches a sync may not reflect yet. */
  launchedAt: number[];
}

/** Available instance counts of capacity reservations, shared by the catalog and the launcher. */
export class CapacityReservationAvailability {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Takes the counts of a DescribeCapacityReservations call that started at `startedAtMillis`. EC2's
   * count replaces the tracked one, less this process's launches made after the call started (the
   * answer cannot reflect them yet).
   */
  sync(
    reservations: Iterable<{ id: string; availableInstanceCount: number }>,
    startedAtMillis: number,
  ): void {
    for (const { id, availableInstanceCount } of reservations) {
      const launchedAt = (this.entries.get(id)?.launchedAt ?? []).filter((t) => t >= startedAtMillis);
      this.entries.set(id, {
        count: Math.max(0, availableInstanceCount - launchedAt.length),
        launchedAt,
      });
    }
  }

  /** An instance launched into the reservation (a reservation never synced is not tracked, as Karpenter). */
  markLaunched(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    entry.count = Math.max(0, entry.count - 1);
    entry.launchedAt.push(this.now());
  }

  /** An instance of the reservation was terminated: its capacity is offered again. */
  markTerminated(id: string): void {
    const entry = this.entries.get(id);
    if (entry !== undefined) entry.count += 1;
  }

  /** EC2 refused to launch into the reservation: it counts as empty until the next sync. */
  markUnavailable(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) this.entries.set(id, { count: 0, launchedAt: [] });
    else entry.count = 0;
  }

  /** The tracked available count, or undefined for a reservation never synced nor marked. */
  availableCount(id: string): number | undefined {
    return this.entries.get(id)?.count;
  }
}
