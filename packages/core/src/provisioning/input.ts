import type { DaemonSet, InstanceType, Node, NodePool, Pod } from "../model.ts";

/** Options of a provisioning solve. */
export interface ProvisioningOptions {
  /** Instance types listed per NodeClaim (Karpenter core's default 600). */
  maxInstanceTypes?: number;
  /** Run the kernel's improvement phase (default true). */
  improve?: boolean;
  /**
   * Run the pattern stage where the plan is visibly above the resource bound (default true): a tighter
   * bound and a second packing guided by it. Simulations that only compare candidate sets turn it off.
   */
  patterns?: boolean;
  /** Candidate shapes the kernel scores per new bin (0 = all; default 24). */
  candidateShapes?: number;
  /**
   * Karpenter's preferencePolicy: Respect (default) schedules preferences as requirements first and
   * relaxes them one step per failure; Ignore drops them.
   */
  preferencePolicy?: "Respect" | "Ignore";
  /**
   * Karpenter's minValuesPolicy: Strict (default) launches no claim whose options miss a NodePool
   * requirement's minValues (its pods stay pending); BestEffort launches it annotated
   * `karpenter.sh/nodeclaim-min-values-relaxed: "true"`.
   */
  minValuesPolicy?: "Strict" | "BestEffort";
  /** Name generator for new claims; default `<nodePool>-<n>` counting from 0 in plan order. */
  claimName?: (nodePool: string, index: number) => string;
  /**
   * Prove the exact bound of small problems (at most 60 pods on new claims) by enumeration (default
   * true). Simulations that only need the plan (disruption) turn it off.
   */
  exactBound?: boolean;
  /**
   * Prove a lower bound on the new capacity (default true). Simulations that only compare candidate
   * sets turn it off: the plan's bound is then 0 (the trivial bound) with no certificate.
   */
  bound?: boolean;
  /**
   * Split the existing nodes' cost by what is paid for in `cost.breakdown.current` (default true).
   * Simulations that read only the new capacity's cost turn it off: the split is then all zero.
   */
  currentBreakdown?: boolean;
}

/** What `provision` plans for. Instance types are given per NodePool name, or one list for all. */
export interface ProvisioningInput {
  pods: readonly Pod[];
  nodes: readonly Node[];
  nodePools: readonly NodePool[];
  instanceTypes: readonly InstanceType[] | Readonly<Record<string, readonly InstanceType[]>>;
  daemonSets?: readonly DaemonSet[];
  /** Namespace labels, for namespaceSelector in pod (anti-)affinity terms. */
  namespaces?: readonly { name: string; labels: Readonly<Record<string, string>> }[];
  /** RFC 3339; time is an input, never read from a clock. */
  now: string;
  options?: ProvisioningOptions;
}

/**
 * The instance types a NodePool may use, before its requirements are applied: the input lists them per
 * NodePool, or once for all. Provisioning and disruption inputs share the shape.
 */
export function instanceTypesFor(
  input: Pick<ProvisioningInput, "instanceTypes">,
  nodePool: string,
): readonly InstanceType[] {
  const its = input.instanceTypes;
  if (Array.isArray(its)) return its;
  return (its as Readonly<Record<string, readonly InstanceType[]>>)[nodePool] ?? [];
}

/** Pods the solver provisions for: pending, unbound, not DaemonSet pods, not being deleted. */
export function isProvisionable(pod: Pod): boolean {
  return pod.provisionable && pod.nodeName === undefined && !pod.daemonSet && !pod.terminating;
}
