import { formatPath, type IssuePath } from "@nodeplan/core";

/** Things the adapter accepted but the user should know about. Extend by adding codes. */
export type LoadWarningCode =
  | "priority_class_not_found"
  | "persistent_volume_claim_not_found"
  | "storage_class_not_found"
  | "match_fields_ignored"
  | "consolidation_policy_unsupported"
  | "creation_time_unknown"
  /** A field the Kubernetes or Karpenter schema does not have (a typo: `reque}ts`). */
  | "unknown_field"
  /** A kind its apiVersion does not have (a typo: `]eployment`); the object is ignored. */
  | "unknown_kind";

/** A load warning as data; `renderLoadWarning` makes its sentence. */
export interface LoadWarning {
  code: LoadWarningCode;
  source: string;
  path: IssuePath;
  object: string;
  /** The name the warning is about (a PriorityClass, a claim, a policy, a field). */
  value?: string;
  /** The closest known name, for a typo. */
  suggestion?: string;
}

const sentences: Record<LoadWarningCode, (value: string, suggestion: string | undefined) => string> = {
  priority_class_not_found: (v) => `PriorityClass "${v}" is not in the input; priority 0 is used`,
  persistent_volume_claim_not_found: (v) =>
    `PersistentVolumeClaim "${v}" is not in the input; its volume's zone is not known`,
  storage_class_not_found: (v) =>
    `StorageClass "${v}" is not in the input; its allowed topologies are not known`,
  match_fields_ignored: () => "node affinity matchFields (pinning to a node by name) is ignored",
  consolidation_policy_unsupported: (v) =>
    `consolidationPolicy ${v} is not supported; WhenEmptyOrUnderutilized is used`,
  creation_time_unknown: () => "no creationTimestamp and no `now` option; the Unix epoch is used",
  unknown_field: (v) => `unknown field "${v}" (not in the schema; ignored)`,
  unknown_kind: (v, s) =>
    `unknown kind ${v}${s === undefined ? "" : ` (did you mean ${s}?)`}; the object is ignored`,
};

/** Where a path points: `file, document 2, items[3]` and the field inside the object. */
function locate(source: string, path: IssuePath): { where: string; field: IssuePath } {
  const [doc, ...rest] = path;
  if (typeof doc !== "number") return { where: source, field: path };
  let where = `${source}, document ${doc + 1}`;
  while (rest[0] === "items" && typeof rest[1] === "number") {
    where += `, items[${rest[1]}]`;
    rest.splice(0, 2);
  }
  return { where, field: rest };
}

/** Renders a load warning as one sentence (the only place warning text is made). */
export function renderLoadWarning(warning: LoadWarning): string {
  const { where, field } = locate(warning.source, warning.path);
  const text = sentences[warning.code](warning.value ?? "", warning.suggestion);
  // Unknown fields and kinds name their path in the sentence itself.
  const shown = warning.code === "unknown_field" || warning.code === "unknown_kind" ? "" : formatPath(field);
  return [where, warning.object, shown, text].filter((s) => s !== "").join(": ");
}
