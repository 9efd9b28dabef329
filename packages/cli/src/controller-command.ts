import { ec2NodeClassOf, offlineCatalogSource, UnavailableOfferings } from "@nodeplan/aws-provider";
import {
  AwsCatalog,
  AwsDriftDetector,
  AwsLauncher,
  consumeInterruptionQueue,
  describeClusterInstances,
  sqsSdk,
  ssmSdk,
} from "@nodeplan/aws-provider/live";
import type { CatalogSource, InterruptionEvent } from "@nodeplan/core";
import { type ControllerHandle, runController } from "@nodeplan/k8s-adapter/controller";
import { doctorChecks } from "./doctor-command.ts";
import { UsageError } from "./inputs.ts";
import { liveClients } from "./live.ts";
import { loadSolver } from "./prepare.ts";

/** `nodeplan controller` flags (deploy/deployment.yaml uses the same names). */
export interface ControllerCommandOptions {
  mode: "advisory" | "acting";
  catalog: "embedded" | "aws";
  leaderElect: string;
  leaderElectionNamespace?: string;
  leaderElectionLease: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  batchIdleDuration: string;
  batchMaxDuration: string;
  metricsPort: string;
  /** Address of the metrics and probe server (default 0.0.0.0; 127.0.0.1 keeps it on the host). */
  metricsHost?: string;
  /** `true` (default) or `false`: instance garbage collection. */
  garbageCollection?: string;
  clusterName?: string;
  clusterEndpoint?: string;
  clusterCaBundle?: string;
  serviceCidr?: string;
  kubernetesVersion?: string;
  interruptionQueue?: string;
  /** `all` or comma-separated capacity reservation ids. */
  capacityReservations?: string;
  /** How often `nodeplan doctor`'s rules run over the watched cluster (default 10m; 0 turns them off). */
  doctorInterval?: string;
}

/** `--capacity-reservations`: `all` (every active reservation) or the listed ids. */
export function reservationIds(text: string): true | string[] {
  if (text.trim() === "all") return true;
  const ids = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const bad = ids.find((id) => !/^cr-[0-9a-f]+$/.test(id));
  if (ids.length === 0 || bad !== undefined)
    throw new UsageError(
      `--capacity-reservations: "${bad ?? text}" is not "all" or a capacity reservation id (cr-...)`,
    );
  return ids;
}

