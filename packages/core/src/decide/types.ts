import type { DisruptionOptions, DriftInput } from "../disruption/input.ts";
import type {
  DaemonSet,
  InstanceType,
  InterruptionEvent,
  Node,
  NodePool,
  Pod,
  PodDisruptionBudget,
  Taint,
} from "../model.ts";
import type { DisruptionCommand, DisruptionPlan, Plan, PlannedNodeClaim } from "../plan.ts";
import type { UnavailableOffering } from "../providers.ts";

/**
 * The decision step's world (ARCHITECTURE.md "One decision step, two worlds"): what a controller pass
 * knows. The controller fills it from informers and its own memory; the simulator from its simulated
 * cluster. Everything is a value: `decide` reads it and returns actions and the next memory.
 */

/** A pod as the decision step sees it: the model's pod plus the two things a controller tracks about it. */
export type DecisionPod = Pod & {
  /** When it became pending (created unbound, or its node went): the batch window counts from it. */
  pendingSince?: string;
  /**
   * The node a previous pass nominated it to (an in-flight claim or an existing node the provisioning
   * plan put it on): Karpenter's nomination. That node is not a disruption candidate while it holds.
   */
  nominatedNode?: string;
};

/** A claim whose launch failed since the last pass (the launcher's answer to a `launch` action). */
export interface LaunchFailure {
  /** The NodeClaim's name. */
  claim: string;
  /** The provider's error code (AWS: InsufficientInstanceCapacity, ...). */
  code: string;
  message: string;
  /** Offerings the provider says have no capacity now: they go into the unavailable-offerings cache. */
  unavailable: readonly { instanceType: string; zone: string; capacityType: string }[];
  /** When it failed (RFC 3339). */
  at: string;
}

/** Where a disruption command is (Karpenter's orchestration queue, in steps a pass can take). */
export type CommandPhase =
  /** Found by a pass; waits out the validation period, then is re-simulated on fresh state. */
  | "validating"
  /** Candidates tainted, replacements launched; waits for them to initialize. */
  | "launching"
  /** Candidates being drained (their pods evicted through the eviction API) and deleted. */
  | "draining";

/** A disruption command a controller is carrying out. */
export interface CommandInProgress {
  /** Unique within a controller's life (`cmd-<n>`). */
  id: string;
  phase: CommandPhase;
  command: DisruptionCommand;
  /** Final names of the replacements (launched or to launch), in the command's order. */
  replacements: PlannedNodeClaim[];
  /** When a pass found it. */
  decidedAt: string;
  /** validating: when the re-validation runs. */
  validateAt?: string;
  /** When its candidates were tainted and its replacements launched. */
  startedAt?: string;
  /** When its candidates started draining. */
  drainingSince?: string;
}

/** What a controller remembers between passes (the decision step returns the next one). */
export interface ControllerMemory {
  commands: CommandInProgress[];
  /** When provisioning last ran. */
  lastProvisioningAt?: string;
  /** When graceful disruption was last planned (Karpenter polls every 10 s). */
  lastDisruptionAt?: string;
  /**
   * Every NodePool's budget allowed nothing at the last look: until when (a budget window's end), or
   * "never" (a budget of 0 with no schedule, or nothing drifted where only drift could act).
   */
  gatedUntil?: string;
  /**
   * The last disruption pass that found nothing: when, the cluster's `changedAt` then, and when
   * something it was blocked by lifts. Until the cluster changes or that time comes, nothing is re-planned
   * (Karpenter's consolidation state, with an exact wake-up instead of only its 5-minute timeout).
   */
  consolidated?: { at: string; changedAt: string; wakeAt: string };
  /** Counters that make names unique across passes. */
  nextCommand: number;
  nextClaim: number;
}

/** A fresh controller's memory. */
export function initialMemory(): ControllerMemory {
  return { commands: [], nextCommand: 0, nextClaim: 0 };
}

/** The cluster and the controller's memory at one pass. Model objects are validated (see model.ts). */
export interface DecisionState {
  /** Registered nodes and in-flight claims (`inFlight: true`, `createdAt` = when the claim was launched). */
  nodes: readonly Node[];
  /** Every pod: bound and pending. */
  pods: readonly DecisionPod[];
  nodePools: readonly NodePool[];
  /** Instance types per NodePool as the catalog source gives them (unavailable offerings not yet removed). */
  instanceTypes: Readonly<Record<string, readonly InstanceType[]>>;
  daemonSets?: readonly DaemonSet[];
  pdbs?: readonly PodDisruptionBudget[];
  namespaces?: readonly { name: string; labels: Readonly<Record<string, string>> }[];
  /** The unavailable-offerings cache (Karpenter's ICE cache): entries past `until` are ignored. */
  unavailableOfferings?: readonly UnavailableOffering[];
  /** Provider interruption events received and not yet expired. */
  interruptions?: readonly InterruptionEvent[];
  /** The provider's drift detector and node classes. */
  drift?: DriftInput;
  /** Launches that failed since the last pass. */
  launchFailures?: readonly LaunchFailure[];
  /**
   * When the cluster last changed in a way disruption depends on (a node or pod added, removed or
   * moved, an interruption, a node class): Karpenter's consolidation state.
   */
  changedAt: string;
  memory: ControllerMemory;
}

