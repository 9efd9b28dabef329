import type { InputError, IssuePath } from "./errors.ts";
import type { Taint, Toleration } from "./model.ts";
import { isQualifiedName, isValidLabelValue } from "./well-known-labels.ts";

/**
 * Taints and tolerations with Kubernetes' matching rule (k8s.io/api core/v1 Toleration.ToleratesTaint)
 * and Karpenter's own taints (kubernetes-sigs/karpenter pkg/apis/v1/taints.go).
 */

/** Taint effects. */
export const taintEffects = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/** A taint effect. */
export type TaintEffect = (typeof taintEffects)[number];

/** `karpenter.sh/disrupted`: Karpenter's taint on nodes it is disrupting. */
export const DISRUPTED_TAINT_KEY = "karpenter.sh/disrupted";
/** `karpenter.sh/unregistered`: on nodes Karpenter launched until they register. */
export const UNREGISTERED_TAINT_KEY = "karpenter.sh/unregistered";

/** `karpenter.sh/disrupted:NoSchedule`: keeps new pods off a node being disrupted or terminated. */
export const DISRUPTED_NO_SCHEDULE_TAINT: Readonly<Taint> = Object.freeze({
  key: DISRUPTED_TAINT_KEY,
  effect: "NoSchedule",
});

/** `karpenter.sh/unregistered:NoExecute`: on a launched node until Karpenter has synced its labels and taints. */
export const UNREGISTERED_NO_EXECUTE_TAINT: Readonly<Taint> = Object.freeze({
  key: UNREGISTERED_TAINT_KEY,
  effect: "NoExecute",
});

/**
 * Kubernetes' rule: an effect on the toleration must equal the taint's (empty matches all effects); a
 * key must equal the taint's (empty matches all keys, which validation only allows with Exists);
 * Exists ignores the value, Equal (the default operator) compares values, absent meaning "".
 */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== taint.effect) return false;
  if (toleration.key !== undefined && toleration.key !== "" && toleration.key !== taint.key) return false;
  const operator = toleration.operator ?? "Equal";
  if (operator === "Exists") return true;
  return operator === "Equal" && (toleration.value ?? "") === (taint.value ?? "");
}

/** Does any of the tolerations tolerate the taint? */
export function toleratesAny(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => toleratesTaint(t, taint));
}

/** Which taint effects `untoleratedTaints` checks. */
export interface TaintCheckOptions {
  /**
   * Effects that keep a pod off a node. Default NoSchedule and NoExecute; add PreferNoSchedule to check
   * it too, as Karpenter does until its last preference relaxation tolerates it.
   */
  effects?: readonly TaintEffect[];
}

const DEFAULT_EFFECTS: readonly TaintEffect[] = Object.freeze(["NoSchedule", "NoExecute"]);

/** The taints (in order) with a checked effect that no toleration tolerates; empty when the pod may land. */
export function untoleratedTaints(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
  options: TaintCheckOptions = {},
): Taint[] {
  const effects = options.effects ?? DEFAULT_EFFECTS;
  return taints.filter((taint) => effects.includes(taint.effect) && !toleratesAny(tolerations, taint));
}

/** Same key and effect: the identity Kubernetes (MatchTaint) and Karpenter use to de-duplicate taints. */
export function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

