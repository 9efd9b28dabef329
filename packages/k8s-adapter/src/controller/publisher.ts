import { podKey } from "@nodeplan/core";
import type { ObjectError } from "./convert.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { Solved } from "./reconciler.ts";
import { bytesOf, STATUS_MAX_BYTES, statusData } from "./status.ts";
import { type ClusterWriter, type InvolvedObject, NotLeaderError } from "./writer.ts";

/** What one publication reports. */
export interface Publication {
  solved: Solved;
  /** Objects skipped this pass (reported as Warning Events on them, and in the status). */
  objectErrors: readonly ObjectError[];
  /** Orphaned instances (garbage collection's last finding). */
  orphanedInstances: readonly string[];
}

/** Options of a `Publisher`. */
export interface PublisherOptions {
  mode: "advisory" | "acting";
  namespace: string;
  statusConfigMap: string;
  writer: ClusterWriter;
  metrics: ControllerMetrics;
  log: (message: string) => void;
  /** Events written per publication at most (default 500); the rest come in later passes. */
  maxEventsPerPass?: number;
  /** Entries listed per list in the status ConfigMap (default 200; fewer when the data would not fit). */
  statusTopN?: number;
}

const money = (x: number) => `$${x.toFixed(4)}/h`;

/**
 * Publishing apart from acting: the status ConfigMap and Events are written in the background, best
 * effort, after the pass has acted. A failure is counted (`nodeplan_publish_errors_total`) and never
 * fails the pass; while a publication is being written, a newer one replaces any waiting one.
 */
export class Publisher {
  private readonly o: PublisherOptions;
  private pending: Publication | undefined;
  private latest: Publication | undefined;
  private running: Promise<void> | undefined;
  private lastStatus = "";
  /** Keys a configuration check publishes beside the plan's (`ClusterChecks`). */
  private extra: Readonly<Record<string, string>> = {};

  constructor(options: PublisherOptions) {
    this.o = options;
  }

  /** Publishes `p` once the publication in progress (if any) is done; a newer offer replaces it. */
  offer(p: Publication): void {
    this.latest = p;
    this.pending = p;
    if (this.running === undefined)
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
  }

  /**
   * Publishes these keys too from now on (the last configuration check's), the plan's keys shrinking
   * to fit, and publishes the latest offer again with them.
   */
  setExtraStatus(data: Readonly<Record<string, string>>): void {
    this.extra = data;
    if (this.latest !== undefined) this.offer(this.latest);
  }

