/**
 * @nodeplan/k8s-adapter/controller: the in-cluster controller runtime (Node-only). Informers feed
 * the adapter's converters, a Karpenter-style batcher triggers solves, and the result is published
 * (advisory, the default) or carried out through core's Launcher (acting), under a Lease.
 */
import { hostname } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { KubeConfig } from "@kubernetes/client-node";
import {
  type CatalogSource,
  type CloudInstance,
  type CommandInProgress,
  createSolver,
  type DecideOptions,
  type DriftDetector,
  type InterruptionEvent,
  type Launcher,
  type NodeClassObject,
  type Solver,
  type Strategy,
} from "@nodeplan/core";
import { Batcher } from "./batcher.ts";
import { type ClusterCheckOptions, ClusterChecks } from "./checks.ts";
import { withPooledConnections } from "./connections.ts";
import { GarbageCollector } from "./garbage-collector.ts";
import { describe, type Informers, startInformers } from "./informers.ts";
import { type LeaderElector, startLeaderElection } from "./leader.ts";
import { GC_GRACE_MS, GC_INTERVAL_MS, LAUNCH_TIMEOUT_MS, REGISTRATION_TIMEOUT_MS } from "./lifecycle.ts";
import { ControllerMetrics, portOf, serveProbes } from "./metrics.ts";
import { Publisher } from "./publisher.ts";
import { OWNER_LABEL, Reconciler, type Solved } from "./reconciler.ts";
import type { RetryPolicy } from "./retry.ts";
import { Terminator } from "./terminator.ts";
import { ClusterWriter } from "./writer.ts";

export { Batcher, type BatchWindow } from "./batcher.ts";
export {
  CHECK_INTERVAL_MS,
  type CheckGauge,
  type ClusterCheckInput,
  type ClusterCheckOptions,
  type ClusterCheckResult,
} from "./checks.ts";
export { type InformerOptions, type Informers, type KubeObject, startInformers } from "./informers.ts";
export { type LeaderElectionOptions, type LeaderElector, startLeaderElection } from "./leader.ts";
export {
  drainStep,
  findOrphans,
  livenessTimeout,
  TERMINATION_TIMESTAMP_ANNOTATION,
  terminationTime,
} from "./lifecycle.ts";
export { ControllerMetrics, serveProbes } from "./metrics.ts";
export {
  DISRUPTED_TAINT,
  MANAGED_BY_LABEL,
  nominatedNodes,
  OWNER_LABEL,
  PLANNED_CLAIM_ANNOTATION,
  type Solved,
} from "./reconciler.ts";
export { type RetryPolicy, withRetry } from "./retry.ts";
export { STATUS_MAX_BYTES, statusData } from "./status.ts";
export { ClusterWriter, NotLeaderError, TERMINATION_FINALIZER } from "./writer.ts";

