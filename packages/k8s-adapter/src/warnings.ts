import { formatPath, type IssuePath } from "@nodeplan/core";

/** Things the adapter accepted but the user should know about. Extend by adding codes. */
export type LoadWarningCode =
  | "priority_class_not_found"
  | "persistent_volume_claim_not_found"
  | "storage_class_not_found"
  | "match_fields_ignored"
  | "consolidation_policy_unsupported"
  | "creation_time_unknown";

/** A load warning as data; `renderLoadWarning` makes its sentence. */
export interface LoadWarning {
  code: LoadWarningCode;
  source: string;
  path: IssuePath;
  object: string;
  /** The name the warning is about (a PriorityClass, a claim, a policy). */
  value?: string;
}

const sentences: Record<LoadWarningCode, (value: string) => string> = {
  priority_class_not_found: (v) => `PriorityClass "${v}" is not in the input; priority 0 is used`,
  persistent_volume_claim_not_found: (v) =>
    `PersistentVolumeClaim "${v}" is not in the input; its volume's zone is not known`,
  storage_class_not_found: (v) =>
    `StorageClass "${v}" is not in the input; its allowed topologies are not known`,
  match_fields_ignored: () => "node affinity matchFields (pinning to a node by name) is ignored",
  consolidation_policy_unsupported: (v) =>
    `consolidationPolicy ${v} is not supported; WhenEmptyOrUnderutilized is used`,
  creation_time_unknown: () => "no creationTimestamp and no `now` option; the Unix epoch is used",
};

/** Renders a load warning as one sentence (the only place warning text is made). */
export function renderLoadWarning(warning: LoadWarning): string {
  const field = formatPath(warning.path);
  return `${warning.source}: ${warning.object}: ${field === "" ? "" : `${field}: `}${sentences[warning.code](warning.value ?? "")}`;
}
