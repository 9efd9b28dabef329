import { createKernel, type Kernel } from "@nodeplan/solver-wasm";
import { decide } from "./decide/decide.ts";
import type { Strategy } from "./decide/strategy.ts";
import type { DecideOptions, Decision, DecisionState } from "./decide/types.ts";
import type { DisruptionInput } from "./disruption/input.ts";
import { consolidateToFixedPoint, type LoopOptions, type LoopResult } from "./disruption/loop.ts";
import { planDisruption } from "./disruption/plan-disruption.ts";
import type { DisruptionPlan, Plan } from "./plan.ts";
import type { ProvisioningInput } from "./provisioning/input.ts";
import { provision } from "./provisioning/provision.ts";

/** Which packing kernel to run: WebAssembly (SIMD when the engine has it), or the pure-TS reference. */
export type KernelChoice = "auto" | "simd" | "scalar" | "reference";

/** Options of `createSolver`. */
export interface SolverOptions {
  /** Default `auto`: WASM SIMD, else WASM scalar, else the TS reference where WebAssembly is unavailable. */
  kernel?: KernelChoice;
}

/** A loaded solver. Calls are synchronous and pure: same input, same plan. */
export interface Solver {
  /** The kernel actually in use. */
  readonly kernel: Kernel["flavor"];
  /** Plans new capacity for pending pods (../shared/CONTRACTS.md Plan). */
  provision(input: ProvisioningInput): Plan;
  /** Plans which nodes to disrupt and what replaces them (../shared/CONTRACTS.md DisruptionPlan). */
  planDisruption(input: DisruptionInput): DisruptionPlan;
  /**
   * Runs the controller's loop on `input` to its fixed point: plan one wave, carry it out, advance the
   * clock, plan again (see disruption/loop.ts).
   */
  consolidateToFixedPoint(input: DisruptionInput, options?: LoopOptions): LoopResult;
  /** One controller pass: the actions for the cluster state at `now` (see decide/decide.ts). */
  decide(state: DecisionState, now: string, strategy: Strategy, options?: DecideOptions): Decision;
}

/**
 * Loads the kernel once. Async so that a future streaming compile does not change the API; today the
 * inlined module compiles synchronously.
 */
export async function createSolver(options: SolverOptions = {}): Promise<Solver> {
  const kernel = createKernel({ flavor: options.kernel ?? "auto" });
  return {
    kernel: kernel.flavor,
    provision: (input) => provision(kernel, input),
    planDisruption: (input) => planDisruption(kernel, input),
    consolidateToFixedPoint: (input, options) => consolidateToFixedPoint(kernel, input, options),
    decide: (state, now, strategy, options) => decide(kernel, state, now, strategy, options),
  };
}
