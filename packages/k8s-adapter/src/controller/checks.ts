import type { ClusterState, InstanceType } from "@nodeplan/core";
import type { KubeObject } from "./informers.ts";
import type { ControllerMetrics } from "./metrics.ts";

/**
 * Configuration checks the controller runs over the cluster it watches (the CLI plugs in `nodeplan
 * doctor`'s rules). The adapter defines only this hook, so it does not depend on the rules: a host
 * passes a function, and the controller runs it on a timer, off the pass that plans, publishing what
 * it returns in the status ConfigMap and on /metrics.
 */

/** What a check reads: the objects as the informers hold them, and the cluster as the last pass read it. */
export interface ClusterCheckInput {
  objects: readonly KubeObject[];
  cluster: ClusterState;
  /** Instance types per NodePool name, as the pass planned with. */
  instanceTypes: Readonly<Record<string, readonly InstanceType[]>>;
  /** RFC 3339. */
  now: string;
}

/** A gauge family a check publishes (the Prometheus text format's name, help and samples). */
export interface CheckGauge {
  name: string;
  help: string;
  samples: readonly { labels: Readonly<Record<string, string>>; value: number }[];
}

/** What a check publishes: status ConfigMap keys (bounded by the check) and gauges. */
export interface ClusterCheckResult {
  statusData: Readonly<Record<string, string>>;
  gauges: readonly CheckGauge[];
}

/** The hook: `check` may be slow (it may plan); it runs at most every `intervalMs` (default 10 min). */
export interface ClusterCheckOptions {
  check: (input: ClusterCheckInput) => ClusterCheckResult;
  intervalMs?: number;
}

/** Default interval between two checks. */
export const CHECK_INTERVAL_MS = 600_000;

/**
 * Runs a check at most every interval, after the pass it reads (never inside it), and keeps the last
 * result. A check that throws is logged and counted; the last good result stays published.
 */
export class ClusterChecks {
  last: ClusterCheckResult | undefined;
  private lastRunAt: number | undefined;
  private readonly o: ClusterCheckOptions & {
    metrics: ControllerMetrics;
    now: () => number;
    log: (message: string) => void;
  };

  constructor(options: ClusterChecks["o"]) {
    this.o = options;
  }

  /** Is a check due at `nowMillis`? */
  due(nowMillis: number): boolean {
    return (
      this.lastRunAt === undefined || nowMillis - this.lastRunAt >= (this.o.intervalMs ?? CHECK_INTERVAL_MS)
    );
  }

  /** Runs the check if it is due; returns whether the published result changed. */
  run(input: ClusterCheckInput): boolean {
    const { o } = this;
    const at = o.now();
    if (!this.due(at)) return false;
    this.lastRunAt = at;
    const started = performance.now();
    try {
      this.last = o.check(input);
      o.metrics.setChecks(this.last.gauges);
      return true;
    } catch (err) {
      o.metrics.actionErrors.inc({ action: "check" });
      o.log(`configuration check failed: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    } finally {
      o.metrics.phaseSeconds.set((performance.now() - started) / 1000, { phase: "check" });
    }
  }
}