/** `key=value:Effect` (or `key:Effect`), kubectl's form; for logs and reason fields. */
export function formatTaint(taint: Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ""}:${taint.effect}`;
}

/** The outcome of parsing one taint or toleration. */
export type TaintParseResult<T> = { ok: true; value: T } | { ok: false; errors: InputError[] };

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function shown(value: unknown): string {
  return (typeof value === "string" ? value : (JSON.stringify(value) ?? String(value))).slice(0, 64);
}

function collector(code: "invalid_taint" | "invalid_toleration", path: IssuePath) {
  const errors: InputError[] = [];
  const err = (sub: IssuePath, expected: string, value?: unknown) => {
    const e: InputError = { code, path: [...path, ...sub], expected };
    if (value !== undefined) e.value = shown(value);
    errors.push(e);
  };
  return { errors, err };
}

/**
 * Validates a raw taint as Kubernetes validates node taints: a qualified key, an optional label value,
 * and one of the three effects (required). `timeAdded` is accepted and dropped.
 */
export function parseTaint(raw: unknown, path: IssuePath = []): TaintParseResult<Taint> {
  const { errors, err } = collector("invalid_taint", path);
  if (!isRecord(raw)) {
    err([], "an object with key, value and effect", raw);
    return { ok: false, errors };
  }
  const { key, value, effect } = raw;
  if (typeof key !== "string" || !isQualifiedName(key))
    err(["key"], "a qualified key such as example.com/name", key);
  if (value !== undefined && value !== null && (typeof value !== "string" || !isValidLabelValue(value))) {
    err(["value"], "a label value (at most 63 alphanumerics, '-', '_', '.')", value);
  }
  if (typeof effect !== "string" || !(taintEffects as readonly string[]).includes(effect)) {
    err(["effect"], taintEffects.join(", "), effect);
  }
  if (errors.length > 0) return { ok: false, errors };
  const taint: Taint = { key: key as string, effect: effect as TaintEffect };
  if (typeof value === "string" && value !== "") taint.value = value;
  return { ok: true, value: taint };
}

/**
 * Validates a raw list of taints; also rejects a repeated key and effect pair, as Kubernetes and
 * Karpenter do. Returns the valid taints and an error per invalid one.
 */
export function parseTaints(raw: unknown, path: IssuePath = []): { taints: Taint[]; errors: InputError[] } {
  if (raw === undefined || raw === null) return { taints: [], errors: [] };
  if (!Array.isArray(raw)) {
    return { taints: [], errors: [{ code: "invalid_taint", path: [...path], expected: "a list of taints" }] };
  }
  const taints: Taint[] = [];
  const errors: InputError[] = [];
  raw.forEach((entry, i) => {
    const result = parseTaint(entry, [...path, i]);
    if (!result.ok) errors.push(...result.errors);
    else if (taints.some((t) => sameTaint(t, result.value))) {
      errors.push({
        code: "invalid_taint",
        path: [...path, i],
        value: formatTaint(result.value),
        expected: "a key and effect pair not already used",
      });
    } else taints.push(result.value);
  });
  return { taints, errors };
}

/**
 * Validates a raw toleration as Kubernetes does: a key, if set, is a qualified name; an empty key needs
 * operator Exists; Exists takes no value; Equal's value is a label value; effect, if set, is one of
 * the three; tolerationSeconds (an integer) only with NoExecute.
 */
export function parseToleration(raw: unknown, path: IssuePath = []): TaintParseResult<Toleration> {
  const { errors, err } = collector("invalid_toleration", path);
  if (!isRecord(raw)) {
    err([], "an object with key, operator, value and effect", raw);
    return { ok: false, errors };
  }
  const { key, operator, value, effect, tolerationSeconds } = raw;
  const keyText = key === undefined || key === null ? "" : key;
  if (typeof keyText !== "string" || (keyText !== "" && !isQualifiedName(keyText))) {
    err(["key"], "a qualified key such as example.com/name, or empty", key);
  }
  const op = operator === undefined || operator === null || operator === "" ? "Equal" : operator;
  if (op !== "Equal" && op !== "Exists") err(["operator"], "Equal or Exists", operator);
  if (keyText === "" && op !== "Exists") err(["operator"], "Exists when the key is empty", operator ?? "");
  const valueText = value === undefined || value === null ? "" : value;
  if (typeof valueText !== "string") err(["value"], "a string", value);
  else if (op === "Exists" && valueText !== "") err(["value"], "no value with operator Exists", value);
  else if (op === "Equal" && !isValidLabelValue(valueText)) err(["value"], "a label value", value);
  const effectText = effect === undefined || effect === null ? "" : effect;
  if (effectText !== "" && !(taintEffects as readonly string[]).includes(effectText as string)) {
    err(["effect"], `${taintEffects.join(", ")}, or empty for all`, effect);
  }
  if (tolerationSeconds !== undefined && tolerationSeconds !== null) {
    if (typeof tolerationSeconds !== "number" || !Number.isSafeInteger(tolerationSeconds)) {
      err(["tolerationSeconds"], "an integer number of seconds", tolerationSeconds);
    } else if (effectText !== "NoExecute") {
      err(["tolerationSeconds"], "effect NoExecute when tolerationSeconds is set", effect ?? "");
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const toleration: Toleration = {};
  if (keyText !== "") toleration.key = keyText as string;
  toleration.operator = op as "Equal" | "Exists";
  if (valueText !== "") toleration.value = valueText as string;
  if (effectText !== "") toleration.effect = effectText as TaintEffect;
  if (typeof tolerationSeconds === "number") toleration.tolerationSeconds = tolerationSeconds;
  return { ok: true, value: toleration };
}

/** Validates a raw list of tolerations; returns the valid ones and an error per invalid one. */
export function parseTolerations(
  raw: unknown,
  path: IssuePath = [],
): { tolerations: Toleration[]; errors: InputError[] } {
  if (raw === undefined || raw === null) return { tolerations: [], errors: [] };
  if (!Array.isArray(raw)) {
    return {
      tolerations: [],
      errors: [{ code: "invalid_toleration", path: [...path], expected: "a list of tolerations" }],
    };
  }
  const tolerations: Toleration[] = [];
  const errors: InputError[] = [];
  raw.forEach((entry, i) => {
    const result = parseToleration(entry, [...path, i]);
    if (result.ok) tolerations.push(result.value);
    else errors.push(...result.errors);
  });
  return { tolerations, errors };
}
