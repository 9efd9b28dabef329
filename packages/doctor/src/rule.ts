import type { NodePool, Plan, Pod, PodDisruptionBudget, Solver, UnschedulableReason } from "@nodeplan/core";
import type { Effect, Fix, Severity } from "./finding.ts";
import type { DoctorGraph, Hpa, Obj, Workload } from "./graph.ts";
import type { Segment } from "./json-patch.ts";

/**
 * A rule is data (id, severity, title, why, docs) plus a check over the graph. A check returns drafts:
 * the message, the objects (the first is the one the fix patches), the fix, and what the solver can
 * say about its cost: a blocker to relax for savings, or pods and replicas counted from a plan.
 */

/** The model a savings run plans over, and what a blocker's relaxation changes. */
export interface Relaxable {
  pods: readonly Pod[];
  nodePools: readonly NodePool[];
  pdbs: readonly PodDisruptionBudget[];
}

/**
 * Something that keeps consolidation from saving money: the pods or NodePools it protects (to tell
 * which commands of the relaxed run it was holding back) and the model with it relaxed as the fix
 * relaxes it.
 */
export interface Blocker {
  /** Pods (`ns/name`) it keeps from being evicted. */
  pods?: ReadonlySet<string>;
  /** NodePools whose nodes it keeps. */
  pools?: ReadonlySet<string>;
  relax(model: Relaxable): Relaxable;
}

/** An object a draft names, and the field it points at. */
export interface Named {
  obj: Obj;
  path?: Segment[];
}

/** A finding before exemptions, effects and sorting. */
export interface Draft {
  message: string;
  /** The objects it is about; `objects[0]` is what the fix patches. */
  objects: Named[];
  fix?: Fix;
  blocker?: Blocker;
  effect?: Effect;
}

/** The solver's answers a check may ask for, each computed once per run and only when asked. */
export interface Plans {
  /** The provisioning plan of the cluster as loaded (what `nodeplan plan` prints). */
  current(): Plan;
  /** Unschedulable pods of the current plan, by the workload that owns them. */
  unschedulable(w: Workload): { pod: Pod; reason: UnschedulableReason }[];
  /**
   * The provisioning plan with this HPA's target at its maxReplicas (the rest as loaded), and the
   * target's pods in it (`ns/name`: its own and the added replicas).
   */
  atMaxReplicas(hpa: Hpa): { plan: Plan; pods: ReadonlySet<string> } | undefined;
  /** CPU capacity (millis) each NodePool holds with every HPA at its maxReplicas (existing and new nodes). */
  poolCpuAtMax(): ReadonlyMap<string, number>;
}

/** What a check reads. */
export interface CheckContext {
  graph: DoctorGraph;
  /** Every rule id (an exemption naming another id is a mistake). */
  ruleIds: ReadonlySet<string>;
  plans: Plans;
  solver: Solver;
  now: string;
}

/** A rule: data, and a check over the graph. */
export interface Rule {
  /** Stable id, never renamed (the exemption annotation is `nodeplan.io/ignore-<id>`). */
  id: string;
  severity: Severity;
  title: string;
  /** Why it matters, in a sentence or three. */
  why: string;
  /** The Karpenter, Kubernetes, EKS or Argo CD page that backs it. */
  docs: string;
  /** The effect its findings carry, when the solver can say it. */
  effect?: keyof Effect;
  check(ctx: CheckContext): Draft[];
}

/** Plural helper for messages. */
export const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
