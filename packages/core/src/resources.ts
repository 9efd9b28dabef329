import type { InputError, IssuePath } from "./errors.ts";
import { formatQuantity, parseQuantity, type QuantityKind } from "./quantity.ts";

/**
 * Resource vectors: integer quantities keyed by model name (`cpuMillis`, `memoryBytes`,
 * `ephemeralBytes`, `pods`) or, for extended resources and hugepages, by their Kubernetes name.
 * Every operation is pure and returns a new plain object with its keys sorted, so JSON is stable.
 */

/** A resource vector: model key -> integer amount in that key's unit. A missing key counts as 0. */
export type Resources = Readonly<Record<string, number>>;

/** Model key of cpu, in millicores. */
export const CPU_MILLIS = "cpuMillis";
/** Model key of memory, in bytes. */
export const MEMORY_BYTES = "memoryBytes";
/** Model key of ephemeral-storage, in bytes. */
export const EPHEMERAL_BYTES = "ephemeralBytes";
/** Model key of the pod count. */
export const PODS = "pods";

const modelKeyByK8sName: Readonly<Record<string, string>> = {
  cpu: CPU_MILLIS,
  memory: MEMORY_BYTES,
  "ephemeral-storage": EPHEMERAL_BYTES,
  pods: PODS,
};
const k8sNameByModelKey: Readonly<Record<string, string>> = {
  [CPU_MILLIS]: "cpu",
  [MEMORY_BYTES]: "memory",
  [EPHEMERAL_BYTES]: "ephemeral-storage",
  [PODS]: "pods",
};
// How formatResources orders the well-known resources; everything else follows by name.
const displayOrder: readonly string[] = [CPU_MILLIS, MEMORY_BYTES, EPHEMERAL_BYTES, PODS];

const hugepagesPrefix = "hugepages-";

/** The model key of a Kubernetes resource name: cpu -> cpuMillis, memory -> memoryBytes, ...; others keep their name. */
export function resourceKeyFor(k8sName: string): string {
  return Object.hasOwn(modelKeyByK8sName, k8sName) ? (modelKeyByK8sName[k8sName] ?? k8sName) : k8sName;
}

/** The Kubernetes resource name of a model key: cpuMillis -> cpu, ...; others keep their name. */
export function k8sNameFor(modelKey: string): string {
  return Object.hasOwn(k8sNameByModelKey, modelKey) ? (k8sNameByModelKey[modelKey] ?? modelKey) : modelKey;
}

/** How a Kubernetes resource's quantities are read: cpu in millicores, memory/storage/hugepages in bytes, the rest as counts. */
export function quantityKindFor(k8sName: string): QuantityKind {
  if (k8sName === "cpu") return "cpu";
  if (k8sName === "memory" || k8sName === "ephemeral-storage" || k8sName.startsWith(hugepagesPrefix)) {
    return "bytes";
  }
  return "count";
}

/** A new plain object with the given entries, keys in sorted order. */
function sortedResources(entries: Iterable<readonly [string, number]>): Record<string, number> {
  const list = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, number> = {};
  for (const [key, value] of list) out[key] = value;
  return out;
}

/** The value of `key` in `r`, 0 when missing (own keys only, so "constructor" is not inherited). */
function amount(r: Resources, key: string): number {
  return Object.hasOwn(r, key) ? (r[key] ?? 0) : 0;
}

/** The sorted union of the keys of every vector. */
export function resourceKeys(...vectors: readonly Resources[]): string[] {
  const keys = new Set<string>();
  for (const r of vectors) for (const key of Object.keys(r)) keys.add(key);
  return [...keys].sort();
}

/**
 * Converts a Kubernetes ResourceList (`{ cpu: "500m", memory: "1Gi", "nvidia.com/gpu": 1 }`) into a
 * model vector. Every bad entry is reported at `[...path, name]`; the good ones are kept.
 */