/** Options of `runController` (what `nodeplan controller` flags map to). */
export interface ControllerOptions {
  /** `advisory` (default): publish Events, the status ConfigMap and metrics only. `acting`: launch and disrupt. */
  mode?: "advisory" | "acting";
  /** Instance types and prices per NodePool. */
  catalog: CatalogSource;
  /** Required in acting mode: creates and deletes the instances behind NodeClaims. */
  launcher?: Launcher;
  /** Default: in-cluster config, else $KUBECONFIG / ~/.kube/config (`KubeConfig.loadFromDefault`). */
  kubeConfig?: KubeConfig;
  /** Namespace of the status ConfigMap and the Lease (default $POD_NAMESPACE, else `nodeplan-system`). */
  namespace?: string;
  /** Default `nodeplan-status`. */
  statusConfigMap?: string;
  /** This replica's name in the Lease and on Events (default $POD_NAME, else the host name). */
  identity?: string;
  /** Owner label value on created NodeClaims (default `nodeplan`). */
  owner?: string;
  /** Batch window: idle 1 s, max 10 s (Karpenter's defaults). */
  batchIdleMs?: number;
  batchMaxMs?: number;
  /** Solve again this often without a change (disruption depends on time; default 60 s; 0 = never). */
  resyncMs?: number;
  /** Lease-based leader election (default enabled, Lease `nodeplan-controller`, 15 s / 10 s / 2 s). */
  leaderElection?: {
    enabled?: boolean;
    leaseName?: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** Port of /metrics, /healthz, /readyz (default 8080; 0 = any free port; null = no server). */
  metricsPort?: number | null;
  metricsHost?: string;
  /** Plan disruption (default true). */
  disruption?: boolean;
  /** Acting mode's decision strategy (core's `nodeplanStrategy`, default, or `karpenterStrategy`). */
  strategy?: Strategy;
  /**
   * Options of acting mode's decision step (core's `decide`): batch window, the 15 s validation of a
   * consolidation, disruption polling, timeouts. Defaults are Karpenter's.
   */
  decide?: DecideOptions;
  /** The provider's drift detector (AWS: node class hash, AMI, subnets, security groups). */
  drift?: DriftDetector;
  /** The provider's node class for a loaded one (AWS: `ec2NodeClassOf`); default: as loaded. */
  nodeClass?: (loaded: NodeClassObject) => unknown;
  /** Interruption events received so far (AWS: the SQS queue), read on every pass. */
  interruptions?: () => readonly InterruptionEvent[];
  /** Informer retry after a failed list or watch: first delay (default 1 s), doubling up to 30 s. */
  watchBackoffMs?: number;
  /** Eviction retry after a 429: first delay (default 1 s), doubling up to 30 s. */
  evictionBackoffMs?: number;
  /** API writes that fail with 429, a 5xx or a network error: backoff with jitter (200 ms doubling to 10 s, 6 tries). */
  writeRetry?: RetryPolicy;
  /** Relaunch of a claim whose launch outcome was unknown (default 1 s doubling to 1 min). */
  launchRetry?: RetryPolicy;
  /** How often the termination loop (finalizers, drains, liveness) runs (default 1 s). */
  terminationIntervalMs?: number;
  /** A claim of ours whose node has not registered this long after launch is deleted (default 15 min). */
  registrationTimeoutMs?: number;
  /** ... or that has not launched this long after creation (default 5 min). */
  launchTimeoutMs?: number;
  /**
   * Instances of this cluster's NodePools that no NodeClaim names: listed every `intervalMs` (default
   * 2 min) through `instances` (default: the launcher's `instances()`), terminated in acting mode
   * once older than `graceMs` (default 30 s), only reported in advisory mode. `enabled: false` turns
   * it off.
   */
  garbageCollection?: {
    enabled?: boolean;
    intervalMs?: number;
    graceMs?: number;
    instances?: () => Promise<CloudInstance[]>;
  };
  /** /readyz fails once this many passes in a row failed (default 3). */
  readiness?: { maxFailedPasses?: number };
  /** /healthz fails while a pass has been running longer than this (default 10 min, at least 5 resyncs). */
  liveness?: { maxPassMs?: number };
  /** Events written per pass at most (default 500). */
  maxEventsPerPass?: number;
  /** Entries listed per list in the status ConfigMap (default 200, fewer when it would not fit in 900 KiB). */
  statusTopN?: number;
  /**
   * Configuration checks over the watched cluster (`nodeplan controller` plugs in `nodeplan doctor`),
   * run after a pass at most every `intervalMs` (default 10 min); their keys join the status
   * ConfigMap and their gauges /metrics.
   */
  checks?: ClusterCheckOptions;
  solver?: Solver;
  now?: () => number;
  log?: (message: string) => void;
}

/** A running controller. */
export interface ControllerHandle {
  /** Port of the probe/metrics server, when one runs. */
  metricsPort: number | undefined;
  metrics: ControllerMetrics;
  isLeader(): boolean;
  /** True once every informer has listed. */
  ready(): boolean;
  /** The last solve (undefined before the first). */
  lastSolve(): Solved | undefined;
  /**
   * Disruption commands the decision step is carrying out (acting mode): validating, launching their
   * replacements, or draining.
   */
  commandsInProgress(): readonly CommandInProgress[];
  /** Solves now, skipping the batch window; resolves when done. */
  reconcileNow(): Promise<void>;
  /** Runs a round of the termination loop now and resolves when it is done. */
  drains(): Promise<void>;
  /** Resolves when the background publication (status, Events) is done. */
  published(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the controller until `stop()`. Every write (Kubernetes and cloud) is made only while this
 * replica holds the Lease; a standby keeps its caches warm and publishes nothing.
 */
export async function runController(options: ControllerOptions): Promise<ControllerHandle> {
  const mode = options.mode ?? "advisory";
  if (mode === "acting" && options.launcher === undefined) throw new Error("acting mode needs a launcher");
  const kc = withPooledConnections(options.kubeConfig ?? defaultKubeConfig());
  const env = globalThis.process?.env ?? {};
  const namespace = options.namespace ?? env.POD_NAMESPACE ?? "nodeplan-system";
  const identity = options.identity ?? env.POD_NAME ?? hostname();
  const now = options.now ?? Date.now;
  const log = options.log ?? ((m: string) => console.error(`nodeplan controller: ${m}`));
  const metrics = new ControllerMetrics();
  const solver = options.solver ?? (await createSolver());

  const election = options.leaderElection ?? {};
  let elector: LeaderElector | undefined;
  const isLeader = () => (election.enabled === false ? true : (elector?.isLeader() ?? false));
  const writer = new ClusterWriter(kc, {
    canWrite: isLeader,
    component: "nodeplan",
    instance: identity,
    now,
    ...(options.writeRetry === undefined ? {} : { retry: options.writeRetry }),
    onRetry: (what) => metrics.apiRetries.inc({ what }),
  });
  const owner = options.owner ?? "nodeplan";

  let informers: Informers | undefined;
  let batcher: Batcher | undefined;
  const list = (kind: string) => informers?.list(kind) ?? [];
  const retrigger = () => batcher?.trigger();
  const publisher = new Publisher({
    mode,
    namespace,
    statusConfigMap: options.statusConfigMap ?? "nodeplan-status",
    writer,
    metrics,
    log,
    ...(options.maxEventsPerPass === undefined ? {} : { maxEventsPerPass: options.maxEventsPerPass }),
    ...(options.statusTopN === undefined ? {} : { statusTopN: options.statusTopN }),
  });

  const gcOptions = options.garbageCollection ?? {};
  const launcherInstances = options.launcher?.instances?.bind(options.launcher);
  const instances = gcOptions.instances ?? launcherInstances;
  const collector =
    gcOptions.enabled === false || instances === undefined
      ? undefined
      : new GarbageCollector({
          instances,
          launcher: mode === "acting" ? options.launcher : undefined,
          writer,
          metrics,
          list,
          now,
          log,
          graceMs: gcOptions.graceMs ?? GC_GRACE_MS,
        });

  const reconciler = new Reconciler({
    mode,
    owner,
    catalog: options.catalog,
    launcher: options.launcher,
    solver,
    writer,
    metrics,
    publisher,
    now,
    log,
    retrigger,
    ...(options.launchRetry === undefined ? {} : { launchRetry: options.launchRetry }),
    disruption: options.disruption ?? true,
    drift: options.drift,
    nodeClass: options.nodeClass,
    interruptions: options.interruptions,
    orphanedInstances: () => collector?.last ?? [],
    ...(options.strategy === undefined ? {} : { strategy: options.strategy }),
    decide: {
      // One liveness deadline: the termination loop's.
      registrationTimeoutSeconds: (options.registrationTimeoutMs ?? REGISTRATION_TIMEOUT_MS) / 1000,
      ...options.decide,
    },
  });
  const terminator =
    mode === "acting" && options.launcher !== undefined
      ? new Terminator({
          writer,
          launcher: options.launcher,
          metrics,
          owner,
          ownerLabel: OWNER_LABEL,
          now,
          log,
          list,
          podsOn: (node) => informers?.podsOn(node) ?? [],
          isLaunching: (name) => reconciler.isLaunching(name),
          retrigger,
          ...(options.evictionBackoffMs === undefined
            ? {}
            : { evictionBackoffMs: options.evictionBackoffMs }),
          registrationTimeoutMs: options.registrationTimeoutMs ?? REGISTRATION_TIMEOUT_MS,
          launchTimeoutMs: options.launchTimeoutMs ?? LAUNCH_TIMEOUT_MS,
        })
      : undefined;

  // The loop's health: a pass running too long (wedged) fails /healthz; passes failing in a row
  // (the controller cannot act) fail /readyz.
  const resyncMs = options.resyncMs ?? 60_000;
  const maxPassMs = options.liveness?.maxPassMs ?? Math.max(600_000, 5 * resyncMs);
  const maxFailedPasses = options.readiness?.maxFailedPasses ?? 3;
  let passStartedAt: number | undefined;
  let failedInARow = 0;
  let lastError = "";

  const checks =
    options.checks === undefined ? undefined : new ClusterChecks({ ...options.checks, metrics, now, log });
  const run = async () => {
    if (informers === undefined || !informers.synced() || !isLeader()) return;
    passStartedAt = now();
    try {
      const objects = informers.snapshot();
      const pass = await reconciler.reconcile(objects);
      const solved = pass.solved;
      if (checks !== undefined && solved !== undefined && checks.due(now())) {
        // After the pass has acted: a check may plan, and must not delay what the pass does.
        await new Promise((resolve) => setImmediate(resolve));
        const { cluster, instanceTypes, at } = solved;
        if (checks.run({ objects, cluster, instanceTypes, now: at }) && checks.last !== undefined)
          publisher.setExtraStatus(checks.last.statusData);
      }
      if (pass.result === "ok") failedInARow = 0;
      else if (pass.result === "error") {
        failedInARow += 1;
        lastError = pass.error === undefined ? "an acting step failed" : describe(pass.error);
        // Not at the next resync only: a failed pass is tried again with backoff.
        setTimeout(retrigger, Math.min(30_000, 1000 * 2 ** Math.min(failedInARow - 1, 5)));
      }
    } catch (err) {
      failedInARow += 1;
      lastError = describe(err);
      metrics.reconciles.inc({ result: "error" });
      log(`reconcile failed: ${lastError}`);
    } finally {
      passStartedAt = undefined;
    }
  };
  batcher = new Batcher(
    { idleMs: options.batchIdleMs ?? 1000, maxMs: options.batchMaxMs ?? 10_000 },
    run,
    now,
  );

  if (election.enabled !== false) {
    elector = startLeaderElection(
      kc,
      {
        namespace,
        leaseName: election.leaseName ?? "nodeplan-controller",
        identity,
        ...(election.leaseDurationMs === undefined ? {} : { leaseDurationMs: election.leaseDurationMs }),
        ...(election.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: election.renewDeadlineMs }),
        ...(election.retryPeriodMs === undefined ? {} : { retryPeriodMs: election.retryPeriodMs }),
      },
      {
        log,
        now,
        onStart: () => {
          metrics.leader.set(1);
          batcher?.trigger();
        },
        onStop: () => metrics.leader.set(0),
      },
    );
  } else metrics.leader.set(1);

  informers = await startInformers(kc, {
    onChange: () => batcher?.trigger(),
    ...(options.watchBackoffMs === undefined ? {} : { backoffMs: options.watchBackoffMs }),
    log,
  });
  batcher.trigger();
  const timers: ReturnType<typeof setInterval>[] = [];
  if (resyncMs > 0) timers.push(setInterval(() => batcher?.trigger(), resyncMs));
  const whenLeading = (task: () => Promise<void>) => () => {
    if (informers?.synced() === true && isLeader()) void task();
  };
  if (terminator !== undefined)
    timers.push(
      setInterval(
        whenLeading(() => terminator.trigger()),
        options.terminationIntervalMs ?? 1000,
      ),
    );
  let collecting: Promise<void> | undefined;
  if (collector !== undefined)
    timers.push(
      setInterval(
        whenLeading(async () => {
          if (collecting !== undefined) return;
          collecting = collector
            .collect()
            .catch((err: unknown) => log(`garbage collection: ${describe(err)}`))
            .finally(() => {
              collecting = undefined;
            });
          await collecting;
        }),
        gcOptions.intervalMs ?? GC_INTERVAL_MS,
      ),
    );

  // Event-loop stalls (a long solve) delay Lease renewals: the longest since the last scrape.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  metrics.beforeRender = () => {
    metrics.eventLoopDelayMax.set(loopDelay.max / 1e9);
    loopDelay.reset();
  };

