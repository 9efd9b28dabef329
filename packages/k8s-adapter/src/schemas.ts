import type { IssuePath } from "@nodeplan/core";

/**
 * Unknown fields and kinds, found with the published schemas of Kubernetes (`kubernetes-models`) and
 * Karpenter (`@kubernetes-models/karpenter`), not with lists kept here. Those packages ship, for every
 * kind and nested type, a validator compiled from the OpenAPI / CRD schema; a compiled validator reads
 * exactly the properties its schema declares (and enumerates the keys of maps). Running it over an
 * object seen through a recording Proxy tells which keys the schema knows: a key of a recorded object
 * that the validator never read is a field the schema does not have, which is what kubectl reports as
 * `unknown field`. Type errors from those validators are not used: they do not apply the CRDs'
 * defaults (a NodePool without `consolidateAfter` would be "invalid"), and zod checks the fields read.
 */

/** A model class of kubernetes-models: `kind`, `apiVersion`, and a `validate()` that throws. */
export interface ModelClass {
  kind?: unknown;
  apiVersion?: unknown;
  prototype: unknown;
}

/** What the schemas say about an apiVersion/kind. */
export type KindLookup =
  /** A kind of the schemas: `unknownFields` lists the paths of fields it does not declare. */
  | { status: "known"; unknownFields(value: unknown): IssuePath[] }
  /** The apiVersion belongs to Kubernetes or Karpenter, but no such kind exists there. */
  | { status: "unknown_kind"; suggestion?: string }
  /** Not a Kubernetes or Karpenter API group: a custom resource, outside the schemas. */
  | { status: "custom" };

/** The schemas, looked up by apiVersion and kind. */
export interface KindSchemas {
  lookup(apiVersion: string, kind: string): KindLookup;
}

interface Recorded {
  path: IssuePath;
  value: object;
  read: Set<string>;
  enumerated: boolean;
}

/** Wraps `value` so every property read and key enumeration is recorded (nested objects too, lazily). */
function record(value: object, path: IssuePath, out: Recorded[]): object {
  const entry: Recorded = { path, value, read: new Set(), enumerated: false };
  out.push(entry);
  const isArray = Array.isArray(value);
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== "string") return v;
      entry.read.add(key);
      if (v !== null && typeof v === "object" && Object.hasOwn(target, key)) {
        return record(v, [...path, isArray ? Number(key) : key], out);
      }
      return v;
    },
    has(target, key) {
      if (typeof key === "string") entry.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      entry.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/**
 * The fields of `value` that the model's schema does not declare, as paths inside the object.
 * Objects the validator never looked into (free-form objects such as managedFields' fieldsV1, or a
 * field of the wrong type) and maps it enumerated (labels, resource lists) have no unknown fields.
 */
export function unknownFieldsOf(model: ModelClass, value: unknown): IssuePath[] {
  if (value === null || typeof value !== "object") return [];
  const validate = (model.prototype as { validate?: () => void }).validate;
  if (typeof validate !== "function") return [];
  const recorded: Recorded[] = [];
  try {
    validate.call(record(value, [], recorded));
  } catch {
    // A schema violation: zod reports what nodeplan reads; only the unknown fields matter here.
  }
  const out: IssuePath[] = [];
  for (const r of recorded) {
    if (Array.isArray(r.value) || r.enumerated || r.read.size === 0) continue;
    for (const key of Object.keys(r.value))
      if (!r.read.has(key) && !invisible(key)) out.push([...r.path, key]);
  }
  return out;
}

/**
 * Keys the compiled validators never read although the schemas declare them: the packages' generator
 * strips documentation keys, which drops every property named `description` (PriorityClass,
 * CustomResourceDefinition columns) and JSONSchemaProps' `x-kubernetes-*` extensions. A test walks
 * every declared property of both packages and checks that these are the only ones.
 */
const invisible = (key: string) => key === "description" || key.startsWith("x-kubernetes-");

/** The closest name by edit distance (for "did you mean"), when it is close enough to be a typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance || (d === bestDistance && best !== undefined && c < best)) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

const isModel = (v: unknown): v is ModelClass =>
  typeof v === "function" &&
  typeof (v as ModelClass).kind === "string" &&
  typeof (v as ModelClass).apiVersion === "string";

/** Every model class with a kind and apiVersion in module namespaces, walked a few levels deep. */
function modelsIn(namespaces: readonly unknown[]): ModelClass[] {
  const out: ModelClass[] = [];
  const seen = new Set<unknown>();
  let level: unknown[] = [...namespaces];
  // Namespaces nest as package -> group -> version -> class: a bounded walk, no recursion.
  for (let depth = 0; depth < 5 && level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const ns of level) {
      if (ns === null || typeof ns !== "object" || seen.has(ns)) continue;
      seen.add(ns);
      for (const v of Object.values(ns)) {
        if (isModel(v)) out.push(v);
        else if (v !== null && typeof v === "object") next.push(v);
      }
    }
    level = next;
  }
  return out;
}

