import type { Pod, ResourceVector } from "../model.ts";

/** An offering a pod may run on, as the verifier reads it from the input catalog. */
export interface VerifierOffering {
  key: string;
  pricePerHour: number;
  allocatable: ResourceVector;
  /** A capacity reservation's offering: its id and the instances it has left (at most that many launches). */
  reservation?: { id: string; capacity: number };
}

/**
 * Recomputes a lower bound from its certificate by weak duality, without any LP: every offering's rates
 * are scaled down until its allocatable costs no more than its price at those rates, then each pod is
 * worth its requests at the rates of its cheapest compatible offering. Any non-negative rates give a
 * valid bound this way, so a certificate can only fail by proving less than the plan claims.
 *
 * Capacity reservations: a certificate may name a penalty mu_r per reservation. An offering of a
 * reservation r that some pod may use then costs up to its price + mu_r at its rates, and the bound
 * pays cap_r * mu_r, cap_r being the least instances left any such offering reports (from the catalog,
 * never the certificate). Valid because a plan launches at most cap_r instances into r. A negative or
 * non-numeric penalty counts as none. Returns null when the certificate is malformed.
 */
export function verifyLowerBound(
  certificate: unknown,
  pods: readonly Pod[],
  offeringsFor: (pod: Pod) => VerifierOffering[],
): number | null {
  if (!isCertificate(certificate)) return null;
  const { resources, defaultRates } = certificate;
  const penalties = new Map<string, number>();
  for (const [id, mu] of Object.entries(certificate.reservationPenalties ?? {}))
    if (typeof mu === "number" && Number.isFinite(mu) && mu > 0) penalties.set(id, mu);
  const ratesByKey = new Map<string, number[]>();
  for (const r of certificate.rates) for (const key of r.offerings) ratesByKey.set(key, r.perUnit);
  const scaled = new Map<string, number[]>();
  // Penalised reservations some pod may launch into, with the least capacity their offerings report.
  const caps = new Map<string, number>();
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
        let ceiling = o.pricePerHour;
        const mu = o.reservation === undefined ? undefined : penalties.get(o.reservation.id);
        if (o.reservation !== undefined && mu !== undefined) {
          const { id, capacity } = o.reservation;
          caps.set(id, Math.min(caps.get(id) ?? Number.POSITIVE_INFINITY, Math.max(0, capacity)));
          ceiling += mu;
        }
        const factor = allocCost > ceiling ? ceiling / allocCost : 1;
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
  for (const [id, cap] of caps) bound -= cap * (penalties.get(id) as number);
  return bound;
}

function isCertificate(c: unknown): c is {
  resources: string[];
  defaultRates: number[];
  rates: { perUnit: number[]; offerings: string[] }[];
  reservationPenalties?: Record<string, unknown>;
} {
  if (typeof c !== "object" || c === null) return false;
  const x = c as Record<string, unknown>;
  const numbers = (a: unknown, n: number) =>
    Array.isArray(a) && a.length === n && a.every((v) => typeof v === "number" && Number.isFinite(v));
  if (!Array.isArray(x.resources) || !x.resources.every((r) => typeof r === "string")) return false;
  const n = x.resources.length;
  if (!numbers(x.defaultRates, n) || !Array.isArray(x.rates)) return false;
  const p = x.reservationPenalties;
  if (p !== undefined && (typeof p !== "object" || p === null || Array.isArray(p))) return false;
  return x.rates.every(
    (r) =>
      typeof r === "object" &&
      r !== null &&
      numbers((r as Record<string, unknown>).perUnit, n) &&
      Array.isArray((r as Record<string, unknown>).offerings),
  );
}
