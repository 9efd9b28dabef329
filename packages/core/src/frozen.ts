/** Objects found deeply frozen (a permanent property: nothing can thaw them or what they reach). */
const frozen = new WeakSet<object>();

/**
 * Is `v` deeply frozen: a frozen plain object or array whose values are all deeply frozen (no
 * accessors)? Such a value can never change, so anything computed from it may be remembered by its
 * identity. Answers are remembered too.
 */
export function deeplyFrozen(v: unknown): boolean {
  if (typeof v === "function") return false;
  if (typeof v !== "object" || v === null) return true;
  if (frozen.has(v)) return true;
  if (
    !Object.isFrozen(v) ||
    Object.getPrototypeOf(v) !== (Array.isArray(v) ? Array.prototype : Object.prototype)
  )
    return false;
  for (const k of Object.keys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, k);
    if (d === undefined || d.get !== undefined || !deeplyFrozen(d.value)) return false;
  }
  frozen.add(v);
  return true;
}

/**
 * Freezes `v` and everything it reaches, and returns it: what `deeplyFrozen` then recognizes. A caller
 * that hands the solver the same objects pass after pass (the simulator) freezes them so the solver may
 * remember what it found about them (input-check.ts, disruption/pdb.ts).
 */
export function deepFreeze<T>(v: T): T {
  if (typeof v !== "object" || v === null || frozen.has(v)) return v;
  for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  Object.freeze(v);
  frozen.add(v);
  return v;
}
