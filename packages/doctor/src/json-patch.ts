import type { JsonPatchOperation } from "./finding.ts";

/**
 * JSON Patch (RFC 6902) over JSON Pointers (RFC 6901): the format of every fix. `applyJsonPatch` is a
 * complete applier (add, remove, replace, move, copy, test) so a fix can be checked by applying it;
 * `setOperation` builds the one operation that sets a field whatever of its path already exists.
 */

/** A JSON Pointer path segment: an object key, or an array index (`-` appends). */
export type Segment = string | number;

/** The JSON Pointer of a path: `["metadata", "annotations", "a/b"]` -> `/metadata/annotations/a~1b`. */
export function pointer(path: readonly Segment[]): string {
  return path.map((s) => `/${String(s).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/** The segments of a JSON Pointer (strings; array indices are read as such where an array is met). */
export function parsePointer(text: string): string[] {
  if (text === "") return [];
  if (!text.startsWith("/"))
    throw new JsonPatchError(`"${text}" is not a JSON Pointer (it must start with /)`);
  return text
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** A patch that cannot be applied: a path that is not there, a failed test, a bad index. */
export class JsonPatchError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function arrayIndex(array: unknown[], segment: string, forAdd: boolean): number {
  if (forAdd && segment === "-") return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(segment)) throw new JsonPatchError(`"${segment}" is not an array index`);
  const index = Number(segment);
  if (index > array.length || (!forAdd && index === array.length))
    throw new JsonPatchError(`index ${index} is out of range (length ${array.length})`);
  return index;
}

/** The container holding the pointer's last segment, and that segment. */
function parentOf(doc: unknown, path: string): { parent: unknown; key: string } {
  const segments = parsePointer(path);
  const key = segments.pop();
  if (key === undefined) throw new JsonPatchError("the root cannot be the target of this operation");
  let at: unknown = doc;
  for (const s of segments) {
    if (Array.isArray(at)) at = at[arrayIndex(at, s, false)];
    else if (isObject(at) && Object.hasOwn(at, s)) at = at[s];
    else throw new JsonPatchError(`${path}: "${s}" does not exist`);
  }
  return { parent: at, key };
}

function valueAt(doc: unknown, path: string): unknown {
  let at: unknown = doc;
  for (const s of parsePointer(path)) {
    if (Array.isArray(at)) at = at[arrayIndex(at, s, false)];
    else if (isObject(at) && Object.hasOwn(at, s)) at = at[s];
    else throw new JsonPatchError(`${path}: "${s}" does not exist`);
  }
  return at;
}

function add(doc: unknown, path: string, value: unknown): unknown {
  if (path === "") return value;
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value);
  else if (isObject(parent)) parent[key] = value;
  else throw new JsonPatchError(`${path}: the parent is not an object or array`);
  return doc;
}

function remove(doc: unknown, path: string): unknown {
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false), 1);
  else if (isObject(parent) && Object.hasOwn(parent, key)) delete parent[key];
  else throw new JsonPatchError(`${path}: nothing to remove`);
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}

/**
 * Applies a JSON Patch to a copy of `document` (the input is not changed) and returns the result.
 * Operations apply in order; any failure throws a JsonPatchError and nothing is returned (RFC 6902 §5).
 */
export function applyJsonPatch<T>(document: T, patch: readonly JsonPatchOperation[]): T {
  let doc: unknown = clone(document);
  for (const op of patch) {
    switch (op.op) {
      case "add":
        doc = add(doc, op.path, clone(op.value));
        break;
      case "remove":
        doc = remove(doc, op.path);
        break;
      case "replace":
        valueAt(doc, op.path);
        doc = op.path === "" ? clone(op.value) : add(remove(doc, op.path), op.path, clone(op.value));
        break;
      case "move": {
        if (op.path.startsWith(`${op.from}/`))
          throw new JsonPatchError(`cannot move ${op.from} into one of its own children`);
        const value = valueAt(doc, op.from);
        doc = add(remove(doc, op.from), op.path, value);
        break;
      }
      case "copy":
        doc = add(doc, op.path, clone(valueAt(doc, op.from)));
        break;
      case "test":
        if (!deepEqual(valueAt(doc, op.path), op.value))
          throw new JsonPatchError(`test failed: ${op.path} is not ${JSON.stringify(op.value)}`);
        break;
    }
  }
  return doc as T;
}

/**
 * The one operation that sets `path` in `root` to `value`: `replace` when the field exists, `add` of
 * the field when its parent exists, else `add` of the first missing ancestor holding the rest of the
 * path (objects, or a one-element array where the next segment is `-` or an index). A value in the
 * way that cannot hold the rest of the path (a string where an object is needed) is replaced.
 */
export function setOperation(root: unknown, path: readonly Segment[], value: unknown): JsonPatchOperation {
  const build = (from: number) => {
    let built: unknown = value;
    for (let j = path.length - 1; j >= from; j--) {
      const next = path[j] as Segment;
      built = next === "-" || typeof next === "number" ? [built] : { [next]: built };
    }
    return built;
  };
  let at: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const s = path[i] as Segment;
    const fits = Array.isArray(at) ? s === "-" || typeof s === "number" : isObject(at);
    if (!fits) return { op: "replace", path: pointer(path.slice(0, i)), value: build(i) };
    const exists = Array.isArray(at)
      ? typeof s === "number" && s < at.length
      : Object.hasOwn(at as Record<string, unknown>, String(s));
    if (!exists) return { op: "add", path: pointer(path.slice(0, i + 1)), value: build(i + 1) };
    at = Array.isArray(at) ? at[s as number] : (at as Record<string, unknown>)[String(s)];
  }
  return { op: "replace", path: pointer(path), value };
}
