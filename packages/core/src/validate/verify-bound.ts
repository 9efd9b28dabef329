import type { Pod, ResourceVector } from "../model.ts";

/**
 * Recomputes a lower bound from its certificate by weak duality, without any LP: every offering's rates
 * are scaled down until its allocatable costs no more than its price at those rates, then each pod is
 * worth its requests at the rates of its cheapest compatible offering. Any non-negative rates give a
 * valid bound this way, so a certificate can only fail by proving less than the plan claims.
 * Returns null when the certificate is malformed.
 */
export function verifyLowerBound(
  certificate: unknown,
  pods: readonly Pod[],
  offeringsFor: (pod: Pod) => { key: string; pricePerHour: number; allocatable: ResourceVector }[],
): number | null {
  if (!isCertificate(certificate)) return null;
  const { resources, defaultRates } = certificate;
  const ratesByKey = new Map<string, number[]>();
  for (const r of certificate.rates) for (const key of r.offerings) ratesByKey.set(key, r.perUnit);
  const scaled = new Map<string, number[]>();
  let bound = 0;
  for (const pod of pods) {
    let best = Number.POSITIVE_INFINITY;
    for (const o of offeringsFor(pod)) {
      let rates = scaled.get(o.key);
      if (rates === undefined) {
        const raw = (ratesByKey.get(o.key) ?? defaultRates).map((x) => Math.max(0, x));
        let allocCost = 0;
        resources.forEach((r, i) => {
          allocCost += (o.allocatable[r] ?? 0) * (raw[i] as number);
        });
        const factor = allocCost > o.pricePerHour ? o.pricePerHour / allocCost : 1;
        rates = raw.map((x) => x * factor);
        scaled.set(o.key, rates);
      }
      let value = 0;
      resources.forEach((r, i) => {
        value += (pod.requests[r] ?? 0) * (rates[i] as number);
      });
      best = Math.min(best, value);
    }
    if (Number.isFinite(best)) bound += best;
  }
  return bound;
}

function isCertificate(
  c: unknown,
): c is { resources: string[]; defaultRates: number[]; rates: { perUnit: number[]; offerings: string[] }[] } {
  if (typeof c !== "object" || c === null) return false;
  const x = c as Record<string, unknown>;
  const numbers = (a: unknown, n: number) =>
    Array.isArray(a) && a.length === n && a.every((v) => typeof v === "number" && Number.isFinite(v));
  if (!Array.isArray(x.resources) || !x.resources.every((r) => typeof r === "string")) return false;
  const n = x.resources.length;
  if (!numbers(x.defaultRates, n) || !Array.isArray(x.rates)) return false;
  return x.rates.every(
    (r) =>
      typeof r === "object" &&
      r !== null &&
      numbers((r as Record<string, unknown>).perUnit, n) &&
      Array.isArray((r as Record<string, unknown>).offerings),
  );
}
