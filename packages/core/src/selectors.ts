import { cmp } from "./compare.ts";
import type { InputError, IssuePath } from "./errors.ts";
import type { LabelSelector } from "./model.ts";
import { isQualifiedName, isValidLabelValue } from "./well-known-labels.ts";

/**
 * Kubernetes LabelSelector (apimachinery metav1): matchLabels ANDed with matchExpressions over
 * In, NotIn, Exists, DoesNotExist. Used by pod (anti-)affinity, topology spread and PDBs.
 */

/** Operators a label selector expression may use. */
export const labelSelectorOperators = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

/** A label selector operator. */
export type LabelSelectorOperator = (typeof labelSelectorOperators)[number];

/** One label selector expression. */
export type LabelSelectorRequirement = LabelSelector["matchExpressions"][number];

/** The outcome of `parseLabelSelector`: the selector (null when absent) or every error found. */
export type LabelSelectorResult =
  | { ok: true; selector: LabelSelector | null }
  | { ok: false; errors: InputError[] };

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function shown(value: unknown): string {
  return (typeof value === "string" ? value : (JSON.stringify(value) ?? String(value))).slice(0, 64);
}

/**
 * Validates a raw label selector as Kubernetes does: qualified keys, valid label values, a known
 * operator, values for In/NotIn and none for Exists/DoesNotExist. `null`/`undefined` is a valid absent
 * selector (which matches nothing). Errors carry `invalid_label_selector` and the offending path.
 */
export function parseLabelSelector(raw: unknown, path: IssuePath = []): LabelSelectorResult {
  if (raw === undefined || raw === null) return { ok: true, selector: null };
  const errors: InputError[] = [];
  const err = (sub: IssuePath, expected: string, value?: unknown) => {
    const e: InputError = { code: "invalid_label_selector", path: [...path, ...sub], expected };
    if (value !== undefined) e.value = shown(value);
    errors.push(e);
  };
  if (!isRecord(raw)) {
    err([], "an object with matchLabels and/or matchExpressions", raw);
    return { ok: false, errors };
  }
  const matchLabels: Record<string, string> = {};
  if (raw.matchLabels !== undefined && raw.matchLabels !== null) {
    if (!isRecord(raw.matchLabels)) err(["matchLabels"], "a map of label keys to values", raw.matchLabels);
    else {
      for (const [key, value] of Object.entries(raw.matchLabels)) {
        if (!isQualifiedName(key))
          err(["matchLabels", key], "a qualified label key such as example.com/name", key);
        if (typeof value !== "string" || !isValidLabelValue(value)) {
          err(["matchLabels", key], "a label value (at most 63 alphanumerics, '-', '_', '.')", value);
        } else matchLabels[key] = value;
      }
    }
  }
  const matchExpressions: LabelSelectorRequirement[] = [];
  if (raw.matchExpressions !== undefined && raw.matchExpressions !== null) {
    if (!Array.isArray(raw.matchExpressions))
      err(["matchExpressions"], "a list of expressions", raw.matchExpressions);
    else {
      raw.matchExpressions.forEach((expr: unknown, i: number) => {
        const at: IssuePath = ["matchExpressions", i];
        if (!isRecord(expr)) {
          err(at, "an object with key, operator and values", expr);
          return;
        }
        const before = errors.length;
        const { key, operator, values } = expr;
        if (typeof key !== "string" || !isQualifiedName(key)) {
          err([...at, "key"], "a qualified label key such as example.com/name", key);
        }
        const op =
          typeof operator === "string" && (labelSelectorOperators as readonly string[]).includes(operator)
            ? (operator as LabelSelectorOperator)
            : undefined;
        if (op === undefined) err([...at, "operator"], labelSelectorOperators.join(", "), operator);
        const list: string[] = [];
        if (values !== undefined && values !== null) {
          if (!Array.isArray(values)) err([...at, "values"], "a list of label values", values);
          else {
            values.forEach((v: unknown, j: number) => {
              if (typeof v !== "string" || !isValidLabelValue(v))
                err([...at, "values", j], "a label value", v);
              else list.push(v);
            });
          }
        }
        const count = Array.isArray(values) ? values.length : 0;
        if ((op === "In" || op === "NotIn") && count === 0)
          err([...at, "values"], `at least one value for ${op}`);
        if ((op === "Exists" || op === "DoesNotExist") && count > 0)
          err([...at, "values"], `no values for ${op}`);
        if (errors.length === before) {
          matchExpressions.push({ key: key as string, operator: op as LabelSelectorOperator, values: list });
        }
      });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, selector: { matchLabels, matchExpressions } };
}

function matchesExpression(e: LabelSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const value = Object.hasOwn(labels, e.key) ? labels[e.key] : undefined;
  switch (e.operator) {
    case "In":
      return value !== undefined && e.values.includes(value);
    case "NotIn":
      return value === undefined || !e.values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
  }
}

/**
 * Does the label map match the selector? An empty selector matches everything; an absent (null or
 * undefined) selector matches nothing, as an affinity term without a labelSelector does in Kubernetes.
 */
export function matchesLabelSelector(
  selector: LabelSelector | null | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === null || selector === undefined) return false;
  for (const key of Object.keys(selector.matchLabels)) {
    if (!Object.hasOwn(labels, key) || labels[key] !== selector.matchLabels[key]) return false;
  }
  return selector.matchExpressions.every((e) => matchesExpression(e, labels));
}

/** The canonical form of an absent selector (cannot collide: `<` is not allowed in label keys). */
export const NOTHING_SELECTOR_KEY = "<nothing>";

/**
 * A canonical string for grouping selectors that mean the same thing: matchLabels become `key in (v)`,
 * values are sorted and de-duplicated, requirements sorted and de-duplicated, joined with `,` in
 * Kubernetes' selector syntax (`k in (a,b)`, `k notin (a)`, `k`, `!k`). An empty selector is `""`
 * (everything), an absent one `NOTHING_SELECTOR_KEY`.
 */
export function labelSelectorKey(selector: LabelSelector | null | undefined): string {
  if (selector === null || selector === undefined) return NOTHING_SELECTOR_KEY;
  // Each requirement's text with the label key it is on (the text is unique: it names the key).
  const parts = new Map<string, string>();
  for (const key of Object.keys(selector.matchLabels))
    parts.set(`${key} in (${selector.matchLabels[key]})`, key);
  for (const e of selector.matchExpressions) {
    const values = [...new Set(e.values)].sort().join(",");
    if (e.operator === "In") parts.set(`${e.key} in (${values})`, e.key);
    else if (e.operator === "NotIn") parts.set(`${e.key} notin (${values})`, e.key);
    else if (e.operator === "Exists") parts.set(e.key, e.key);
    else parts.set(`!${e.key}`, e.key);
  }
  // Sort on the key first so `a` and `!a` stay next to each other whatever their prefix sorts as.
  return [...parts]
    .sort(([x, kx], [y, ky]) => cmp(kx, ky) || cmp(x, y))
    .map(([text]) => text)
    .join(",");
}
