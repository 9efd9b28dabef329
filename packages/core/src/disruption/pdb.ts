import { deeplyFrozen } from "../frozen.ts";
import { ListFacts } from "../list-facts.ts";
import type { LabelSelector, Pod, PodDisruptionBudget } from "../model.ts";

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

/** PDBs by name, and the PDBs covering each pod (membership is static: labels never change). */
export interface PdbIndex {
  entries: ReadonlyMap<string, PdbEntry>;
  /** The PDBs covering `pod` (none for a finished pod); pods covered by the same PDBs share one list. */
  of(pod: Pod): readonly PdbEntry[];
  /** Namespaces with a PDB: pods elsewhere need no lookup. */
  namespaces: ReadonlySet<string>;
  /** Per PDB (by name) the pods it covers among `pods` (`expected`) and how many are healthy (`pdbHealthy`). */
  count(pods: readonly Pod[]): { expected: Map<string, number>; healthy: Map<string, number> };
}

const NO_ENTRIES: readonly PdbEntry[] = Object.freeze([]);

/**
 * Which pods each PDB selects (same namespace, selector, not finished), found when asked. A pod's PDBs
 * depend only on its namespace and labels: they are found once per labels object (a workload's replicas
 * share their template's) and, when the PDBs and the labels are deeply frozen, remembered across
 * indexes; other labels objects are remembered by this index only.
 */
export function pdbMembership(pdbs: readonly PodDisruptionBudget[]): PdbIndex {
  const c = coverage(pdbs);
  // Labels objects that may change are remembered for this index only.
  const local = new Map<object, Map<string, readonly PdbEntry[]>>();
  const of = (p: Pod): readonly PdbEntry[] => {
    if (p.phase === "Succeeded" || p.phase === "Failed" || !c.namespaces.has(p.namespace)) return NO_ENTRIES;
    const cache = c.byLabels !== undefined && deeplyFrozen(p.labels) ? c.byLabels : local;
    let byNamespace = cache.get(p.labels);
    if (byNamespace === undefined) cache.set(p.labels, (byNamespace = new Map()));
    let list = byNamespace.get(p.namespace);
    if (list === undefined) {
      const found = c.list.filter(
        (e) => e.pdb.namespace === p.namespace && selectorMatches(e.pdb.selector, p.labels),
      );
      // Pods covered by the same PDBs share one list: callers remember per list.
      const key = found.map((e) => e.name).join("\n");
      list = c.shared.get(key);
      if (list === undefined) c.shared.set(key, (list = found.length === 0 ? NO_ENTRIES : found));
      byNamespace.set(p.namespace, list);
    }
    return list;
  };
  // A pod's fact: its list of PDBs (by position in `c.lists`) and whether it is healthy, in the low bit.
  const fact = (p: Pod): number => {
    const list = of(p);
    let id = c.listIds.get(list);
    if (id === undefined) {
      id = c.lists.length;
      c.lists.push(list);
      c.listIds.set(list, id);
    }
    return id * 2 + (pdbHealthy(p) ? 1 : 0);
  };
  const count = (pods: readonly Pod[]) => {
    const expected = new Map<string, number>();
    const healthy = new Map<string, number>();
    if (c.list.length === 0) return { expected, healthy };
    const perList = new Map<number, { pods: number; healthy: number }>();
    c.facts.each(pods, fact, (_p, f) => {
      const id = f >> 1;
      if (id === 0) return;
      let k = perList.get(id);
      if (k === undefined) perList.set(id, (k = { pods: 0, healthy: 0 }));
      k.pods++;
      k.healthy += f & 1;
    });
    for (const [id, k] of perList)
      for (const e of c.lists[id] as readonly PdbEntry[]) {
        expected.set(e.name, (expected.get(e.name) ?? 0) + k.pods);
        healthy.set(e.name, (healthy.get(e.name) ?? 0) + k.healthy);
      }
    return { expected, healthy };
  };
  return { entries: c.entries, of, namespaces: c.namespaces, count };
}

/** The PDBs as entries, and what is remembered about them. */
interface Coverage {
  entries: Map<string, PdbEntry>;
  list: readonly PdbEntry[];
  namespaces: ReadonlySet<string>;
  shared: Map<string, readonly PdbEntry[]>;
  /** Per deeply frozen labels object, its PDBs by namespace; undefined when the PDBs may change. */
  byLabels: WeakMap<object, Map<string, readonly PdbEntry[]>> | undefined;
  /** The shared lists by number (0: no PDB), for `facts`. */
  lists: (readonly PdbEntry[])[];
  listIds: Map<readonly PdbEntry[], number>;
  /**
   * Each pod's list number and health along the pod lists counted (`PdbIndex.count`), pass after pass
   * when the PDBs are deeply frozen: a wave then compares pointers instead of looking up 20k pods' labels.
   */
  facts: ListFacts<Pod>;
}

const coverages = new WeakMap<readonly PodDisruptionBudget[], Coverage>();

function coverage(pdbs: readonly PodDisruptionBudget[]): Coverage {
  const lasting = deeplyFrozen(pdbs);
  const known = lasting ? coverages.get(pdbs) : undefined;
  if (known !== undefined) return known;
  const list = pdbs.map((pdb): PdbEntry => ({ name: `${pdb.namespace}/${pdb.name}`, pdb }));
  const c: Coverage = {
    entries: new Map(list.map((e) => [e.name, e])),
    list,
    namespaces: new Set(pdbs.map((p) => p.namespace)),
    shared: new Map(),
    byLabels: lasting ? new WeakMap() : undefined,
    lists: [NO_ENTRIES],
    listIds: new Map([[NO_ENTRIES, 0]]),
    facts: new ListFacts(),
  };
  if (lasting) coverages.set(pdbs, c);
  return c;
}
