import { z } from "zod";
import { CostsSchema } from "./costs.ts";
import { inputErrorCodes } from "./errors.ts";
import { CapacityTypeSchema, NodeSelectorRequirementSchema, ResourcesSchema } from "./model.ts";
import { KeptReasonSchema, UnschedulableReasonSchema, WarningSchema } from "./reasons.ts";

/** A new node to launch (a karpenter.sh/v1 NodeClaim in the making). */
export const PlannedNodeClaimSchema = z.object({
  name: z.string(),
  nodePool: z.string(),
  /** The cheapest compatible available offering's instance type. */
  instanceType: z.string(),
  /** Instance types that could serve this claim, cheapest first (default at most 600). */
  instanceTypeOptions: z.array(z.string()),
  zone: z.string(),
  capacityType: CapacityTypeSchema,
  /** The chosen offering's price: the instance plus its per-node costs (the sum of `costs`). */
  pricePerHour: z.number(),
  /** What `pricePerHour` is made of (instance, volumes, public IPv4, burstable credits, fees). */
  costs: CostsSchema.optional(),
  /** The most expensive offering the claim could launch as (Karpenter's worst launch price). */
  worstPricePerHour: z.number(),
  /** The NodeClaim's requirements: NodePool's, narrowed to the options (instance type, zone, capacity type). */
  requirements: z.array(NodeSelectorRequirementSchema),
  daemonSetOverhead: ResourcesSchema,
  pods: z.array(z.string()),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type PlannedNodeClaim = z.infer<typeof PlannedNodeClaimSchema>;

/** One error in the input that was rejected (the rest was planned). */
export const PlanErrorSchema = z.object({
  source: z.string(),
  path: z.string(),
  code: z.enum(inputErrorCodes),
  message: z.string(),
});
export type PlanError = z.infer<typeof PlanErrorSchema>;

/** How the lower bound was proven, with what an independent checker needs to verify it. */
export const LowerBoundSchema = z.object({
  /** A stable code (`lp-covering-by-compatibility`, `pattern-lp-farley`, `exact-enumeration`, ...). */
  method: z.string(),
  certificate: z.unknown(),
  /** The method in words: what the bound takes into account and what it ignores. */
  description: z.string().optional(),
});

/** The provisioning plan (../shared/CONTRACTS.md). */
export const PlanSchema = z.object({
  nodeClaims: z.array(PlannedNodeClaimSchema),
  placements: z.array(z.object({ pod: z.string(), node: z.string() })),
  unschedulable: z.array(
    z.object({ pod: z.string(), reason: UnschedulableReasonSchema, message: z.string() }),
  ),
  cost: z.object({
    currentPerHour: z.number(),
    newPerHour: z.number(),
    plannedPerHour: z.number(),
    lowerBoundPerHour: z.number(),
    ratio: z.number().nullable(),
    /** Existing and in-flight nodes (`current`) and new claims (`new`), split by what is paid for. */
    breakdown: z.object({ current: CostsSchema, new: CostsSchema }).optional(),
  }),
  lowerBound: LowerBoundSchema,
  warnings: z.array(WarningSchema),
  errors: z.array(PlanErrorSchema),
});
export type Plan = z.infer<typeof PlanSchema>;

/** Disruption methods, in Karpenter's order (expiration and interruption are forceful). */
export const DisruptionMethodSchema = z.enum([
  "emptiness",
  "drift",
  "expiration",
  "interruption",
  "consolidation",
]);

/** A disruption command: nodes to remove, what replaces them, the pods that move. */
export const DisruptionCommandSchema = z.object({
  wave: z.number().int().min(1),
  method: DisruptionMethodSchema,
  reason: z.string(),
  candidates: z.array(z.string()),
  replacements: z.array(PlannedNodeClaimSchema),
  evictions: z.array(z.string()),
  savingsPerHour: z.number(),
  /** The budget the command draws on (its first NodePool's, when it spans several). */
  budget: z.object({ nodePool: z.string(), reason: z.string(), consumed: z.number().int() }),
  /** Every NodePool's budget the command draws on, when its candidates span several (emptiness, Karpenter's multi-node). */
  budgets: z
    .array(z.object({ nodePool: z.string(), reason: z.string(), consumed: z.number().int() }))
    .optional(),
  /** Where each evicted pod goes: a remaining node or one of the wave's replacements. */
  placements: z.array(z.object({ pod: z.string(), node: z.string() })).optional(),
});
export type DisruptionCommand = z.infer<typeof DisruptionCommandSchema>;

/** The disruption plan (../shared/CONTRACTS.md). */
export const DisruptionPlanSchema = z.object({
  commands: z.array(DisruptionCommandSchema),
  kept: z.array(z.object({ node: z.string(), reason: KeptReasonSchema, message: z.string() })),
  cost: z.object({
    currentPerHour: z.number(),
    afterPerHour: z.number(),
    lowerBoundPerHour: z.number(),
    /** The cluster now (`current`) and after every wave (`after`), split by what is paid for. */
    breakdown: z.object({ current: CostsSchema, after: CostsSchema }).optional(),
  }),
  warnings: z.array(WarningSchema),
  errors: z.array(PlanErrorSchema),
});
export type DisruptionPlan = z.infer<typeof DisruptionPlanSchema>;

/** One benchmark row (../shared/BENCHMARK-SCENARIOS.md, "What every row reports"). */
export const BenchRowSchema = z.object({
  id: z.string(),
  pods: z.number().int(),
  nodes: z.number().int(),
  scheduledPods: z.number().int(),
  medianMs: z.number(),
  p95Ms: z.number(),
  podsPerSec: z.number(),
  costPerHour: z.number(),
  lowerBoundPerHour: z.number(),
  costRatio: z.number().nullable(),
  baselineCostPerHour: z.number().nullable(),
  baselineScheduledPods: z.number().int().nullable(),
  kernelWasmSimdMs: z.number().optional(),
  kernelWasmScalarMs: z.number().optional(),
  kernelTsMs: z.number().optional(),
  currentCostPerHour: z.number().optional(),
  optimumPerHour: z.number().optional(),
  /** New nodes the baseline launches (provisioning rows); nodes after its loop (consolidate rows). */
  baselineNodes: z.number().int().nullable().optional(),
  /** nodeplan's $/h split by what is paid for (instance, storage, network, burstable credits, fees). */
  costBreakdown: CostsSchema.nullable().optional(),
  /** The baseline's $/h, split the same way. */
  baselineCostBreakdown: CostsSchema.nullable().optional(),
});
export type BenchRow = z.infer<typeof BenchRowSchema>;
