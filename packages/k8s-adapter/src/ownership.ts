import { type LabelSelector, matchesLabelSelector, type Pod } from "@nodeplan/core";

/** A set of objects keyed by namespace, kind and name (nested maps: no string keys to split again). */
export class ObjectKeys {
  private readonly byNamespace = new Map<string, Map<string, Set<string>>>();

  add(namespace: string, kind: string, name: string): void {
    let kinds = this.byNamespace.get(namespace);
    if (kinds === undefined) {
      kinds = new Map();
      this.byNamespace.set(namespace, kinds);
    }
    let names = kinds.get(kind);
    if (names === undefined) {
      names = new Set();
      kinds.set(kind, names);
    }
    names.add(name);
  }

  has(namespace: string, kind: string, name: string): boolean {
    return this.byNamespace.get(namespace)?.get(kind)?.has(name) === true;
  }
}

/** A workload of the input that owns pods: its kind, identity and pod selector. */
export interface WorkloadRef {
  kind: string;
  namespace: string;
  name: string;
  selector?: LabelSelector | null | undefined;
}

/** Workload kinds whose controller adopts orphan pods matching its selector (ReplicaSet, StatefulSet). */
const ADOPTING = new Set(["Deployment", "ReplicaSet", "StatefulSet"]);

/**
 * The workloads that have pods of their own in the input, as Kubernetes' controllers see them: a
 * pod's controller owner reference; a Deployment through its ReplicaSet `<deployment>-<pod-template-hash>`
 * (the ReplicaSet need not be in the input: `kubectl get deploy,po`); and an orphan pod (no owner)
 * whose labels a Deployment, ReplicaSet or StatefulSet selector matches, which that controller adopts.
 */
export function podOwners(pods: readonly Pod[], workloads: readonly WorkloadRef[]): ObjectKeys {
  const owners = new ObjectKeys();
  const adopters = new Map<string, WorkloadRef[]>();
  for (const w of workloads) {
    if (!ADOPTING.has(w.kind) || w.selector === null || w.selector === undefined) continue;
    const list = adopters.get(w.namespace) ?? [];
    list.push(w);
    adopters.set(w.namespace, list);
  }
  for (const pod of pods) {
    const owner = pod.owner;
    if (owner !== undefined) {
      owners.add(pod.namespace, owner.kind, owner.name);
      const hash = pod.labels["pod-template-hash"];
      if (owner.kind === "ReplicaSet" && hash !== undefined && owner.name.endsWith(`-${hash}`))
        owners.add(pod.namespace, "Deployment", owner.name.slice(0, -hash.length - 1));
      continue;
    }
    // A Deployment's selector does not select the pod-template-hash, so an orphan matches it too.
    for (const w of adopters.get(pod.namespace) ?? [])
      if (Object.keys(pod.labels).length > 0 && matchesLabelSelector(w.selector, pod.labels))
        owners.add(w.namespace, w.kind, w.name);
  }
  return owners;
}
