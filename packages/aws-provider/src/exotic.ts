import type { InstanceType } from "@nodeplan/core";
import { awsLabels } from "./labels.ts";
import { awsResourceNames } from "./resource-names.ts";

/**
 * Exotic instance types: launched only for pods that nothing else serves.
 *
 * Karpenter's AWS provider drops, at launch, the options of a NodeClaim that are bare metal or carry
 * GPUs or accelerators (nvidia.com/gpu, amd.com/gpu, aws.amazon.com/neuron, aws.amazon.com/neuroncore,
 * habana.ai/gaudi), unless that would drop every option, and keeps them all when the NodeClaim has
 * minValues (A: pkg/providers/instance/filter/filter.go ExoticInstanceTypeFilter). nodeplan applies the
 * same rule when it plans (core: a type marked `exotic` serves only pods no other type serves) and
 * adds the families that need a quota of their own before any account can launch them: high memory
 * (`u-*`, `u7i*`: category `u`) and HPC (`hpc*`). The AWS provider does not filter those; a plan that
 * reaches for them by price fails at launch on a default account.
 */

/** The extended resources that make a type exotic, as in Karpenter's filter. */
export const EXOTIC_RESOURCES: readonly string[] = Object.freeze([
  awsResourceNames.nvidiaGpu,
  awsResourceNames.amdGpu,
  awsResourceNames.neuron,
  awsResourceNames.neuronCore,
  awsResourceNames.habanaGaudi,
]);

/** Instance categories with a quota of their own (high memory, HPC). */
export const SPECIAL_QUOTA_CATEGORIES: readonly string[] = Object.freeze(["u", "hpc"]);

/** Karpenter's rule alone: bare metal, or GPUs / accelerators. */
export function isKarpenterExotic(type: Pick<InstanceType, "labels" | "capacity" | "allocatable">): boolean {
  if ((type.labels[awsLabels.instanceSize] ?? "").includes("metal")) return true;
  return EXOTIC_RESOURCES.some((r) => (type.capacity[r] ?? type.allocatable[r] ?? 0) > 0);
}

/** nodeplan's rule: Karpenter's, plus the special-quota families. */
export function isExoticInstanceType(
  type: Pick<InstanceType, "labels" | "capacity" | "allocatable">,
): boolean {
  return (
    isKarpenterExotic(type) ||
    SPECIAL_QUOTA_CATEGORIES.includes(type.labels[awsLabels.instanceCategory] ?? "")
  );
}

/** The types with `exotic` set by nodeplan's rule (types already marked keep their mark). */
export function markExotic(types: readonly InstanceType[]): InstanceType[] {
  return types.map((t) => (t.exotic === undefined && isExoticInstanceType(t) ? { ...t, exotic: true } : t));
}
