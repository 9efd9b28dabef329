/** The decision step: one controller pass as a pure function (decide.ts), its state, actions and strategies. */
export { type BatchVerdict, type BatchWindow, batchVerdict } from "./batch.ts";
export { decide } from "./decide.ts";
export {
  type KarpenterProvisionInput,
  type KarpenterProvisionOptions,
  type KarpenterProvisionResult,
  karpenterProvision,
  karpenterProvisionSummary,
} from "./karpenter-provisioner.ts";
export { type Revalidation, revalidate } from "./revalidate.ts";
export {
  karpenterProvisioning,
  karpenterStrategy,
  nodeplanProvisioning,
  nodeplanStrategy,
  type ProvisioningStrategy,
  type Strategy,
  strategies,
} from "./strategy.ts";
export {
  type Action,
  type CommandInProgress,
  type CommandPhase,
  type ControllerMemory,
  type DecideOptions,
  type Decision,
  type DecisionPod,
  type DecisionState,
  initialMemory,
  type LaunchFailure,
} from "./types.ts";
