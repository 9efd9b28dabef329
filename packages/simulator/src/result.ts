import { z } from "zod";

/**
 * The simulation result (../shared/CONTRACTS.md "Simulation result"): what `nodeplan simulate -o json`
 * prints. Fields beyond the contract are optional extensions.
 */

/** Costs over the period, in dollars, by the Costs fields (instancePerHour -> instance, ...). */
export const CostTotalsSchema = z.object({
  instance: z.number(),
  storage: z.number(),
  network: z.number(),
  burstableCredits: z.number(),
  fees: z.number(),
});
export type CostTotals = z.infer<typeof CostTotalsSchema>;

/** One node's part of the bill. */
export const NodeCostSchema = z.object({
  name: z.string(),
  nodePool: z.string().optional(),
  instanceType: z.string(),
  zone: z.string(),
  capacityType: z.string(),
  pricePerHour: z.number(),
  hours: z.number(),
  cost: z.number(),
  /** Extension: `cost` split by what is paid for (the offering's per-node costs). */
  costBreakdown: CostTotalsSchema.optional(),
});

export const SummarySchema = z.object({
  costTotal: z.number(),
  costBreakdown: CostTotalsSchema,
  nodeHours: z.number(),
  pendingPodSeconds: z.number(),
  pendingSecondsP50: z.number(),
  pendingSecondsP95: z.number(),
  pendingSecondsMax: z.number(),
  belowDesiredReplicaSeconds: z.number(),
  evictions: z.number().int(),
  disruptions: z.record(z.string(), z.number().int()),
  launches: z.number().int(),
  failedLaunches: z.number().int(),
  /**
   * Extension: false when the catalog prices instances only (no offering records volumes, public IPv4,
   * burstable credits or fees), so the breakdown is all instance.
   */
  costBreakdownComplete: z.boolean().optional(),
  /** Extension: per app, seconds with fewer available replicas than spec.replicas. */
  belowDesiredReplicaSecondsByApp: z.record(z.string(), z.number()).optional(),
  /** Extension: pods killed without an eviction (spot reclaim, forced node deletion). */
  podsKilled: z.number().int().optional(),
  /** Extension: pods no controller recreates that were evicted or killed. */
  barePodsLost: z.number().int().optional(),
  /** Extension: disruption commands dropped (re-validation, a replacement that failed). */
  disruptionsDropped: z.number().int().optional(),
  /** Extension: pods created during the period, and how many of them were ever pending. */
  podsCreated: z.number().int().optional(),
  peakNodes: z.number().int().optional(),
  /** Extension: every node that ran, with its hours and cost, most expensive first. */
  nodes: z.array(NodeCostSchema).optional(),
});
export type Summary = z.infer<typeof SummarySchema>;

export const SeriesPointSchema = z
  .object({
    t: z.number(),
    costPerHour: z.number(),
    nodes: z.number().int(),
    pendingPods: z.number().int(),
    readyPods: z.number().int().optional(),
    desiredPods: z.number().int().optional(),
    inFlightNodes: z.number().int().optional(),
  })
  .passthrough();
export type SeriesPoint = z.infer<typeof SeriesPointSchema>;

export const EventSchema = z.object({ t: z.number(), kind: z.string() }).passthrough();
export type SimEvent = z.infer<typeof EventSchema>;

export const StrategyResultSchema = z.object({
  /** Extension: what the strategy is. */
  description: z.string().optional(),
  summary: SummarySchema,
  series: z.array(SeriesPointSchema),
  events: z.array(EventSchema),
});
export type StrategyResult = z.infer<typeof StrategyResultSchema>;

export const SimulationResultSchema = z.object({
  scenario: z.string(),
  durationSeconds: z.number(),
  seed: z.number().int(),
  /** Extension: the simulated clock's start. */
  start: z.string().optional(),
  strategies: z.record(z.string(), StrategyResultSchema),
  /** Extension: notes on what the numbers include. */
  notes: z.array(z.string()).optional(),
});
export type SimulationResult = z.infer<typeof SimulationResultSchema>;