export function parseResourceList(
  list: Readonly<Record<string, string | number>> | undefined,
  path: IssuePath = [],
): { resources: Resources; errors: InputError[] } {
  const entries: [string, number][] = [];
  const errors: InputError[] = [];
  for (const [name, raw] of Object.entries(list ?? {})) {
    // Names that are model keys would silently merge with cpu/memory/ephemeral-storage; Kubernetes
    // rejects unqualified non-standard names in containers anyway.
    if (name === "" || (name !== PODS && Object.hasOwn(k8sNameByModelKey, name))) {
      errors.push({
        code: "invalid_schema",
        path: [...path, name],
        expected: "a Kubernetes resource name such as cpu, memory or nvidia.com/gpu",
      });
      continue;
    }
    const parsed = parseQuantity(raw, quantityKindFor(name), [...path, name]);
    if (parsed.ok) entries.push([resourceKeyFor(name), parsed.value]);
    else errors.push(parsed.error);
  }
  return { resources: sortedResources(entries), errors };
}

/** Combines two vectors key by key over the union of their keys (a missing key counts as 0). */
function combine(a: Resources, b: Resources, op: (x: number, y: number) => number): Record<string, number> {
  return sortedResources(resourceKeys(a, b).map((key) => [key, op(amount(a, key), amount(b, key))] as const));
}

/** a + b, key by key. */
export function addResources(a: Resources, b: Resources): Record<string, number> {
  return combine(a, b, (x, y) => x + y);
}

/** a - b, key by key; results may be negative (callers decide what that means). */
export function subtractResources(a: Resources, b: Resources): Record<string, number> {
  return combine(a, b, (x, y) => x - y);
}

/** The larger of a and b, key by key. */
export function maxResources(a: Resources, b: Resources): Record<string, number> {
  return combine(a, b, (x, y) => Math.max(x, y));
}

/**
 * a × k, key by key (k is usually a replica count). A fractional product is rounded up so a scaled
 * request is never under-counted.
 */
export function scaleResources(a: Resources, k: number): Record<string, number> {
  // `+ 0` turns the -0 that Math.ceil gives for small negatives into 0.
  return sortedResources(Object.keys(a).map((key) => [key, Math.ceil(amount(a, key) * k) + 0] as const));
}

/**
 * The keys of `requests` that do not fit in `allocatable`, sorted. A resource missing from
 * allocatable counts as 0, so a GPU request never fits a node that does not declare GPUs; a request
 * of 0 (or less) always fits, as in Kubernetes' NodeResourcesFit, even where allocatable is negative.
 */
export function exceededResources(requests: Resources, allocatable: Resources): string[] {
  const exceeded: string[] = [];
  for (const key of Object.keys(requests)) {
    const requested = amount(requests, key);
    if (requested > 0 && requested > amount(allocatable, key)) exceeded.push(key);
  }
  return exceeded.sort();
}

/** True when every request fits in `allocatable` (see `exceededResources`). */
export function fits(requests: Resources, allocatable: Resources): boolean {
  return exceededResources(requests, allocatable).length === 0;
}

/** True when every amount is 0 (an empty vector is zero). */
export function isZero(r: Resources): boolean {
  return Object.keys(r).every((key) => amount(r, key) === 0);
}

/**
 * A short readable line such as "cpu 1930m, memory 6903Mi, pods 29": Kubernetes names and
 * quantities, cpu/memory/ephemeral-storage/pods first, then the rest by name; "none" when empty.
 */
export function formatResources(r: Resources): string {
  const keys = resourceKeys(r);
  const ordered = [
    ...displayOrder.filter((key) => keys.includes(key)),
    ...keys.filter((key) => !displayOrder.includes(key)),
  ];
  if (ordered.length === 0) return "none";
  return ordered
    .map((key) => {
      const name = k8sNameFor(key);
      return `${name} ${formatQuantity(amount(r, key), quantityKindFor(name))}`;
    })
    .join(", ");
}
