import type { DaemonSet, InterruptionEvent, Node, NodePool, Pod, PodDisruptionBudget } from "../model.ts";
import type { DriftDetector } from "../providers.ts";
import type { ProvisioningInput } from "../provisioning/input.ts";

/** Default anti-churn thresholds: a replacement must save at least this much to be worth the churn. */
export const DEFAULT_MIN_SAVINGS_PER_HOUR = 0.001;
/** Default relative threshold: savings of at least 1% of the price of the nodes removed. */
export const DEFAULT_MIN_SAVINGS_PERCENT = 1;

/** Options of a disruption plan. */
export interface DisruptionOptions {
  /**
   * `nodeplan` (default): global N->M consolidation with the packing kernel as simulator.
   * `karpenter`: Karpenter core v1.14's algorithm (multi-node prefix search over <= 100 candidates,
   * N->0 or N->1, then single-node first success), one command per wave, run to its fixed point.
   */
  strategy?: "nodeplan" | "karpenter";
  /** A consolidation must save at least this many $/h (default 0.001; emptiness always qualifies). */
  minSavingsPerHour?: number;
  /** ... and at least this percentage of the removed nodes' price (default 1; 0 disables). */
  minSavingsPercent?: number;
  /** Karpenter's SpotToSpotConsolidation feature gate (default false). */
  spotToSpotConsolidation?: boolean;
  /** Act on rebalance recommendations as interruptions (default false: only recorded). */
  rebalanceRecommendations?: boolean;
  /**
   * How a wave may use a PDB. `serial` (default): Kubernetes' eviction API lets a PDB's evictions
   * through one at a time as evicted pods become healthy elsewhere, so a wave may drain any number of
   * a PDB's pods as long as the PDB allows at least one disruption when it starts (Karpenter's own
   * candidate rule). `strict`: a wave's evictions per PDB never exceed its disruptionsAllowed.
   */
  pdbEvictions?: "serial" | "strict";
  /** Stop after this many waves (default: run to the fixed point, bounded at 1,000). */
  maxWaves?: number;
  /**
   * Prove a lower bound on the cluster after the plan (default true): one more simulation of the whole
   * cluster. When false, `cost.lowerBoundPerHour` is 0 (the trivial bound).
   */
  lowerBound?: boolean;
}

/** The drift hook: the provider's detector and the node classes it compares nodes against. */
export interface DriftInput<NodeClass = unknown> {
  detector: DriftDetector<NodeClass>;
  /** Node classes by name (the NodePool's `template.nodeClassRef.name`). */
  nodeClasses?: Readonly<Record<string, NodeClass>>;
}

/** What `planDisruption` plans over: the cluster now. Validated model objects (see model.ts). */
export interface DisruptionInput {
  /** Existing nodes and in-flight claims; pods are bound to them through `pod.nodeName`. */
  nodes: readonly Node[];
  /** Every pod: bound ones and pending ones. */
  pods: readonly Pod[];
  nodePools: readonly NodePool[];
  /** Instance types per NodePool name, or one list for all (as in provisioning). */
  instanceTypes: ProvisioningInput["instanceTypes"];
  daemonSets?: readonly DaemonSet[];
  pdbs?: readonly PodDisruptionBudget[];
  interruptions?: readonly InterruptionEvent[];
  drift?: DriftInput;
  /**
   * Nodes pending pods are about to use, node name -> the pod (`ns/name`): those a provisioning plan
   * placed pending pods on, and kube-scheduler's `status.nominatedNodeName`. Not candidates
   * (Karpenter: a node nominated for a pod is not disrupted).
   */
  nominated?: Readonly<Record<string, string>>;
  /** RFC 3339; time is an input, never read from a clock. */
  now: string;
  options?: DisruptionOptions;
}
