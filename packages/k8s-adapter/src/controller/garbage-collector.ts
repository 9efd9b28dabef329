import type { CloudInstance, Launcher } from "@nodeplan/core";
import { describe, type KubeObject } from "./informers.ts";
import { findOrphans } from "./lifecycle.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { type ClusterWriter, NotLeaderError } from "./writer.ts";

/** What garbage collection needs. */
export interface GarbageCollectorOptions {
  /** The provider's instances of this cluster's NodePools. */
  instances: () => Promise<CloudInstance[]>;
  /** Acting mode: terminates what no claim names. Advisory mode (undefined): reports only. */
  launcher: Launcher | undefined;
  writer: ClusterWriter;
  metrics: ControllerMetrics;
  list: (kind: string) => KubeObject[];
  now: () => number;
  log: (message: string) => void;
  /** Instances younger than this are left alone (a launch whose claim is being recorded). */
  graceMs: number;
}

/**
 * Instances leaked by a lost claim (deleted without its finalizer, a launch whose claim went away):
 * instances the provider runs for this cluster's NodePools that no NodeClaim names, past a grace
 * period, are terminated in acting mode (and their Node deleted) and only reported in advisory mode
 * (A: pkg/controllers/nodeclaim/garbagecollection). Run only on a synced cache.
 */
export class GarbageCollector {
  private readonly o: GarbageCollectorOptions;
  /** The orphans found by the last collection (provider ids). */
  last: string[] = [];
  private readonly reported = new Set<string>();

  constructor(options: GarbageCollectorOptions) {
    this.o = options;
  }

  async collect(): Promise<void> {
    const { o } = this;
    const instances = await o.instances();
    const orphans = findOrphans(instances, o.list("NodeClaim"), o.now(), o.graceMs);
    this.last = orphans.map((i) => i.providerID);
    o.metrics.orphanedInstances.set(orphans.length);
    for (const orphan of orphans) {
      const what = `instance ${orphan.providerID}${orphan.nodeClaim === undefined ? "" : ` (launched for NodeClaim ${orphan.nodeClaim})`} has no NodeClaim`;
      if (o.launcher === undefined) {
        if (!this.reported.has(orphan.providerID)) o.log(`${what}; acting mode would terminate it`);
        this.reported.add(orphan.providerID);
        continue;
      }
      try {
        await o.writer.assertCanWrite();
        await o.launcher.delete({
          name: orphan.nodeClaim ?? orphan.providerID,
          providerID: orphan.providerID,
        });
        const node = o
          .list("Node")
          .find((n) => (n.spec as { providerID?: string } | undefined)?.providerID === orphan.providerID);
        if (node !== undefined) await o.writer.deleteNode(node.metadata.name);
        o.metrics.garbageCollected.inc();
        o.log(`${what}: terminated`);
      } catch (err) {
        if (err instanceof NotLeaderError) return;
        o.metrics.actionErrors.inc({ action: "garbage_collect" });
        o.log(`${what}; terminating it failed: ${describe(err)}`);
      }
    }
    for (const id of this.reported) if (!this.last.includes(id)) this.reported.delete(id);
  }
}
