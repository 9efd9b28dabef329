import { createKernel, type Kernel } from "@nodeplan/solver-wasm";
import type { DisruptionInput } from "./disruption/input.ts";
import { planDisruption } from "./disruption/plan-disruption.ts";
import { checkDisruptionInput, checkProvisioningInput, toPlanErrors } from "./input-check.ts";
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

/**
 * A loaded solver. Calls are synchronous and pure: same input, same plan. They check their input's
 * structure first (`checkProvisioningInput`, `checkDisruptionInput`) and never throw on bad input: an
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
      if (checked.input === undefined)
        return {
          commands: [],
          kept: [],
          cost: { currentPerHour: 0, afterPerHour: 0, lowerBoundPerHour: 0 },
          warnings: [],
          errors,
        };
      const plan = planDisruption(kernel, checked.input);
      plan.errors.push(...errors);
      return plan;
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
