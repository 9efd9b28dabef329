import type { Encoding } from "./encode.ts";
import type { PatternSolution } from "./patterns.ts";

/** A lower bound with what an independent checker needs to verify it. */
export interface ProvenBound {
  lowerBoundPerHour: number;
  method: string;
  certificate: unknown;
}

/** The certificate of a pattern-LP (Farley) bound; `verifyPatternBound` checks it. */
export interface PatternCertificate {
  kind: "pattern-farley";
  resources: string[];
  /** No node pattern of any offering is worth more than `scale` times its price at these values. */
  scale: number;
  /** Dollar value of one pod, by request vector (in `resources` order). */
  values: { requests: number[]; value: number }[];
  /**
   * Lagrange rates (dollars per unit of each resource) of the listed offerings: they bound its patterns,
   * or guide the checker's search where that bound is not enough.
   */
  rates: { perUnit: number[]; offerings: string[] }[];
  /**
   * Set when the bound is the exact optimum of covering the plan's pods on new claims by nodes (small
   * problems): the checker repeats the enumeration, pruning with the values above.
   */
  exact?: { pods: number };
}

export const PATTERN_BOUND_METHOD = "pattern-lp-farley";

/**
 * Turns a pattern-LP solution into a checkable bound. Values are keyed by request vector (pods with the
 * same requests but different constraints take the smallest of their groups' values: lowering values
 * keeps every pattern within its bound), and the bound is recomputed from exactly those values.
 */
export function patternBound(enc: Encoding, onNew: Int32Array, solution: PatternSolution): ProvenBound {
  const R = enc.problem.resources;
  const byRequests = new Map<string, { requests: number[]; value: number }>();
  const keyOf: string[] = [];
  enc.groups.forEach((_, g) => {
    const requests = Array.from(enc.problem.groups.requests.subarray(g * R, g * R + R));
    const key = requests.join(",");
    keyOf.push(key);
    if ((onNew[g] as number) === 0) return;
    const value = solution.values[g] as number;
    const entry = byRequests.get(key);
    if (entry === undefined) byRequests.set(key, { requests, value });
    else entry.value = Math.min(entry.value, value);
  });
  let worth = 0;
  enc.groups.forEach((_, g) => {
    const n = onNew[g] as number;
    if (n > 0) worth += n * (byRequests.get(keyOf[g] as string) as { value: number }).value;
  });
  const rates = new Map<number, { perUnit: number[]; offerings: string[] }>();
  enc.offerings.forEach((o, t) => {
    const shape = solution.shapeOf[t] as number;
    const b = shape >= 0 ? solution.upperBounds.get(shape) : undefined;
    // Every shape's Lagrange rates: they settle most offerings at once, and tighten the checker's
    // search where they do not.
    if (b === undefined) return;
    let entry = rates.get(shape);
    if (entry === undefined) {
      entry = { perUnit: Array.from(b.lambda), offerings: [] };
      rates.set(shape, entry);
    }
    entry.offerings.push(o.key);
  });
  const certificate: PatternCertificate = {
    kind: "pattern-farley",
    resources: enc.resources,
    scale: solution.scale,
    values: [...byRequests.values()],
    rates: [...rates.values()],
  };
  // A hair under the exact figure, so float noise in an independent recomputation never undercuts it.
  return {
    lowerBoundPerHour: (worth / solution.scale) * (1 - 1e-9),
    method: PATTERN_BOUND_METHOD,
    certificate,
  };
}
