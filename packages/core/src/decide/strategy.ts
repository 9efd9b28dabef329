import type { Kernel } from "@nodeplan/solver-wasm";
import type { Plan } from "../plan.ts";
import type { ProvisioningInput } from "../provisioning/input.ts";
import { provision } from "../provisioning/provision.ts";
import { karpenterProvision } from "./karpenter-provisioner.ts";

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
 * Karpenter's provisioning (`karpenterProvision`, karpenter-provisioner.ts, the bench's baseline): its
 * queue order, existing and in-flight nodes first, then the claims opened in the pass, then a new claim
 * per NodePool by weight; preferences relaxed as Karpenter relaxes them. The kernel is not used.
 */
export const karpenterProvisioning: ProvisioningStrategy = {
  name: "karpenter",
  provision: (_kernel, input) => karpenterProvision(input),
};

/**
 * Karpenter's algorithm: its scheduler for provisioning, and Karpenter core v1.14's disruption
 * (emptiness, one drifted node, multi-node prefix search over <= 100 candidates, single-node first
 * success).
 */
export const karpenterStrategy: Strategy = {
  name: "karpenter",
  provisioning: karpenterProvisioning,
  disruption: "karpenter",
  description:
    "Karpenter v1.14's scheduler for provisioning (existing and in-flight nodes first, then first fit into new claims by NodePool weight) and its disruption (multi-node prefix search, single-node first success)",
};

/** The strategies by name. */
export const strategies: Readonly<Record<"nodeplan" | "karpenter", Strategy>> = {
  nodeplan: nodeplanStrategy,
  karpenter: karpenterStrategy,
};
