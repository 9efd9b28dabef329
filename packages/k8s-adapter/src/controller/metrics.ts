import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CheckGauge } from "./checks.ts";

type Labels = Readonly<Record<string, string>>;

const labelText = (labels: Labels) => {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return `{${keys.map((k) => `${k}="${esc(labels[k] as string)}"`).join(",")}}`;
};
const num = (v: number) =>
  Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v);

interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter" | "histogram";
  render(): string[];
}

/** A gauge or counter family: one value per label set. */
export class Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  readonly family: { name: string; help: string; type: "gauge" | "counter" };
  constructor(family: { name: string; help: string; type: "gauge" | "counter" }) {
    this.family = family;
  }
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelText(labels), { labels, value });
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, { labels, value: (this.values.get(key)?.value ?? 0) + by });
  }
  /** Drops every label set (a gauge vector rebuilt from scratch on each solve). */
  reset(): void {
    this.values.clear();
  }
  get(labels: Labels = {}): number | undefined {
    return this.values.get(labelText(labels))?.value;
  }
  render(): string[] {
    return [...this.values.keys()]
      .sort()
      .map((k) => `${this.family.name}${k} ${num(this.values.get(k)?.value ?? 0)}`);
  }
}

/** A Prometheus histogram with fixed buckets (upper bounds, seconds). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  readonly family: { name: string; help: string };
  private readonly buckets: readonly number[];
  constructor(family: { name: string; help: string }, buckets: readonly number[]) {
    this.family = family;
    this.buckets = buckets;
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.buckets.forEach((b, i) => {
      if (value <= b) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
    this.sum += value;
    this.count += 1;
  }
  render(): string[] {
    const n = this.family.name;
    return [
      ...this.buckets.map((b, i) => `${n}_bucket{le="${num(b)}"} ${this.counts[i]}`),
      `${n}_bucket{le="+Inf"} ${this.count}`,
      `${n}_sum ${num(this.sum)}`,
      `${n}_count ${this.count}`,
    ];
  }
}

/** The controller's metrics, rendered in the Prometheus text exposition format (0.0.4). */
export class ControllerMetrics {
  readonly pendingPods = gauge("nodeplan_pending_pods", "Pods waiting for capacity (provisionable).");
  readonly plannedClaims = gauge("nodeplan_planned_nodeclaims", "NodeClaims the current plan launches.");
  readonly unschedulablePods = gauge(
    "nodeplan_unschedulable_pods",
    "Pending pods the current plan cannot place, by reason code.",
  );
  readonly costPerHour = gauge(
    "nodeplan_cost_per_hour_dollars",
    "Cost per hour in US dollars: now (existing and in-flight nodes), planned (now + new claims), lower_bound (proven lower bound on the new capacity), after_disruption.",
  );
  readonly disruptionCandidates = gauge(
    "nodeplan_disruption_candidates",
    "Nodes by disruption outcome: the blocker reason code of nodes kept, or the method of nodes a command disrupts.",
  );
  readonly disruptionSavings = gauge(
    "nodeplan_disruption_savings_per_hour_dollars",
    "Savings per hour of the current disruption plan's commands.",
  );
  readonly solveDuration = new Histogram(
    {
      name: "nodeplan_solve_duration_seconds",
      help: "Duration of a solve (provisioning and disruption planning).",
    },
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly reconciles = counter("nodeplan_reconciles_total", "Reconcile passes, by result.");
  readonly claimsCreated = counter("nodeplan_nodeclaims_created_total", "NodeClaims created (acting mode).");
  readonly evictions = counter(
    "nodeplan_evictions_total",
    "Eviction API calls, by result (evicted, blocked, error).",
  );
  readonly leader = gauge("nodeplan_leader", "1 while this replica holds the Lease.");
  readonly objectErrors = counter(
    "nodeplan_object_errors_total",
    "Objects skipped because they could not be read or planned, by kind and error code (each object version counted once).",
  );
  readonly publishErrors = counter(
    "nodeplan_publish_errors_total",
    "Events and status writes that failed (publishing is best effort), by kind.",
  );
  readonly apiRetries = counter(
    "nodeplan_api_retries_total",
    "API requests retried after a 429, a 5xx or a network error, by what was written.",
  );
  readonly actionErrors = counter(
    "nodeplan_action_errors_total",
    "Acting steps that failed after their retries (the next pass tries again), by action.",
  );
  readonly launches = counter(
    "nodeplan_launches_total",
    "Launch calls, by result: launched, failed (no instance), unknown (response lost: retried with the same client token).",
  );
  readonly terminations = counter(
    "nodeplan_nodeclaims_terminated_total",
    "NodeClaims whose instance was terminated and finalizer removed, by NodePool.",
  );
  readonly podDeletions = counter(
    "nodeplan_pods_deleted_total",
    "Pods deleted because their node's terminationGracePeriod ran out (do-not-disrupt, blocked by a PDB).",
  );
  readonly registrationTimeouts = counter(
    "nodeplan_registration_timeouts_total",
    "NodeClaims deleted because their node did not register (or launch) in time, by NodePool.",
  );
  readonly orphanedInstances = gauge(
    "nodeplan_orphaned_instances",
    "Instances of this cluster's NodePools that no NodeClaim names (past the grace period), at the last garbage collection.",
  );
  readonly garbageCollected = counter(
    "nodeplan_instances_garbage_collected_total",
    "Orphaned instances terminated by garbage collection (acting mode).",
  );
  readonly lastSuccess = gauge(
    "nodeplan_last_successful_pass_timestamp_seconds",
    "When the last pass that planned (and, in acting mode, acted) without error finished (Unix seconds).",
  );
  readonly statusBytes = gauge(
    "nodeplan_status_bytes",
    "Size of the status ConfigMap's data; entries past the top N are counted here and in metrics, not listed.",
  );
  readonly phaseSeconds = gauge(
    "nodeplan_pass_phase_seconds",
    "Duration of each phase of the last pass (read, catalog, provision, disruption, act), in seconds.",
  );
  readonly eventLoopDelayMax = gauge(
    "nodeplan_event_loop_delay_max_seconds",
    "Longest event-loop stall since the previous scrape (a stall delays Lease renewals).",
  );

  /** Gauges a configuration check published (`ClusterChecks`), replaced as a whole on each check. */
  private checks: readonly CheckGauge[] = [];

  /** Replaces the configuration checks' gauges. */
  setChecks(gauges: readonly CheckGauge[]): void {
    this.checks = gauges;
  }

  private families(): Family[] {
    const g = (m: Metric): Family => ({ ...m.family, render: () => m.render() });
    const checks = this.checks.map(
      (c): Family => ({
        name: c.name,
        help: c.help,
        type: "gauge",
        render: () => c.samples.map((s) => `${c.name}${labelText(s.labels)} ${num(s.value)}`),
      }),
    );
    return [
      g(this.pendingPods),
      g(this.plannedClaims),
      g(this.unschedulablePods),
      g(this.costPerHour),
      g(this.disruptionCandidates),
      g(this.disruptionSavings),
      { ...this.solveDuration.family, type: "histogram", render: () => this.solveDuration.render() },
      g(this.reconciles),
      g(this.claimsCreated),
      g(this.evictions),
      g(this.leader),
      g(this.objectErrors),
      g(this.publishErrors),
      g(this.apiRetries),
      g(this.actionErrors),
      g(this.launches),
      g(this.terminations),
      g(this.podDeletions),
      g(this.registrationTimeouts),
      g(this.orphanedInstances),
      g(this.garbageCollected),
      g(this.lastSuccess),
      g(this.statusBytes),
      g(this.phaseSeconds),
      g(this.eventLoopDelayMax),
      ...checks,
    ];
  }

  /** Called before each render (gauges read at scrape time). */
  beforeRender: (() => void) | undefined;

  render(): string {
    this.beforeRender?.();
    const lines: string[] = [];
    for (const f of this.families()) {
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
    }
    return `${lines.join("\n")}\n`;
  }
}

const gauge = (name: string, help: string) => new Metric({ name, help, type: "gauge" });
const counter = (name: string, help: string) => new Metric({ name, help, type: "counter" });

/** A probe's answer: undefined when fine, else why not (the response body). */
export type ProbeResult = string | undefined;

/** What the HTTP endpoints report. */
export interface ProbeSource {
  metrics: ControllerMetrics;
  /** Alive: undefined, or why the loop is wedged (liveness fails, the pod restarts). */
  healthy(): ProbeResult | boolean;
  /** Ready: undefined, or why this replica cannot act (caches not synced, passes failing). */
  ready(): ProbeResult | boolean;
}

const problem = (r: ProbeResult | boolean, otherwise: string): string | undefined =>
  r === true || r === undefined ? undefined : r === false ? otherwise : r;

/**
 * Serves /metrics, /healthz and /readyz on node:http. Port 0 picks a free port. The default host is
 * 0.0.0.0 (Prometheus scrapes the pod IP; deploy/ limits who may connect with a NetworkPolicy);
 * pass 127.0.0.1 to serve this host only.
 */
export async function serveProbes(source: ProbeSource, port: number, host = "0.0.0.0"): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const text = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (path === "/metrics")
      return text(200, source.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
    if (path === "/healthz") {
      const why = problem(source.healthy(), "unhealthy");
      return why === undefined ? text(200, "ok\n") : text(500, `${why}\n`);
    }
    if (path === "/readyz") {
      const why = problem(source.ready(), "not ready");
      return why === undefined ? text(200, "ok\n") : text(503, `${why}\n`);
    }
    return text(404, "not found\n");
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

/** The port a server listens on. */
export const portOf = (server: Server): number => (server.address() as AddressInfo).port;
