import { type LabelSelector, type Pod, type PodDisruptionBudget, podKey } from "../model.ts";

/**
 * PodDisruptionBudget arithmetic as Kubernetes' disruption controller computes it
 * (pkg/controller/disruption/disruption.go): expected pods, desired healthy, disruptions allowed.
 */

/** A PDB's state over the pods it selects. */
export interface PdbStatus {
  pdb: string;
  expectedPods: number;
  currentHealthy: number;
  desiredHealthy: number;
  disruptionsAllowed: number;
}

/** Does a pod match a label selector (an empty selector matches every pod)? */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels)) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions) {
    const value = labels[e.key];
    const ok =
      e.operator === "In"
        ? value !== undefined && e.values.includes(value)
        : e.operator === "NotIn"
          ? value === undefined || !e.values.includes(value)
          : e.operator === "Exists"
            ? value !== undefined
            : value === undefined;
    if (!ok) return false;
  }
  return true;
}

/** Pods a PDB selects: same namespace, matching selector, not finished. */
export function podsSelectedBy(pdb: PodDisruptionBudget, pods: readonly Pod[]): Pod[] {
  return pods.filter(
    (p) =>
      p.namespace === pdb.namespace &&
      p.phase !== "Succeeded" &&
      p.phase !== "Failed" &&
      selectorMatches(pdb.selector, p.labels),
  );
}

/** Kubernetes' GetScaledValueFromIntOrPercent with rounding up. */
export function scaledValue(value: number | string, total: number): number {
  if (typeof value === "number") return value;
  const percent = Number(value.slice(0, -1));
  return Math.ceil((percent * total) / 100);
}

/** Computes a PDB's disruptionsAllowed over the given pods (healthy = running, bound, not terminating). */
export function pdbStatus(pdb: PodDisruptionBudget, pods: readonly Pod[]): PdbStatus {
  const selected = podsSelectedBy(pdb, pods);
  const expectedPods = selected.length;
  const currentHealthy = selected.filter(pdbHealthy).length;
  const desiredHealthy = desiredHealthyPods(pdb, expectedPods);
  return {
    pdb: `${pdb.namespace}/${pdb.name}`,
    expectedPods,
    currentHealthy,
    desiredHealthy,
    disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy),
  };
}

/** How many of a PDB's `expectedPods` must stay healthy. */
export function desiredHealthyPods(pdb: PodDisruptionBudget, expectedPods: number): number {
  if (pdb.maxUnavailable !== undefined)
    return Math.max(0, expectedPods - scaledValue(pdb.maxUnavailable, expectedPods));
  if (pdb.minAvailable !== undefined) return scaledValue(pdb.minAvailable, expectedPods);
  // Neither set: the API server defaults minAvailable to 1.
  return 1;
}

/** Is a pod healthy for its PDBs (running, bound, not terminating)? */
export function pdbHealthy(p: Pod): boolean {
  return p.phase === "Running" && p.nodeName !== undefined && !p.terminating;
}

/** A PDB and its selected pods. */
export interface PdbEntry {
  name: string;
  pdb: PodDisruptionBudget;
}

/** PDBs by name, and the PDBs covering each pod key (membership is static: labels never change). */
export interface PdbIndex {
  entries: ReadonlyMap<string, PdbEntry>;
  byPod: ReadonlyMap<string, readonly PdbEntry[]>;
  /** Namespaces with a PDB: pods elsewhere need no lookup. */
  namespaces: ReadonlySet<string>;
}

/** Which pods each PDB selects (same namespace, selector, not finished), indexed by a label to stay fast. */
export function pdbMembership(pdbs: readonly PodDisruptionBudget[], pods: readonly Pod[]): PdbIndex {
  const byNamespace = new Map<string, Pod[]>();
  const byLabel = new Map<string, Map<string, Map<string, Pod[]>>>();
  for (const p of pods) {
    if (p.phase === "Succeeded" || p.phase === "Failed") continue;
    const ns = byNamespace.get(p.namespace);
    if (ns === undefined) byNamespace.set(p.namespace, [p]);
    else ns.push(p);
    let keys = byLabel.get(p.namespace);
    if (keys === undefined) byLabel.set(p.namespace, (keys = new Map()));
    for (const [k, v] of Object.entries(p.labels)) {
      let values = keys.get(k);
      if (values === undefined) keys.set(k, (values = new Map()));
      const list = values.get(v);
      if (list === undefined) values.set(v, [p]);
      else list.push(p);
    }
  }
  const entries = new Map<string, PdbEntry>();
  const byPod = new Map<string, PdbEntry[]>();
  for (const pdb of pdbs) {
    const first = Object.entries(pdb.selector.matchLabels)[0];
    const candidates =
      first === undefined
        ? (byNamespace.get(pdb.namespace) ?? [])
        : (byLabel.get(pdb.namespace)?.get(first[0])?.get(first[1]) ?? []);
    const entry: PdbEntry = { name: `${pdb.namespace}/${pdb.name}`, pdb };
    entries.set(entry.name, entry);
    for (const p of candidates) {
      if (!selectorMatches(pdb.selector, p.labels)) continue;
      const list = byPod.get(podKey(p));
      if (list === undefined) byPod.set(podKey(p), [entry]);
      else list.push(entry);
    }
  }
  // Pods covered by the same PDBs share one list: a workload's pods are then one lookup for callers
  // that remember per list.
  const shared = new Map<string, PdbEntry[]>();
  for (const [pod, list] of byPod) {
    const key = list.map((e) => e.name).join("\n");
    const known = shared.get(key);
    if (known === undefined) shared.set(key, list);
    else byPod.set(pod, known);
  }
  return { entries, byPod, namespaces: new Set(pdbs.map((p) => p.namespace)) };
}