  const healthy = () => {
    const started = passStartedAt;
    if (started !== undefined && now() - started > maxPassMs)
      return `a pass has been running for ${Math.round((now() - started) / 1000)} s (limit ${Math.round(maxPassMs / 1000)} s)`;
    return undefined;
  };
  const ready = () => {
    if (informers?.synced() !== true) return "caches not synced";
    if (isLeader() && failedInARow >= maxFailedPasses)
      return `the last ${failedInARow} passes failed; last error: ${lastError}`;
    return undefined;
  };
  const port = options.metricsPort === undefined ? 8080 : options.metricsPort;
  const server =
    port === null ? undefined : await serveProbes({ metrics, healthy, ready }, port, options.metricsHost);

  return {
    metricsPort: server === undefined ? undefined : portOf(server),
    metrics,
    isLeader,
    ready: () => informers?.synced() === true,
    lastSolve: () => reconciler.last,
    commandsInProgress: () => reconciler.commandsInProgress(),
    reconcileNow: () => batcher?.flush() ?? Promise.resolve(),
    drains: async () => {
      await terminator?.trigger();
      await terminator?.idle();
    },
    published: () => publisher.idle(),
    async stop() {
      for (const t of timers) clearInterval(t);
      reconciler.stop();
      loopDelay.disable();
      // A wedged pass is not waited for forever: stopping is what a failed liveness probe asks for.
      await Promise.race([batcher?.stop(), new Promise((r) => setTimeout(r, 5000).unref())]);
      await terminator?.idle();
      await collecting;
      await publisher.idle();
      await informers?.stop();
      await elector?.stop();
      if (server !== undefined) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
      }
    },
  };
}

function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