/** Something the host does for the decision step. */
export type Action =
  /** Create the NodeClaim and launch its instance (the launcher picks the cheapest available option). */
  | { type: "launch"; claim: PlannedNodeClaim; purpose: "provisioning" | "replacement"; command?: string }
  /** Record that a pending pod is expected on this node (in-flight claim or existing node). */
  | { type: "nominate"; pod: string; node: string }
  /** Taint a node (the disruption taint: nothing new schedules there). */
  | { type: "taint"; node: string; taint: Taint; command: string }
  /** Remove the taint with this key (an aborted command). */
  | { type: "untaint"; node: string; key: string; command: string }
  /** Evict a pod through the eviction API (a PDB may refuse; the next pass asks again). */
  | { type: "evict"; pod: string; node: string; command: string }
  /** Delete the NodeClaim and terminate its instance (the node must be drained, or `force`). */
  | {
      type: "delete";
      node: string;
      reason: "disrupted" | "launch_failed" | "registration_timeout";
      command?: string;
      /** Past the NodePool's terminationGracePeriod: pods still there are deleted with it. */
      force?: boolean;
    }
  /** Put an offering in the unavailable-offerings cache until `until`. */
  | { type: "mark_unavailable"; offering: UnavailableOffering }
  /** A Kubernetes Event on an object. */
  | {
      type: "event";
      object: { kind: "Pod" | "Node" | "NodeClaim" | "NodePool"; name: string };
      reason: string;
      message: string;
      warning?: boolean;
    };

/** Options of a pass. Durations in seconds; defaults are Karpenter's. */
export interface DecideOptions {
  /** The batch window closes once no new pending pod came for this long (BATCH_IDLE_DURATION, 1 s). */
  batchIdleSeconds?: number;
  /** ... or once it has been open this long (BATCH_MAX_DURATION, 10 s). */
  batchMaxSeconds?: number;
  /** Pending pods a provisioning pass could not place (or whose nomination lapsed) are tried again after this long (10 s: kube-scheduler's max backoff). */
  provisioningRetrySeconds?: number;
  /** Wait before a consolidation command is re-validated on fresh state and acted on (15 s). */
  validationSeconds?: number;
  /** A command whose replacements have not initialized after this long is abandoned (10 min). */
  replacementTimeoutSeconds?: number;
  /** A claim with no Node after this long is deleted (Karpenter's registration TTL, 15 min). */
  registrationTimeoutSeconds?: number;
  /** How long a failed offering stays in the unavailable-offerings cache (Karpenter's ICE cache, 3 min). */
  unavailableOfferingSeconds?: number;
  /** Pods still on a draining node are evicted again after this long (a refused eviction is retried). */
  evictionRetrySeconds?: number;
  /** With nothing to do, disruption is re-planned at least this often even when nothing changed (5 min). */
  consolidationRecheckSeconds?: number;
  /** Graceful disruption is planned at most this often (Karpenter's disruption polling period, 10 s). */
  disruptionPollSeconds?: number;
  /** Disruption planning on (default true). */
  disruption?: boolean;
  /** Passed to the disruption planner (strategy comes from the Strategy). */
  disruptionOptions?: Omit<DisruptionOptions, "strategy" | "maxWaves" | "lowerBound">;
  /** Names of new claims; default `<nodePool>-<n>` with n counting across passes (memory.nextClaim). */
  claimName?: (nodePool: string, n: number) => string;
}

/** What a pass decided. */
export interface Decision {
  actions: Action[];
  memory: ControllerMemory;
  /** When the step wants to run again even if nothing changes (undefined: only on a change). */
  wakeAt?: string;
  /** The provisioning plan of this pass, when provisioning ran. */
  plan?: Plan;
  /** The disruption plan of this pass, when disruption was planned. */
  disruption?: DisruptionPlan;
  /** Commands that ended this pass and why: completed, or dropped (re-validation, a replacement lost). */
  ended: { id: string; method: DisruptionCommand["method"]; outcome: "completed" | "dropped"; why: string }[];
}
