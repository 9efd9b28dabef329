/**
 * @nodeplan/core: the provider-agnostic model, requirement algebra, contracts (Plan, DisruptionPlan,
 * reason codes, catalog file, provider interfaces) and, as they land, the solvers. Browser-safe.
 */
export * from "./catalog.ts";
export * from "./costs.ts";
export {
  type Action,
  type BatchVerdict,
  type BatchWindow,
  batchVerdict,
  type CommandInProgress,
  type CommandPhase,
  type ControllerMemory,
  type DecideOptions,
  type Decision,
  type DecisionPod,
  type DecisionState,
  decide,
  initialMemory,
  type KarpenterProvisionInput,
  type KarpenterProvisionOptions,
  type KarpenterProvisionResult,
  karpenterProvision,
  karpenterProvisioning,
  karpenterProvisionSummary,
  karpenterStrategy,
  type LaunchFailure,
  nodeplanProvisioning,
  nodeplanStrategy,
  type ProvisioningStrategy,
  type Strategy,
  strategies,
} from "./decide/index.ts";
export {
  DEFAULT_MIN_SAVINGS_PER_HOUR,
  DEFAULT_MIN_SAVINGS_PERCENT,
  type DisruptionInput,
  type DisruptionOptions,
  type DriftInput,
} from "./disruption/input.ts";
export type { LoopOptions, LoopPass, LoopResult, LoopTimings } from "./disruption/loop.ts";
export { SPOT_TO_SPOT_MIN_TYPES } from "./disruption/replacements.ts";
export * from "./duration.ts";
export * from "./errors.ts";
export { deepFreeze, deeplyFrozen } from "./frozen.ts";
export {
  type CheckedInput,
  checkDisruptionInput,
  checkProvisioningInput,
  toPlanErrors,
} from "./input-check.ts";
export {
  claimCharge,
  exceedsLimits,
  type LimitExceeded,
  NODES_LIMIT,
  NodePoolLimits,
  nodePoolUsage,
} from "./limits.ts";
export * from "./model.ts";
export * from "./plan.ts";
export * from "./providers.ts";
export {
  constraintsOf,
  daemonSetFits,
  nodeAccepts,
  type PodConstraints,
  poolAccepts,
  requirementConflict,
  untoleratedPoolTaint,
} from "./provisioning/compat.ts";
export * from "./provisioning/input.ts";
export {
  computeLowerBound,
  describeLowerBound,
  type LowerBoundCertificate,
  type LowerBoundResult,
} from "./provisioning/lower-bound.ts";
export * from "./quantity.ts";
export * from "./reasons.ts";
export { renderKept, renderUnschedulable } from "./render.ts";
export * from "./requests.ts";
export {
  type CompatibleOptions,
  checkMinValues,
  compatible as requirementsCompatible,
  type DerivedOperator,
  intersect as intersectRequirements,
  intersects as requirementsIntersect,
  type MinValuesCandidate,
  type MinValuesShortfall,
  matchesNodeSelectorRequirement,
  matchesNodeSelectorTerms,
  minValuesPrefixLength,
  type NodeSelectorOperator,
  type NodeSelectorRequirementInput,
  nodeSelectorOperators,
  type ParsedRequirements,
  parseLabelInteger,
  parseNodeSelectorRequirements,
  Requirement,
  type RequirementConflict,
  Requirements,
  type RequirementsCheck,
  validateNodeSelectorRequirement,
  valueSatisfiesRequirement,
} from "./requirements.ts";
export * from "./resources.ts";
export * from "./selectors.ts";
export { createSolver, type KernelChoice, type Solver, type SolverOptions } from "./solver.ts";
export * from "./taints.ts";
export {
  type DisruptionValidation,
  type DisruptionViolation,
  disruptionRules,
  validateDisruption,
} from "./validate/validate-disruption.ts";
export { type PlanValidation, type PlanViolation, validatePlan } from "./validate/validate-plan.ts";
export { verifyLowerBound } from "./validate/verify-bound.ts";
export { verifyPatternBound } from "./validate/verify-pattern-bound.ts";
export * from "./well-known-labels.ts";