  /** Resolves when nothing is waiting to be published. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending !== undefined) {
      const p = this.pending;
      this.pending = undefined;
      try {
        await this.publish(p);
      } catch (err) {
        if (!(err instanceof NotLeaderError)) this.o.log(`publishing failed: ${String(err)}`);
      }
    }
  }

  private async publish({ solved, objectErrors, orphanedInstances }: Publication): Promise<void> {
    const { o } = this;
    // The status object first: one write, and what a person looks at.
    const extra = this.extra;
    const data = {
      ...statusData(
        solved.plan,
        solved.disruption,
        { mode: o.mode, objectErrors, orphanedInstances },
        {
          maxBytes: Math.max(0, STATUS_MAX_BYTES - bytesOf(extra)),
          ...(o.statusTopN === undefined ? {} : { topN: o.statusTopN }),
        },
      ),
      ...extra,
    };
    o.metrics.statusBytes.set(bytesOf(data));
    const content = JSON.stringify(data);
    if (content !== this.lastStatus) {
      try {
        await o.writer.configMap(o.namespace, o.statusConfigMap, { ...data, observedAt: solved.at });
        this.lastStatus = content;
      } catch (err) {
        if (err instanceof NotLeaderError) throw err;
        o.metrics.publishErrors.inc({ kind: "ConfigMap" });
        o.log(`status ConfigMap ${o.namespace}/${o.statusConfigMap} not written: ${describeError(err)}`);
      }
    }
    let budget = o.maxEventsPerPass ?? 500;
    let failed = 0;
    const emit = async (ref: InvolvedObject, reason: string, message: string, type: "Normal" | "Warning") => {
      if (budget <= 0) return;
      try {
        if (await o.writer.event(ref, reason, message, type)) budget -= 1;
      } catch (err) {
        budget -= 1;
        if (err instanceof NotLeaderError) throw err;
        failed += 1;
        o.metrics.publishErrors.inc({ kind: "Event" });
      }
    };
    for (const e of objectErrors) {
      await emit(
        {
          apiVersion: e.apiVersion,
          kind: e.kind,
          name: e.name,
          ...(e.namespace === undefined ? {} : { namespace: e.namespace }),
          ...(e.uid === undefined ? {} : { uid: e.uid }),
        },
        "NodeplanInvalidObject",
        `skipped (${e.code}): ${e.message}`,
        "Warning",
      );
    }
    for (const event of planEvents(solved, o.mode === "acting"))
      await emit(event.ref, event.reason, event.message, event.type);
    if (failed > 0) o.log(`${failed} Event(s) not written (publishing is best effort)`);
  }
}

const describeError = (err: unknown) => (err instanceof Error ? err.message.split("\n")[0] : String(err));

/** The Events a plan makes: on pods (launching, fits an existing node, unschedulable) and on nodes disrupted. */
function* planEvents(
  { cluster, plan, disruption }: Solved,
  acting: boolean,
): Generator<{ ref: InvolvedObject; reason: string; message: string; type: "Normal" | "Warning" }> {
  const pods = new Map(cluster.pods.map((p) => [podKey(p), p]));
  const podRef = (key: string): InvolvedObject | undefined => {
    const p = pods.get(key);
    return p === undefined
      ? undefined
      : { apiVersion: "v1", kind: "Pod", name: p.name, namespace: p.namespace, uid: p.uid };
  };
  for (const u of plan.unschedulable) {
    const ref = podRef(u.pod);
    if (ref !== undefined)
      yield { ref, reason: "NodeplanUnschedulable", message: u.message, type: "Warning" };
  }
  for (const claim of plan.nodeClaims) {
    const what = `NodeClaim ${claim.name} (${claim.instanceType} in ${claim.zone}, ${claim.capacityType}, ${money(claim.pricePerHour)}; ${claim.instanceTypeOptions.length} instance type options) for ${claim.pods.length} pod(s)`;
    for (const key of claim.pods) {
      const ref = podRef(key);
      if (ref !== undefined)
        yield {
          ref,
          reason: acting ? "NodeplanLaunching" : "NodeplanWouldLaunch",
          message: `${acting ? "launching" : "would launch"} ${what}`,
          type: "Normal",
        };
    }
  }
  const claimNames = new Set(plan.nodeClaims.map((c) => c.name));
  for (const p of plan.placements) {
    const ref = podRef(p.pod);
    if (ref !== undefined && !claimNames.has(p.node))
      yield {
        ref,
        reason: "NodeplanFitsExisting",
        message: `fits on existing or in-flight node ${p.node}`,
        type: "Normal",
      };
  }
  const nodes = new Map(cluster.nodes.map((n) => [n.name, n]));
  for (const c of disruption?.commands ?? []) {
    const replaced =
      c.replacements.length === 0
        ? "no replacement"
        : `${c.replacements.length} replacement(s): ${c.replacements.map((r) => r.instanceType).join(", ")}`;
    for (const name of c.candidates) {
      const n = nodes.get(name);
      if (n === undefined || n.inFlight) continue;
      yield {
        ref: { apiVersion: "v1", kind: "Node", name },
        reason: acting ? "NodeplanDisrupting" : "NodeplanWouldDisrupt",
        message: `${acting ? "disrupting" : "would disrupt"} (${c.method}: ${c.reason}) with ${replaced}, saving ${money(c.savingsPerHour)}`,
        type: "Normal",
      };
    }
  }
}
