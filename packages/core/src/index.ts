/**
 * @nodeplan/core: the provider-agnostic model, requirement algebra, contracts (Plan, DisruptionPlan,
 * reason codes, catalog file, provider interfaces) and, as they land, the solvers. Browser-safe.
 */
export * from "./catalog.ts";
export * from "./duration.ts";
export * from "./errors.ts";
export * from "./model.ts";
export * from "./plan.ts";
export * from "./providers.ts";
export * from "./provisioning/input.ts";
export {
  computeLowerBound,
  type LowerBoundCertificate,
  type LowerBoundResult,
} from "./provisioning/lower-bound.ts";
export * from "./quantity.ts";
export * from "./reasons.ts";
export { renderKept, renderUnschedulable } from "./render.ts";
export * from "./requests.ts";
export * from "./resources.ts";
export { createSolver, type KernelChoice, type Solver, type SolverOptions } from "./solver.ts";
export { type PlanValidation, type PlanViolation, validatePlan } from "./validate/validate-plan.ts";
export { verifyLowerBound } from "./validate/verify-bound.ts";
