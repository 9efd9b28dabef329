/**
 * One cached dataset with a time to live. A refresh that fails keeps the last good value (and
 * reports the failure), as Karpenter keeps its last prices and instance types.
 */

/** The state of a cached dataset. */
export interface CachedValue<T> {
  value: T;
  /** When the value was fetched (ms since the epoch, from the injected clock). */
  fetchedAtMillis: number;
}

/** A dataset loaded by `load`, fresh for `ttlMillis`. */
export class TtlCache<T> {
  private current: CachedValue<T> | undefined;
  private inFlight: Promise<T> | undefined;
  private readonly load: () => Promise<T>;
  private readonly ttlMillis: number;
  private readonly now: () => number;
  /** The error of the last failed refresh, cleared by a successful one. */
  lastError: unknown;

  constructor(load: () => Promise<T>, ttlMillis: number, now: () => number = Date.now) {
    this.load = load;
    this.ttlMillis = ttlMillis;
    this.now = now;
  }

  /** The cached value, if any, fresh or not. */
  peek(): CachedValue<T> | undefined {
    return this.current;
  }

  /** True when there is no value or it is older than the TTL. */
  isStale(): boolean {
    return this.current === undefined || this.now() - this.current.fetchedAtMillis >= this.ttlMillis;
  }

  /**
   * The value, refreshed first when stale. A failed refresh with a previous value returns that
   * value (and sets `lastError`); without one it throws.
   */
  async get(): Promise<T> {
    if (!this.isStale() && this.current !== undefined) return this.current.value;
    return this.refresh();
  }

  /** Loads now (sharing a load already in flight); on failure keeps the last good value. */
  async refresh(): Promise<T> {
    this.inFlight ??= (async () => {
      try {
        const value = await this.load();
        this.current = { value, fetchedAtMillis: this.now() };
        this.lastError = undefined;
        return value;
      } catch (error) {
        this.lastError = error;
        if (this.current !== undefined) return this.current.value;
        throw error;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }
}