/**
 * Schemas from already imported module namespaces (`import * as k from "kubernetes-models"`, and
 * the Karpenter models): what a browser bundle uses. An apiVersion none of them has is a custom
 * resource; a missing kind under a known apiVersion is an unknown kind.
 */
export function schemasFromModules(...namespaces: unknown[]): KindSchemas {
  const byVersion = new Map<string, Map<string, ModelClass>>();
  for (const model of modelsIn(namespaces)) {
    const version = model.apiVersion as string;
    const kinds = byVersion.get(version) ?? new Map<string, ModelClass>();
    kinds.set(model.kind as string, model);
    byVersion.set(version, kinds);
  }
  return {
    lookup(apiVersion, kind) {
      const kinds = byVersion.get(apiVersion);
      if (kinds === undefined) return { status: "custom" };
      const model = kinds.get(kind);
      if (model !== undefined) return { status: "known", unknownFields: (v) => unknownFieldsOf(model, v) };
      const suggestion = closest(kind, kinds.keys());
      return suggestion === undefined ? { status: "unknown_kind" } : { status: "unknown_kind", suggestion };
    },
  };
}

/** Imports a module by specifier (the host's `(s) => import(s)`: bare specifiers resolve there). */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

/** The schema packages, in the order an apiVersion is looked up in them. */
export const schemaPackages = ["kubernetes-models", "@kubernetes-models/karpenter"] as const;

// The packages export one subpath per apiVersion (`apps/v1`) and per kind (`apps/v1/Deployment`).
const API_VERSION = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * Schemas for the apiVersion/kind pairs of an input, imported one kind at a time (a Node host:
 * loading every kind of Kubernetes costs over a second, a few kinds a fraction of it). A pair
 * whose kind module does not exist is looked up in its apiVersion's module: there, it is an unknown
 * kind (with the closest kind as suggestion); an apiVersion no package has is a custom resource.
 */
export async function loadSchemas(
  pairs: Iterable<{ apiVersion: string; kind: string }>,
  importModule: ModuleImporter,
): Promise<KindSchemas> {
  const tryImport = async (specifier: string): Promise<Record<string, unknown> | undefined> => {
    try {
      return (await importModule(specifier)) as Record<string, unknown>;
    } catch {
      return undefined; // not exported by the package, or no such file: not part of the schemas
    }
  };
  const results = new Map<string, KindLookup>();
  const versionModules = new Map<string, Promise<Record<string, unknown> | undefined>>();
  const versionModule = (apiVersion: string) => {
    let found = versionModules.get(apiVersion);
    if (found === undefined) {
      found = (async () => {
        if (!API_VERSION.test(apiVersion)) return undefined;
        for (const pkg of schemaPackages) {
          const mod = await tryImport(`${pkg}/${apiVersion}`);
          if (mod !== undefined) return mod;
        }
        return undefined;
      })();
      versionModules.set(apiVersion, found);
    }
    return found;
  };
  const lookupOne = async (apiVersion: string, kind: string): Promise<KindLookup> => {
    if (API_VERSION.test(apiVersion) && KIND.test(kind)) {
      for (const pkg of schemaPackages) {
        const mod = await tryImport(`${pkg}/${apiVersion}/${kind}`);
        const model = mod?.[kind];
        if (isModel(model) && model.kind === kind && model.apiVersion === apiVersion)
          return { status: "known", unknownFields: (v) => unknownFieldsOf(model, v) };
      }
    }
    const mod = await versionModule(apiVersion);
    if (mod === undefined) return { status: "custom" };
    const kinds = modelsIn([mod])
      .filter((m) => m.apiVersion === apiVersion)
      .map((m) => m.kind as string);
    const suggestion = closest(kind, kinds);
    return suggestion === undefined ? { status: "unknown_kind" } : { status: "unknown_kind", suggestion };
  };
  const wanted = new Map<string, { apiVersion: string; kind: string }>();
  for (const p of pairs) wanted.set(`${p.apiVersion}\u0000${p.kind}`, p);
  await Promise.all(
    [...wanted].map(async ([key, p]) => {
      results.set(key, await lookupOne(p.apiVersion, p.kind));
    }),
  );
  return {
    lookup(apiVersion, kind) {
      return results.get(`${apiVersion}\u0000${kind}`) ?? { status: "custom" };
    },
  };
}
