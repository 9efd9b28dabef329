/**
 * The doctor's output shapes (../shared/CONTRACTS.md "Doctor finding"), extended only by optional
 * fields: where an object is (`document`, `item`, `line`), what a fix adds beside its patch (`add`).
 */

/** How bad a finding is; `--fail-on` compares against it. */
export type Severity = "error" | "warning" | "info";

/** Severities from the most to the least severe (the order of the text output and of sorting). */
export const severities: readonly Severity[] = ["error", "warning", "info"];

/** One object a finding is about, and where it was written. */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
  /** The file (or text) the object came from. */
  file?: string;
  /** Its document in that file, from 0 (a `List` is one document). */
  document?: number;
  /** Its index in the document's `items`, when the document is a `List`. */
  item?: number;
  /** The field the finding points at, as kubectl prints it: `spec.template.spec.containers[0].resources`. */
  path?: string;
  /** The line of that field (or of the object) in the file, from 1, when the host knows the text. */
  line?: number;
}

/** One RFC 6902 JSON Patch operation; `path` and `from` are JSON Pointers (RFC 6901). */
export type JsonPatchOperation =
  | { op: "add"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "replace"; path: string; value: unknown }
  | { op: "move"; from: string; path: string }
  | { op: "copy"; from: string; path: string }
  | { op: "test"; path: string; value: unknown };

/**
 * How to fix a finding. `patch` is a JSON Patch (RFC 6902) against `objects[0]` of the finding as it
 * is written in its manifest (the document, or the `List` item): pointers start at the object's root
 * (`/spec/replicas`). Some fixes are a new object (a missing PodDisruptionBudget): `add` holds the
 * manifests to add beside it. Applying both removes the finding.
 */
export interface Fix {
  description: string;
  patch: JsonPatchOperation[];
  add?: Record<string, unknown>[];
}

/** What a finding costs, where the solver can say it. */
export interface Effect {
  /** $/h consolidation would save with the blocker relaxed as the fix relaxes it (the controller's loop, run to its fixed point). */
  savingsBlockedPerHour?: number;
  /** Pods of the objects that no NodePool can take (the provisioning plan's unschedulable pods). */
  podsUnschedulable?: number;
  /** Replicas between what the NodePools' limits can hold and the HPA's maxReplicas. */
  replicasUnreachable?: number;
}

/** One finding. */
export interface Finding {
  /** Stable rule id, never renamed. */
  rule: string;
  severity: Severity;
  title: string;
  message: string;
  /** The Karpenter, Kubernetes, EKS or Argo CD page that backs the rule. */
  docs: string;
  /** The objects it is about; the first is the one the fix patches and the one its id names. */
  objects: ObjectRef[];
  fix?: Fix;
  effect?: Effect;
}

/** Counts for people, CI and a metric. */
export interface DoctorSummary {
  findings: number;
  bySeverity: Record<Severity, number>;
  /** Findings per rule id (rules without findings left out), sorted by id. */
  byRule: Record<string, number>;
  /** Findings an annotation `nodeplan.io/ignore-<rule>: "<why>"` exempted (not in `findings`). */
  exempted: number;
  /** Rules checked. */
  rules: number;
  /** $/h consolidation would save with every blocker found relaxed at once (not the sum of findings: blockers overlap). */
  savingsBlockedPerHour?: number;
  /** Pods no NodePool can take, over all findings. */
  podsUnschedulable?: number;
  /** Replicas HPAs can never reach, over all findings. */
  replicasUnreachable?: number;
}

/** What `nodeplan doctor -o json` prints. */
export interface DoctorReport {
  findings: Finding[];
  summary: DoctorSummary;
}
