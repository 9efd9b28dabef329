import { parseQuantity, type QuantityKind } from "@nodeplan/core";
import type { Segment } from "./json-patch.ts";

/**
 * Reading objects as they were written (the loader's `raw` values): rules read the fields they need
 * from what the user wrote, so a finding can point at that field and a fix can patch it.
 */

/** A JSON object as written. */
export type Raw = Record<string, unknown>;

/** True for a plain (non-array) object. */
export const isRaw = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);

/** The value at `path`, or undefined when any step is missing. */
export function at(root: unknown, path: readonly Segment[]): unknown {
  let v: unknown = root;
  for (const s of path) {
    if (Array.isArray(v) && typeof s === "number") v = v[s];
    else if (isRaw(v) && typeof s === "string") v = v[s];
    else return undefined;
  }
  return v;
}

/** The object at `path`, or undefined. */
export const recordAt = (root: unknown, path: readonly Segment[]): Raw | undefined => {
  const v = at(root, path);
  return isRaw(v) ? v : undefined;
};

/** The array at `path` (empty when missing). */
export const listAt = (root: unknown, path: readonly Segment[]): unknown[] => {
  const v = at(root, path);
  return Array.isArray(v) ? v : [];
};

/** The string at `path`, or undefined. */
export const stringAt = (root: unknown, path: readonly Segment[]): string | undefined => {
  const v = at(root, path);
  return typeof v === "string" ? v : undefined;
};

/** The number at `path`, or undefined. */
export const numberAt = (root: unknown, path: readonly Segment[]): number | undefined => {
  const v = at(root, path);
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
};

/** A string map (labels, annotations, nodeSelector) at `path`: string values only. */
export function stringMapAt(root: unknown, path: readonly Segment[]): Record<string, string> {
  const v = recordAt(root, path);
  const out: Record<string, string> = {};
  if (v === undefined) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

/** A quantity as written (`500m`, `1Gi`, 2) in the kind's unit, or undefined when absent or invalid. */
export function quantityAt(root: unknown, path: readonly Segment[], kind: QuantityKind): number | undefined {
  const v = at(root, path);
  if (typeof v !== "string" && typeof v !== "number") return undefined;
  const q = parseQuantity(v, kind);
  return q.ok ? q.value : undefined;
}
