import { z } from "zod";
import { TaintSchema } from "./model.ts";

/**
 * Machine-readable reasons (../shared/CONTRACTS.md). Each reason is a union member keyed on `code`
 * with the fields that make it actionable. Extend by adding members; never rename a code.
 */

const nodePoolField = { nodePool: z.string().optional() };

/**
 * Every NodePool's own reason for a pod none of them could take, most specific first (the pool that
 * would take the pod but for one thing leads): an optional field of every unschedulable reason.
 */
const perNodePool = {
  nodePools: z.array(z.object({ nodePool: z.string(), code: z.string(), message: z.string() })).optional(),
};

/** Why a pod was not placed. */
export const UnschedulableReasonSchema = z.discriminatedUnion("code", [
  z.object({
    ...perNodePool,
    code: z.literal("no_nodepool_tolerates_taint"),
    taints: z.array(TaintSchema.extend(nodePoolField)),
  }),
  z.object({
    ...perNodePool,
    code: z.literal("no_instance_type_has_resource"),
    resource: z.string(),
    requested: z.number(),
    ...nodePoolField,
  }),
  z.object({
    ...perNodePool,
    code: z.literal("requirement_conflict"),
    key: z.string(),
    podRequirement: z.string().optional(),
    nodePoolRequirement: z.string().optional(),
    ...nodePoolField,
  }),
  z.object({
    ...perNodePool,
    code: z.literal("nodepool_limit_reached"),
    nodePool: z.string(),
    resource: z.string(),
    limit: z.number(),
    used: z.number(),
  }),
  z.object({
    ...perNodePool,
    code: z.literal("no_available_offering"),
    ...nodePoolField,
    zones: z.array(z.string()).optional(),
  }),
  z.object({
    ...perNodePool,
    code: z.literal("topology_spread_unsatisfiable"),
    topologyKey: z.string(),
    maxSkew: z.number(),
    domains: z.record(z.string(), z.number()).optional(),
  }),
  z.object({
    ...perNodePool,
    code: z.literal("pod_affinity_unsatisfiable"),
    topologyKey: z.string(),
    selector: z.string().optional(),
  }),
  z.object({
    ...perNodePool,
    code: z.literal("pod_anti_affinity_conflict"),
    topologyKey: z.string(),
    conflictingPod: z.string().optional(),
  }),
  z.object({ ...perNodePool, code: z.literal("host_port_conflict"), port: z.number(), protocol: z.string() }),
  z.object({
    ...perNodePool,
    code: z.literal("volume_zone_conflict"),
    zones: z.array(z.string()),
    claim: z.string().optional(),
  }),
  z.object({
    ...perNodePool,
    code: z.literal("min_values_unsatisfiable"),
    key: z.string(),
    minValues: z.number(),
    available: z.number(),
    ...nodePoolField,
  }),
  z.object({
    ...perNodePool,
    code: z.literal("too_large_for_any_type"),
    requests: z.record(z.string(), z.number()),
    largest: z.string().optional(),
    ...nodePoolField,
  }),
]);
export type UnschedulableReason = z.infer<typeof UnschedulableReasonSchema>;
export type UnschedulableCode = UnschedulableReason["code"];

/** Why a node was not disrupted. */
export const KeptReasonSchema = z.discriminatedUnion("code", [
  z.object({ code: z.literal("not_managed") }),
  z.object({ code: z.literal("not_initialized") }),
  z.object({ code: z.literal("being_deleted") }),
  z.object({ code: z.literal("nominated"), pod: z.string().optional() }),
  z.object({ code: z.literal("do_not_disrupt_node") }),
  z.object({ code: z.literal("do_not_disrupt_pod"), pod: z.string(), until: z.string().optional() }),
  z.object({ code: z.literal("pdb_blocks_eviction"), pdb: z.string(), pod: z.string() }),
  z.object({ code: z.literal("pod_under_multiple_pdbs"), pod: z.string(), pdbs: z.array(z.string()) }),
  z.object({
    code: z.literal("budget_exhausted"),
    nodePool: z.string(),
    reason: z.string(),
    allowed: z.number(),
    schedule: z.string().optional(),
    until: z.string().optional(),
  }),
  z.object({ code: z.literal("consolidate_after_pending"), consolidatableAt: z.string() }),
  z.object({ code: z.literal("consolidation_disabled"), nodePool: z.string() }),
  z.object({ code: z.literal("policy_when_empty"), nodePool: z.string() }),
  z.object({
    code: z.literal("no_cheaper_replacement"),
    pricePerHour: z.number(),
    cheapestPerHour: z.number().optional(),
    /**
     * Every candidate is spot and a replacement could launch as spot: Karpenter refuses the command
     * while its SpotToSpotConsolidation feature gate is off (whatever the replacement costs).
     */
    spotToSpotDisabled: z.literal(true).optional(),
  }),
  z.object({
    code: z.literal("savings_below_threshold"),
    savingsPerHour: z.number(),
    thresholdPerHour: z.number(),
  }),
  z.object({
    code: z.literal("pods_would_not_fit"),
    pods: z.array(z.object({ pod: z.string(), reason: UnschedulableReasonSchema })),
  }),
]);
export type KeptReason = z.infer<typeof KeptReasonSchema>;
export type KeptCode = KeptReason["code"];

/** Every unschedulable code, in contract order. */
export const unschedulableCodes = UnschedulableReasonSchema.options.map((o) => o.shape.code.value);
/** Every kept code, in contract order. */
export const keptCodes = KeptReasonSchema.options.map((o) => o.shape.code.value);

/** Non-fatal observations attached to a plan. */
export const WarningSchema = z.object({
  code: z.enum([
    "spot_price_unknown",
    "spot_prices_dated",
    "nodepool_has_no_instance_types",
    "default_nodepool_used",
    "min_values_relaxed",
    "preference_relaxed",
    "object_skipped",
    "constraint_not_enforced",
    "evicted_pods_unschedulable",
  ]),
  message: z.string(),
  nodePool: z.string().optional(),
  pod: z.string().optional(),
});
export type Warning = z.infer<typeof WarningSchema>;
