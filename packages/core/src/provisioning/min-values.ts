import { checkMinValues, type MinValuesCandidate, type Requirements } from "../requirements.ts";

/**
 * The NodeClaim's options cut to `max` while keeping its minValues. Karpenter truncates to the cheapest
 * `max` and then fails (Strict) or relaxes (BestEffort) when the cut list falls short; nodeplan keeps
 * the cheapest options, brings in the cheapest option of each value still missing, and drops the
 * dearest options no minValues needs. `options` are in price order and `candidate(i)` gives option i's
 * labels; returns indexes in price order, or undefined when no list of `max` options meets minValues.
 */
export function truncateKeepingMinValues(
  count: number,
  max: number,
  candidate: (i: number) => MinValuesCandidate,
  requirements: Requirements,
  /** Candidates that do not depend on the cut (the claim's zones and capacity types). */
  fixed: readonly MinValuesCandidate[] = [],
): number[] | undefined {
  const withMin = [...requirements].filter((r) => r.minValues !== undefined);
  const admitted = (i: number, r: (typeof withMin)[number]) => {
    const v = candidate(i).labels?.[r.key];
    return v !== undefined && r.has(v) ? v : undefined;
  };
  const kept = new Set<number>();
  for (let i = 0; i < Math.min(count, max); i++) kept.add(i);
  // Per requirement, how many kept options carry each value.
  const counts = withMin.map((r) => {
    const m = new Map<string, number>();
    for (const i of kept) {
      const v = admitted(i, r);
      if (v !== undefined) m.set(v, (m.get(v) ?? 0) + 1);
    }
    return m;
  });
  const add = (i: number) => {
    kept.add(i);
    withMin.forEach((r, k) => {
      const v = admitted(i, r);
      const m = counts[k] as Map<string, number>;
      if (v !== undefined) m.set(v, (m.get(v) ?? 0) + 1);
    });
  };
  withMin.forEach((r, k) => {
    const m = counts[k] as Map<string, number>;
    for (let i = max; i < count && m.size < (r.minValues as number); i++) {
      const v = admitted(i, r);
      if (v !== undefined && !m.has(v) && !kept.has(i)) add(i);
    }
  });
  // Over the limit: drop the dearest options whose values every minValues can spare.
  const order = [...kept].sort((a, b) => b - a);
  for (const i of order) {
    if (kept.size <= max) break;
    const spare = withMin.every((r, k) => {
      const v = admitted(i, r);
      const m = counts[k] as Map<string, number>;
      return v === undefined || (m.get(v) as number) > 1 || m.size > (r.minValues as number);
    });
    if (!spare) continue;
    kept.delete(i);
    withMin.forEach((r, k) => {
      const v = admitted(i, r);
      const m = counts[k] as Map<string, number>;
      if (v === undefined) return;
      const n = (m.get(v) as number) - 1;
      if (n === 0) m.delete(v);
      else m.set(v, n);
    });
  }
  const chosen = [...kept].sort((a, b) => a - b);
  if (chosen.length > max || checkMinValues(requirements, [...chosen.map(candidate), ...fixed]).length > 0)
    return undefined;
  return chosen;
}
