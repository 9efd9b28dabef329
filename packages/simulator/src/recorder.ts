import type { z } from "zod";
import type { SimNode } from "./cluster.ts";
import type { CostTotals, NodeCostSchema, SeriesPoint, SimEvent, Summary } from "./result.ts";

const COST_KEYS = ["instance", "storage", "network", "burstableCredits", "fees"] as const;

/** A breakdown in dollars, rounded as the totals are. */
function roundCosts(c: CostTotals): CostTotals {
  return {
    instance: round(c.instance, 4),
    storage: round(c.storage, 4),
    network: round(c.network, 4),
    burstableCredits: round(c.burstableCredits, 4),
    fees: round(c.fees, 4),
  };
}

/**
 * What a run measures: the bill (each node's billed time at its price), pending time per pod, time each
 * app spends below its desired replicas, evictions, disruptions, launches; a time series; events.
 * Continuous quantities are integrated exactly between the instants the cluster changes.
 */
export class Recorder {
  readonly events: SimEvent[] = [];
  readonly series: SeriesPoint[] = [];
  private readonly startMs: number;
  private lastMs: number;
  private readonly billed = new Map<SimNode, { fromMs: number; toMs: number | undefined }>();
  private readonly pendingSeconds: number[] = [];
  private readonly below = new Map<string, { seconds: number; now: boolean }>();
  launches = 0;
  failedLaunches = 0;
  evictions = 0;
  podsKilled = 0;
  barePodsLost = 0;
  podsCreated = 0;
  disruptionsDropped = 0;
  peakNodes = 0;
  readonly disruptions: Record<string, number> = {};

  constructor(startMs: number) {
    this.startMs = startMs;
    this.lastMs = startMs;
  }

  /** Seconds from the start. */
  t(ms: number): number {
    return Math.round(ms - this.startMs) / 1000;
  }

  event(ms: number, kind: string, fields: Record<string, unknown> = {}): void {
    this.events.push({ t: this.t(ms), kind, ...fields });
  }

  /** The clock moves to `ms`: time below desired replicas accrues for the apps below them. */
  advance(ms: number): void {
    const dt = (ms - this.lastMs) / 1000;
    if (dt > 0) for (const b of this.below.values()) if (b.now) b.seconds += dt;
    this.lastMs = ms;
  }

  /** An app's available replicas against its desired ones, as of now. */
  appBelow(app: string, below: boolean): void {
    const b = this.below.get(app);
    if (b === undefined) this.below.set(app, { seconds: 0, now: below });
    else b.now = below;
  }

  billStart(node: SimNode, ms: number): void {
    this.billed.set(node, { fromMs: ms, toMs: undefined });
    let running = 0;
    for (const b of this.billed.values()) if (b.toMs === undefined) running++;
    if (running > this.peakNodes) this.peakNodes = running;
  }

  billStop(node: SimNode, ms: number): void {
    const b = this.billed.get(node);
    if (b !== undefined && b.toMs === undefined) b.toMs = ms;
  }

  /** A pod left the pending state (bound) or the run ended with it pending. */
  pending(seconds: number): void {
    this.pendingSeconds.push(seconds);
  }

  disruptionStarted(method: string): void {
    this.disruptions[method] = (this.disruptions[method] ?? 0) + 1;
  }

  /** The summary at `endMs` (nodes still running are billed up to it). */
  summary(endMs: number, costBreakdownComplete: boolean): Summary {
    this.advance(endMs);
    const nodes: z.infer<typeof NodeCostSchema>[] = [];
    let cost = 0;
    let hours = 0;
    const total: CostTotals = { instance: 0, storage: 0, network: 0, burstableCredits: 0, fees: 0 };
    for (const [n, b] of this.billed) {
      const h = ((b.toMs ?? endMs) - b.fromMs) / 3_600_000;
      const c = h * n.pricePerHour;
      cost += c;
      hours += h;
      const parts: CostTotals = {
        instance: h * n.costs.instancePerHour,
        storage: h * n.costs.storagePerHour,
        network: h * n.costs.networkPerHour,
        burstableCredits: h * n.costs.burstableCreditsPerHour,
        fees: h * n.costs.feesPerHour,
      };
      for (const k of COST_KEYS) total[k] += parts[k];
      const row: z.infer<typeof NodeCostSchema> = {
        name: n.name,
        instanceType: n.instanceType,
        zone: n.zone,
        capacityType: n.capacityType,
        pricePerHour: round(n.pricePerHour, 6),
        hours: round(h, 4),
        cost: round(c, 4),
        costBreakdown: roundCosts(parts),
      };
      if (n.nodePool !== undefined) row.nodePool = n.nodePool;
      nodes.push(row);
    }
    nodes.sort((a, b) => b.cost - a.cost || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const pending = [...this.pendingSeconds].sort((a, b) => a - b);
    const byApp: Record<string, number> = {};
    let belowTotal = 0;
    for (const [app, b] of [...this.below].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
      byApp[app] = round(b.seconds, 3);
      belowTotal += b.seconds;
    }
    const disruptions: Record<string, number> = {};
    for (const k of Object.keys(this.disruptions).sort()) disruptions[k] = this.disruptions[k] as number;
    return {
      costTotal: round(cost, 4),
      costBreakdown: roundCosts(total),
      costBreakdownComplete,
      nodeHours: round(hours, 4),
      pendingPodSeconds: round(
        pending.reduce((s, x) => s + x, 0),
        3,
      ),
      pendingSecondsP50: round(percentile(pending, 0.5), 3),
      pendingSecondsP95: round(percentile(pending, 0.95), 3),
      pendingSecondsMax: round(pending[pending.length - 1] ?? 0, 3),
      belowDesiredReplicaSeconds: round(belowTotal, 3),
      belowDesiredReplicaSecondsByApp: byApp,
      evictions: this.evictions,
      disruptions,
      disruptionsDropped: this.disruptionsDropped,
      launches: this.launches,
      failedLaunches: this.failedLaunches,
      podsKilled: this.podsKilled,
      barePodsLost: this.barePodsLost,
      podsCreated: this.podsCreated,
      peakNodes: this.peakNodes,
      nodes,
    };
  }
}

/** Nearest-rank percentile of sorted values (0 when empty). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

/** Rounds to `digits` decimals (JSON stays short and stable). */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
