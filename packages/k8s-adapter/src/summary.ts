import type { ClusterState } from "@nodeplan/core";
import type { InputNotice, InputNoticeCode } from "./documents.ts";
import type { IgnoredBecause, ManifestGraph } from "./graph.ts";

/** What a load read, ignored and rejected, in counts (the one line every run ends with). */
export interface LoadSummary {
  /** Files (or texts) given. */
  inputs: number;
  documents: number;
  objects: number;
  /** Objects in the model, by kind, sorted by kind. */
  loaded: { kind: string; count: number }[];
  /** Objects not used, by kind and reason, most first. */
  ignored: { kind: string; count: number; because: IgnoredBecause }[];
  /** Objects an error names (not used). */
  rejected: number;
  pods: {
    /** Pods in the model. */
    total: number;
    /** Of them, made from workloads' templates (Deployment x replicas). */
    synthesized: number;
    /** Pending and provisionable: what the plan places. */
    pending: number;
    /** Pod objects with no status at all (a manifest, not a dump), taken as pending. */
    withoutStatus: number;
    /** Pending pods kube-scheduler has not marked Unschedulable (or gated, nominated): not planned. */
    notProvisionable: number;
  };
  /** Inputs or documents not read as Kubernetes objects. */
  notRead: InputNotice[];
}

/** Counts a load's graph and cluster. */
export function summarize(
  graph: ManifestGraph,
  cluster: ClusterState,
  inputs: number,
  withoutStatus: number,
): LoadSummary {
  const loaded = new Map<string, number>();
  const ignored = new Map<string, { kind: string; count: number; because: IgnoredBecause }>();
  let rejected = 0;
  for (const o of graph.objects) {
    const kind = o.kind ?? "(no kind)";
    if (o.outcome === "loaded") loaded.set(kind, (loaded.get(kind) ?? 0) + 1);
    else if (o.outcome === "rejected") rejected++;
    else {
      const because = o.ignored ?? "not_used";
      const key = `${because}/${kind}`;
      const entry = ignored.get(key) ?? { kind, count: 0, because };
      entry.count++;
      ignored.set(key, entry);
    }
  }
  let synthesized = 0;
  let pending = 0;
  let notProvisionable = 0;
  for (const p of cluster.pods) {
    if (p.nodeName !== undefined || p.terminating || p.daemonSet) continue;
    if (p.phase !== "Pending") continue;
    if (p.provisionable) pending++;
    else notProvisionable++;
  }
  for (const o of graph.objects) if (o.kind !== "Pod" && o.outcome === "loaded") synthesized += o.pods ?? 0;
  const byKind = (a: { kind: string }, b: { kind: string }) =>
    a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0;
  return {
    inputs,
    documents: graph.documents.length,
    objects: graph.objects.length,
    loaded: [...loaded].map(([kind, count]) => ({ kind, count })).sort(byKind),
    ignored: [...ignored.values()].sort((a, b) => b.count - a.count || byKind(a, b)),
    rejected,
    pods: { total: cluster.pods.length, synthesized, pending, withoutStatus, notProvisionable },
    notRead: graph.notices,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

const because: Record<IgnoredBecause, string> = {
  custom_resource: "custom resource: the pods it makes are not known",
  not_used: "not used for planning",
  unknown_kind: "unknown kind",
};

const noticeWords: Record<InputNoticeCode, string> = {
  empty_input: "empty",
  not_kubernetes: "not a Kubernetes object",
  helm_template: "a Helm template",
  kustomization: "a kustomization",
};

/** The summary as one line: what was read, what became pods, what was ignored and why. */
export function renderLoadSummary(s: LoadSummary): string {
  const parts = [
    `read ${plural(s.inputs, "file")}, ${plural(s.objects, "object")}${
      s.loaded.length === 0 ? "" : ` (${s.loaded.map((k) => `${k.count} ${k.kind}`).join(", ")})`
    }`,
    `${plural(s.pods.total, "pod")}${s.pods.synthesized > 0 ? ` (${s.pods.synthesized} from workload templates)` : ""}, ${s.pods.pending} pending${
      s.pods.notProvisionable > 0
        ? `, ${s.pods.notProvisionable} pending but not yet marked Unschedulable (not planned)`
        : ""
    }`,
  ];
  if (s.ignored.length > 0)
    parts.push(
      `ignored ${s.ignored
        .map(
          (i, n) =>
            `${n === 0 ? plural(i.count, "object") : i.count} of kind ${i.kind} (${because[i.because]})`,
        )
        .join(", ")}`,
    );
  if (s.rejected > 0) parts.push(`rejected ${plural(s.rejected, "object")} (errors above)`);
  if (s.notRead.length > 0) {
    const bySource = new Map<string, InputNoticeCode>();
    for (const n of s.notRead) if (!bySource.has(n.source)) bySource.set(n.source, n.code);
    const shown = [...bySource].slice(0, 5).map(([source, code]) => `${source} (${noticeWords[code]})`);
    parts.push(`not read: ${shown.join(", ")}${bySource.size > 5 ? ` and ${bySource.size - 5} more` : ""}`);
  }
  return parts.join("; ");
}
