/**
 * @nodeplan/k8s-adapter/controller: the in-cluster controller runtime (Node-only). Informers feed
 * the adapter's converters, a Karpenter-style batcher triggers solves, and the result is published
 * (advisory, the default) or carried out through core's Launcher (acting), under a Lease.
 */
import { hostname } from "node:os";
import { KubeConfig } from "@kubernetes/client-node";
import {
  type CatalogSource,
  createSolver,
  type DriftDetector,
  type InterruptionEvent,
  type Launcher,
  type NodeClassObject,
  type Solver,
} from "@nodeplan/core";
import { Batcher } from "./batcher.ts";
import { describe, type Informers, type KubeObject, startInformers } from "./informers.ts";
import { type LeaderElector, startLeaderElection } from "./leader.ts";
import { ControllerMetrics, portOf, serveProbes } from "./metrics.ts";
import { Reconciler, type Solved } from "./reconciler.ts";
import { ClusterWriter } from "./writer.ts";

export { Batcher, type BatchWindow } from "./batcher.ts";
export { type InformerOptions, type Informers, type KubeObject, startInformers } from "./informers.ts";
export { type LeaderElectionOptions, type LeaderElector, startLeaderElection } from "./leader.ts";
export { ControllerMetrics, serveProbes } from "./metrics.ts";
export {
  DISRUPTED_TAINT,
  MANAGED_BY_LABEL,
  OWNER_LABEL,
  PLANNED_CLAIM_ANNOTATION,
  type Solved,
} from "./reconciler.ts";
export { ClusterWriter, NotLeaderError } from "./writer.ts";

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
  /** Solves now, skipping the batch window; resolves when done. */
  reconcileNow(): Promise<void>;
  /** Resolves when every drain in progress has finished. */
  drains(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the controller until `stop()`. Every write (Kubernetes and cloud) is made only while this
 * replica holds the Lease; a standby keeps its caches warm and publishes nothing.
 */
export async function runController(options: ControllerOptions): Promise<ControllerHandle> {
  const mode = options.mode ?? "advisory";
  if (mode === "acting" && options.launcher === undefined) throw new Error("acting mode needs a launcher");
  const kc = options.kubeConfig ?? defaultKubeConfig();
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
  });

  let informers: Informers | undefined;
  let batcher: Batcher | undefined;
  const reconciler = new Reconciler({
    mode,
    owner: options.owner ?? "nodeplan",
    namespace,
    statusConfigMap: options.statusConfigMap ?? "nodeplan-status",
    catalog: options.catalog,
    launcher: options.launcher,
    solver,
    writer,
    metrics,
    now,
    log,
    podsOn: (node) =>
      (informers?.snapshot() ?? []).filter(
        (o) => o.kind === "Pod" && (o.spec as { nodeName?: string } | undefined)?.nodeName === node,
      ),
    retrigger: () => batcher?.trigger(),
    ...(options.evictionBackoffMs === undefined ? {} : { evictionBackoffMs: options.evictionBackoffMs }),
    disruption: options.disruption ?? true,
    drift: options.drift,
    nodeClass: options.nodeClass,
    interruptions: options.interruptions,
  });

  const run = async () => {
    if (informers === undefined || !informers.synced() || !isLeader()) return;
    try {
      await reconciler.reconcile(informers.snapshot() as KubeObject[]);
    } catch (err) {
      log(`reconcile failed: ${describe(err)}`);
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
  const resyncMs = options.resyncMs ?? 60_000;
  const resync = resyncMs > 0 ? setInterval(() => batcher?.trigger(), resyncMs) : undefined;

  const port = options.metricsPort === undefined ? 8080 : options.metricsPort;
  const server =
    port === null
      ? undefined
      : await serveProbes(
          { metrics, healthy: () => true, ready: () => informers?.synced() === true },
          port,
          options.metricsHost,
        );

  return {
    metricsPort: server === undefined ? undefined : portOf(server),
    metrics,
    isLeader,
    ready: () => informers?.synced() === true,
    lastSolve: () => reconciler.last,
    reconcileNow: () => batcher?.flush() ?? Promise.resolve(),
    drains: () => reconciler.drains(),
    async stop() {
      if (resync !== undefined) clearInterval(resync);
      await batcher?.stop();
      reconciler.stop();
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
