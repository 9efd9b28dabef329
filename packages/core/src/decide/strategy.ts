import type { Kernel } from "@nodeplan/solver-wasm";
import type { Plan } from "../plan.ts";
import type { ProvisioningInput } from "../provisioning/input.ts";
import { provision } from "../provisioning/provision.ts";

/**
 * How new capacity is chosen for pending pods. A provisioning strategy takes what `provision` takes and
 * returns a Plan (CONTRACTS.md): the claims to launch, where each pending pod goes, what is
 * unschedulable. The kernel is there for strategies that pack with it.
 */
export interface ProvisioningStrategy {
  readonly name: string;
  provision(kernel: Kernel, input: ProvisioningInput): Plan;
}

/** An autoscaler's algorithm: how it provisions and how it disrupts. */
export interface Strategy {
  readonly name: string;
  readonly provisioning: ProvisioningStrategy;
  /** The disruption planner's strategy (DisruptionOptions.strategy). */
  readonly disruption: "nodeplan" | "karpenter";
  /** Said wherever results of this strategy are shown: what it is, and any stand-in it uses. */
  readonly description: string;
}

/** nodeplan's provisioning: the packing kernel, the pattern stage, the proven bound. */
export const nodeplanProvisioning: ProvisioningStrategy = {
  name: "nodeplan",
  provision,
};

/** nodeplan's algorithm: kernel packing for provisioning, global N->M consolidation for disruption. */
export const nodeplanStrategy: Strategy = {
  name: "nodeplan",
  provisioning: nodeplanProvisioning,
  disruption: "nodeplan",
  description: "kernel-packed provisioning, N->M consolidation that pays for itself at every step",
};

/**
 * Karpenter's algorithm. Disruption is Karpenter core v1.14's (emptiness, one drifted node, multi-node
 * prefix search over <= 100 candidates, single-node first success). Karpenter's provisioner is in core
 * (`karpenterProvision`, karpenter-provisioner.ts: the bench's baseline) but plans new claims only: it
 * does not yet place pending pods on existing nodes and in-flight claims nor return a Plan, so this
 * strategy still provisions with nodeplan's (its description says so).
 */
export const karpenterStrategy: Strategy = {
  name: "karpenter",
  provisioning: nodeplanProvisioning,
  disruption: "karpenter",
  description:
    "Karpenter v1.14's disruption (multi-node prefix search, single-node first success); provisioning is nodeplan's until Karpenter's provisioner in core plans over existing and in-flight nodes",
};

/** The strategies by name. */
export const strategies: Readonly<Record<"nodeplan" | "karpenter", Strategy>> = {
  nodeplan: nodeplanStrategy,
  karpenter: karpenterStrategy,
};