/** `1s`, `1500ms`, `2m`, or a bare number of seconds, in milliseconds. */
export function durationMillis(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`${flag}: "${text}" is not a duration (examples: 500ms, 2s, 1m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}

/**
 * Runs the controller in this process until SIGTERM/SIGINT. Advisory mode needs only the Kubernetes
 * API (and the embedded or live catalog); acting mode launches through EC2 and so needs the cluster's
 * endpoint and CA for node bootstrap, and AWS credentials. The interruption queue is optional.
 */
export async function runControllerCommand(options: ControllerCommandOptions): Promise<void> {
  // Flags first: a typo is reported before any connection is made.
  const port = Number(options.metricsPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--metrics-port: "${options.metricsPort}" is not a port number`);
  const timing = {
    batchIdleMs: durationMillis("--batch-idle-duration", options.batchIdleDuration),
    batchMaxMs: durationMillis("--batch-max-duration", options.batchMaxDuration),
    leaderElection: {
      enabled: options.leaderElect !== "false",
      leaseName: options.leaderElectionLease,
      leaseDurationMs: durationMillis("--lease-duration", options.leaseDuration),
      renewDeadlineMs: durationMillis("--renew-deadline", options.renewDeadline),
      retryPeriodMs: durationMillis("--retry-period", options.retryPeriod),
    },
  };
  const doctorMs = durationMillis("--doctor-interval", options.doctorInterval ?? "10m");
  const acting = options.mode === "acting";
  const gcFlag = options.garbageCollection ?? "true";
  if (gcFlag !== "true" && gcFlag !== "false")
    throw new UsageError(`--garbage-collection: "${gcFlag}" is not true or false`);
  const gc = gcFlag === "true";
  const unavailable = new UnavailableOfferings();
  // Advisory mode reports leaked instances when it knows the cluster (read-only EC2 access).
  const reportsLeaks = !acting && gc && options.clusterName !== undefined;
  const needsAws =
    acting || options.catalog === "aws" || options.interruptionQueue !== undefined || reportsLeaks;
  const aws = needsAws ? await liveClients() : undefined;
  const catalog: CatalogSource =
    options.catalog === "aws" && aws !== undefined
      ? new AwsCatalog({
          region: aws.region,
          ec2: aws.ec2,
          pricing: aws.pricing,
          unavailableOfferings: () => unavailable.list(),
          ...(options.capacityReservations === undefined
            ? {}
            : { capacityReservations: reservationIds(options.capacityReservations) }),
        })
      : offlineCatalogSource({ unavailableOfferings: () => unavailable.list() });

  let launcher: AwsLauncher | undefined;
  if (acting && aws !== undefined) {
    const missing = (
      ["clusterName", "clusterEndpoint", "clusterCaBundle", "kubernetesVersion"] as const
    ).filter((k) => options[k] === undefined);
    if (missing.length > 0)
      throw new UsageError(
        `acting mode launches nodes and needs ${missing.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(", ")}`,
      );
    launcher = new AwsLauncher({
      ec2: aws.ec2,
      ssm: new ssmSdk.SSMClient({ region: aws.region, credentials: aws.ec2.config.credentials }),
      catalog: catalog as CatalogSource<never>,
      cluster: {
        name: options.clusterName as string,
        endpoint: options.clusterEndpoint as string,
        caBundle: options.clusterCaBundle as string,
        ...(options.serviceCidr === undefined ? {} : { serviceCidr: options.serviceCidr }),
      },
      kubernetesVersion: options.kubernetesVersion as string,
      unavailableOfferings: unavailable,
    });
  }

  // Interruption events, read every pass, stay until an hour past their deadline (or emission): long
  // enough for the node to be replaced, and the map cannot grow without bound.
  const events = new Map<string, InterruptionEvent>();
  const current = () => {
    const horizon = Date.now() - 3_600_000;
    for (const [id, e] of events) if (Date.parse(e.deadline ?? e.time) < horizon) events.delete(id);
    return [...events.values()];
  };
  const stop = new AbortController();
  if (options.interruptionQueue !== undefined && aws !== undefined) {
    const sqs = new sqsSdk.SQSClient({ region: aws.region, credentials: aws.ec2.config.credentials });
    void consumeInterruptionQueue({
      sqs,
      queueUrl: options.interruptionQueue,
      signal: stop.signal,
      onEvents: (received) => {
        for (const e of received) events.set(e.id, e);
      },
      onError: (p) => process.stderr.write(`nodeplan: interruption queue: ${p.error}\n`),
    });
  }

  const solver = await loadSolver();
  const handle: ControllerHandle = await runController({
    mode: options.mode,
    catalog,
    // The catalog, launcher and drift detector take validated EC2NodeClasses, defaults applied.
    nodeClass: ec2NodeClassOf,
    ...(launcher === undefined
      ? {}
      : {
          launcher,
          drift: new AwsDriftDetector({
            selections: (nodeClass) => launcher?.selections(nodeClass),
            // Instance facts (AMI, subnet, security groups) are not read yet: only selections drift.
            instance: () => undefined,
          }) as never,
        }),
    interruptions: current,
    solver,
    ...(doctorMs === 0 ? {} : { checks: doctorChecks(solver, { intervalMs: doctorMs }) }),
    garbageCollection: {
      enabled: gc,
      ...(reportsLeaks && aws !== undefined
        ? { instances: () => describeClusterInstances(aws.ec2, options.clusterName as string) }
        : {}),
    },
    ...(options.leaderElectionNamespace === undefined ? {} : { namespace: options.leaderElectionNamespace }),
    ...timing,
    metricsPort: port,
    ...(options.metricsHost === undefined ? {} : { metricsHost: options.metricsHost }),
    log: (message) => process.stderr.write(`${new Date().toISOString()} ${message}\n`),
  });
  process.stderr.write(
    `nodeplan controller: ${options.mode} mode, metrics on :${handle.metricsPort ?? "-"}, catalog ${options.catalog}\n`,
  );
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once("SIGTERM", done);
    process.once("SIGINT", done);
  });
  stop.abort();
  await handle.stop();
}
