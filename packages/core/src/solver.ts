import { createKernel, type Kernel } from "@nodeplan/solver-wasm";
import { decide } from "./decide/decide.ts";
import type { Strategy } from "./decide/strategy.ts";
import {
  type ControllerMemory,
  type DecideOptions,
  type Decision,
  type DecisionState,
  initialMemory,
} from "./decide/types.ts";
import type { DisruptionInput } from "./disruption/input.ts";
import { consolidateToFixedPoint, type LoopOptions, type LoopResult } from "./disruption/loop.ts";
import { planDisruption } from "./disruption/plan-disruption.ts";
import {
  checkDecisionInput,
  checkDisruptionInput,
  checkLoopOptions,
  checkProvisioningInput,
  toPlanErrors,
} from "./input-check.ts";
import type { DisruptionPlan, Plan, PlanError } from "./plan.ts";
import type { ProvisioningInput } from "./provisioning/input.ts";
import { provision } from "./provisioning/provision.ts";

/** Which packing kernel to run: WebAssembly (SIMD when the engine has it), or the pure-TS reference. */
export type KernelChoice = "auto" | "simd" | "scalar" | "reference";

/** Options of `createSolver`. */
export interface SolverOptions {
  /** Default `auto`: WASM SIMD, else WASM scalar, else the TS reference where WebAssembly is unavailable. */
  kernel?: KernelChoice;
}

/**
 * A loaded solver. Calls are synchronous and pure: same input, same plan. They check their input's
 * structure first (`checkProvisioningInput`, `checkDisruptionInput`, `checkDecisionInput`) and never throw on bad input: an
 * object that cannot be read is left out and reported in the plan's `errors`; an input that cannot be
 * read at all gives a plan with nothing in it but those errors.
 */
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
  /**
   * One controller pass: the actions for the cluster state at `now` (see decide/decide.ts). The state,
   * its memory, `now`, the strategy and the options are checked first (`checkDecisionInput`): what
   * cannot be read is left out and reported in `errors`, and the pass decides on the rest; arguments
   * that cannot be read at all give no actions, the memory handed back unchanged, and the errors.
   */
  decide(
    state: DecisionState,
    now: string,
    strategy: Strategy,
    options?: DecideOptions,
  ): Decision & { errors: PlanError[] };
}

/**
 * Loads the kernel once. Async so that a future streaming compile does not change the API; today the
 * inlined module compiles synchronously.
 */
export async function createSolver(options: SolverOptions = {}): Promise<Solver> {
  const kernel = createKernel({ flavor: options.kernel ?? "auto" });
  return {
    kernel: kernel.flavor,
    provision: (raw) => {
      const checked = checkProvisioningInput(raw);
      const errors = toPlanErrors(checked.errors, "ProvisioningInput");
      if (checked.input === undefined) return emptyPlan(errors);
      const plan = provision(kernel, checked.input);
      plan.errors.push(...errors);
      return plan;
    },
    planDisruption: (raw) => {
      const checked = checkDisruptionInput(raw);
      const errors = toPlanErrors(checked.errors, "DisruptionInput");
      if (checked.input === undefined) return emptyDisruptionPlan(errors);
      const plan = planDisruption(kernel, checked.input);
      plan.errors.push(...errors);
      return plan;
    },
    consolidateToFixedPoint: (raw, rawOptions) => {
      const checked = checkDisruptionInput(raw);
      const options = checkLoopOptions(rawOptions);
      const errors = toPlanErrors([...checked.errors, ...options.errors], "DisruptionInput");
      if (checked.input === undefined) {
        const now = typeof (raw as { now?: unknown })?.now === "string" ? (raw as { now: string }).now : "";
        return {
          passes: [],
          initial: { costPerHour: 0, nodes: 0 },
          final: { costPerHour: 0, nodes: 0, at: now },
          evictions: 0,
          converged: true,
          cluster: { nodes: [], pods: [] },
          last: emptyDisruptionPlan(errors),
        };
      }
      const result = consolidateToFixedPoint(kernel, checked.input, options.options);
      result.last.errors.push(...errors);
      return result;
    },
    decide: (raw, now, strategy, options) => {
      const checked = checkDecisionInput(raw, now, strategy, options);
      const errors = toPlanErrors(checked.errors, "DecisionState");
      if (checked.input === undefined) {
        const memory = (raw as { memory?: unknown } | undefined)?.memory;
        return {
          actions: [],
          memory:
            typeof memory === "object" && memory !== null ? (memory as ControllerMemory) : initialMemory(),
          ended: [],
          errors,
        };
      }
      const a = checked.input;
      return { ...decide(kernel, a.state, a.now, a.strategy, a.options), errors };
    },
  };
}

/** The plan for an input that cannot be read at all: nothing planned, and why. */
function emptyPlan(errors: Plan["errors"]): Plan {
  return {
    nodeClaims: [],
    placements: [],
    unschedulable: [],
    cost: { currentPerHour: 0, newPerHour: 0, plannedPerHour: 0, lowerBoundPerHour: 0, ratio: null },
    lowerBound: { method: "none", certificate: null },
    warnings: [],
    errors,
  };
}

/** The disruption plan for an input that cannot be read at all. */
function emptyDisruptionPlan(errors: DisruptionPlan["errors"]): DisruptionPlan {
  return {
    commands: [],
    kept: [],
    cost: { currentPerHour: 0, afterPerHour: 0, lowerBoundPerHour: 0 },
    warnings: [],
    errors,
  };
}
