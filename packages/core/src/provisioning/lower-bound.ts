import { solveCoveringLP } from "../lp/simplex.ts";
import type { ResourceVector } from "../model.ts";

/**
 * A proven lower bound on the cost of new capacity for a set of pods.
 *
 * The LP: choose fractional counts x_t of offerings t to minimize sum(price_t x_t) such that every
 * class of pods (pods with the same compatible offerings) has its demand covered, resource by
 * resource, only by offerings it may run on. Offerings that the same classes may use (same
 * "signature") are pooled: because demand is divisible in this relaxation, pooling loses nothing.
 * Dual: a rate per resource for each signature (W_sigma) with alloc_t . W_sigma <= price_t for every
 * offering, and a rate per class v_k <= W_sigma for every signature the class may use. The bound is
 * sum_k D_k . v_k.
 *
 * Certificate: the rates per offering. Weak duality makes any non-negative rates a valid bound once
 * each offering's rates are scaled to cost no more than its price and each pod is valued at its
 * cheapest compatible offering: that is what `verifyLowerBound` recomputes, sharing no code with the
 * LP.
 *
 * Capacity reservations cap launches: sum of x_t over reservation k's offerings <= c_k. Their offerings
 * are priced near zero, so a bound that ignores the caps is near zero too. With the caps the dual is
 * max sum_k D_k . v_k - sum_k c_k mu_k with alloc_t . W_sigma <= price_t + mu_k for k's offerings t:
 * each reservation instance may be worth mu_k more than its price, paid for once per instance left.
 * The capped bound solves the LP without capped offerings as columns (they keep their signature's
 * rates), sets mu_k to the most any of k's offerings is then worth above its price, and subtracts
 * sum_k c_k mu_k. Both bounds are valid; the larger is kept.
 */

/** An offering the bound may buy: an instance type in a zone and capacity type, in a NodePool. */
export interface BoundOffering {
  /** `nodePool/instanceType/zone/capacityType`. */
  key: string;
  pricePerHour: number;
  /** Allocatable net of DaemonSet overhead on this offering. */
  allocatable: ResourceVector;
  /** A capacity reservation's offering: its id and the instances left (at most that many launches). */
  reservation?: { id: string; capacity: number };
}

/** Pods sharing one set of compatible offerings. */
export interface BoundClass {
  pods: number;
  /** Summed requests of the class's pods. */
  demand: ResourceVector;
  /** Indexes into the offerings array. */
  compatible: readonly number[];
}

/** Rates per resource unit, per offering; offerings not listed take `defaultRates`. */
export interface LowerBoundCertificate {
  resources: string[];
  /** Dollars per hour per unit of each resource, for offerings not listed in `rates`. */
  defaultRates: number[];
  rates: { perUnit: number[]; offerings: string[] }[];
  /**
   * Per capacity reservation id, dollars per hour each of its instances may be worth above its price
   * (mu): its offerings' rates may cost up to price + mu, and the bound pays mu per instance left.
   */
  reservationPenalties?: Record<string, number>;
}

/** The bound and how it was obtained. */
export interface LowerBoundResult {
  lowerBoundPerHour: number;
  method: string;
  certificate: LowerBoundCertificate;
  /** Value of one pod of each class (its cheapest compatible offering at the dual rates). */
  classValuePerPod: number[];
  /** Dual rate per resource (in `certificate.resources` order) for each class: what one unit is worth. */
  classRates: number[][];
  /** Primal cost of the LP solved (without capped offerings for the capped bound; then above it). */
  lpObjective: number;
}

/**
 * Computes the bound; classes with no compatible offering are left out (they cannot be served). With
 * capped reservation offerings, the larger of the plain and the capped bound.
 */
export function computeLowerBound(
  offerings: readonly BoundOffering[],
  classes: readonly BoundClass[],
): LowerBoundResult {
  const plain = solveBound(offerings, classes, false);
  if (!offerings.some((o) => o.reservation !== undefined)) return plain;
  const capped = solveBound(offerings, classes, true);
  return capped.lowerBoundPerHour > plain.lowerBoundPerHour ? capped : plain;
}

/**
 * The LP bound, `capped`: with capped offerings as no column, then their reservations' penalties. A
 * class only capped offerings serve is left out then, which only lowers the bound.
 */
function solveBound(
  offerings: readonly BoundOffering[],
  classes: readonly BoundClass[],
  capped: boolean,
): LowerBoundResult {
  const method = capped ? "lp-covering-by-compatibility-reservation-caps" : "lp-covering-by-compatibility";
  const column = (t: number) => !capped || offerings[t]?.reservation === undefined;
  const resources = demandedResources(classes);
  const empty: LowerBoundResult = {
    lowerBoundPerHour: 0,
    method,
    certificate: { resources, defaultRates: resources.map(() => 0), rates: [] },
    classValuePerPod: classes.map(() => 0),
    classRates: classes.map(() => resources.map(() => 0)),
    lpObjective: 0,
  };
  const servable = classes
    .map((c, k) => ({ ...c, k }))
    .filter((c) => c.compatible.some(column) && c.pods > 0);
  if (resources.length === 0 || servable.length === 0) return empty;

  // Signature of an offering: which servable classes may use it.
  const classesOf: number[][] = offerings.map(() => []);
  servable.forEach((c, s) => {
    for (const t of c.compatible) classesOf[t]?.push(s);
  });
  const signatureIndex = new Map<string, number>();
  const signatures: number[][] = [];
  const offeringSignature = new Int32Array(offerings.length).fill(-1);
  offerings.forEach((_, t) => {
    const sig = classesOf[t] as number[];
    if (sig.length === 0) return;
    const key = sig.join(",");
    let index = signatureIndex.get(key);
    if (index === undefined) {
      index = signatures.length;
      signatureIndex.set(key, index);
      signatures.push(sig);
    }
    offeringSignature[t] = index;
  });

  // Scale each resource to O(1) so the tableau is well conditioned.
  const R = resources.length;
  const unit = resources.map((r) => {
    let max = 0;
    for (const o of offerings) max = Math.max(max, o.allocatable[r] ?? 0);
    return max > 0 ? max : 1;
  });

  // Columns: offerings that some class may use, deduplicated by (signature, allocatable, price);
  // then transfer columns s[k][sigma][r] moving class k's demand of r onto signature sigma.
  // Found through (signature, price) buckets compared resource by resource: a string key per offering
  // was a large part of the bound's time when it is solved thousands of times (a simulated day).
  const columns: { t: number; sigma: number }[] = [];
  const columnBuckets = new Map<number, Map<number, number[][]>>();
  offerings.forEach((o, t) => {
    const sigma = offeringSignature[t] as number;
    if (sigma < 0 || !column(t)) return;
    const alloc = resources.map((r) => o.allocatable[r] ?? 0);
    if (alloc.every((a) => a === 0)) return;
    let byPrice = columnBuckets.get(sigma);
    if (byPrice === undefined) columnBuckets.set(sigma, (byPrice = new Map()));
    const seen = byPrice.get(o.pricePerHour);
    if (seen?.some((a) => a.every((x, j) => x === alloc[j]))) return;
    if (seen === undefined) byPrice.set(o.pricePerHour, [alloc]);
    else seen.push(alloc);
    columns.push({ t, sigma });
  });
  // Rows per signature; capped, a signature no column serves (capped offerings only) has none.
  const rowOf = Int32Array.from(signatures, (_, sigma) => (capped ? -1 : sigma));
  let S = capped ? 0 : signatures.length;
  if (capped) for (const { sigma } of columns) if ((rowOf[sigma] as number) < 0) rowOf[sigma] = S++;
  const transfers: { s: number; sigma: number; r: number }[] = [];
  signatures.forEach((sig, sigma) => {
    if ((rowOf[sigma] as number) < 0) return;
    for (const s of sig) {
      for (let r = 0; r < R; r++) {
        if ((servable[s]?.demand[resources[r] as string] ?? 0) > 0) transfers.push({ s, sigma, r });
      }
    }
  });
  const rowCount = S * R + servable.length * R;
  const n = columns.length + transfers.length;
  const cost = new Float64Array(n);
  const matrix = new Float64Array(rowCount * n);
  const demand = new Float64Array(rowCount);
  columns.forEach(({ t, sigma }, j) => {
    const o = offerings[t] as BoundOffering;
    cost[j] = o.pricePerHour;
    for (let r = 0; r < R; r++)
      matrix[((rowOf[sigma] as number) * R + r) * n + j] =
        (o.allocatable[resources[r] as string] ?? 0) / (unit[r] as number);
  });
  transfers.forEach(({ s, sigma, r }, i) => {
    const j = columns.length + i;
    matrix[((rowOf[sigma] as number) * R + r) * n + j] = -1;
    matrix[(S * R + s * R + r) * n + j] = 1;
  });
  servable.forEach((c, s) => {
    for (let r = 0; r < R; r++)
      demand[S * R + s * R + r] = (c.demand[resources[r] as string] ?? 0) / (unit[r] as number);
  });

  const lp = solveCoveringLP({ cost, matrix, demand });
  if (lp.status !== "optimal") {
    // Infeasible means some demanded resource is offered nowhere a class may go; such pods are
    // unschedulable and the caller has already excluded them, so this is a defensive fallback.
    return { ...empty, method: `${method} (${lp.status}; bound 0)` };
  }

  // Signature rates, back in real units; offerings take their signature's rates. A signature without
  // rows takes the most any class using it is worth, so that each class is worth no more there.
  const classRates = servable.map((_, s) =>
    resources.map((_, r) => (lp.dual[S * R + s * R + r] as number) / (unit[r] as number)),
  );
  const sigRates = signatures.map((sig, sigma) => {
    const row = rowOf[sigma] as number;
    return resources.map((_, r) =>
      row >= 0
        ? (lp.dual[row * R + r] as number) / (unit[r] as number)
        : Math.max(...sig.map((s) => classRates[s]?.[r] as number)),
    );
  });
  // The simplex's tolerances are absolute: at prices near zero (reservations) a signature's rates can
  // leave an offering a little over its price. Such rates are scaled down until none is, and each class
  // is then worth no more than at any of its signatures: dual feasible again.
  const factor = signatures.map(() => 1);
  offerings.forEach((o, t) => {
    const sigma = offeringSignature[t] as number;
    if (sigma < 0 || !column(t)) return;
    const rates = sigRates[sigma] as number[];
    let worth = 0;
    resources.forEach((r, i) => {
      worth += (o.allocatable[r] ?? 0) * Math.max(0, rates[i] as number);
    });
    if (worth > o.pricePerHour * (1 + 1e-9))
      factor[sigma] = Math.min(factor[sigma] as number, o.pricePerHour / worth);
  });
  if (factor.some((f) => f < 1))
    signatures.forEach((sig, sigma) => {
      const rates = (sigRates[sigma] as number[]).map((x) => x * (factor[sigma] as number));
      sigRates[sigma] = rates;
      for (const s of sig)
        classRates[s] = (classRates[s] as number[]).map((v, r) => Math.min(v, rates[r] as number));
    });
  const classValuePerPod = classes.map(() => 0);
  const allClassRates = classes.map(() => resources.map(() => 0));
  let bound = 0;
  servable.forEach((c, s) => {
    const rates = classRates[s] as number[];
    let value = 0;
    for (let r = 0; r < R; r++) value += (c.demand[resources[r] as string] ?? 0) * (rates[r] as number);
    bound += value;
    classValuePerPod[c.k] = value / c.pods;
    allClassRates[c.k] = rates;
  });

  // Capped: each reservation pays, per instance left, the most one of its offerings is worth above its
  // price at its signature's rates.
  const penalties: Record<string, number> = {};
  if (capped) {
    const caps = new Map<string, number>();
    offerings.forEach((o, t) => {
      if (o.reservation === undefined) return;
      const { id, capacity } = o.reservation;
      caps.set(id, Math.min(caps.get(id) ?? Number.POSITIVE_INFINITY, capacity));
      const rates = sigRates[offeringSignature[t] as number];
      if (rates === undefined) return;
      let worth = 0;
      resources.forEach((r, i) => {
        worth += (o.allocatable[r] ?? 0) * (rates[i] as number);
      });
      if (worth - o.pricePerHour > (penalties[id] ?? 0)) penalties[id] = worth - o.pricePerHour;
    });
    for (const [id, mu] of Object.entries(penalties)) bound -= (caps.get(id) as number) * mu;
  }

  // The certificate: the most common signature's rates as default, the others listed.
  const members: string[][] = signatures.map(() => []);
  offerings.forEach((o, t) => {
    const sigma = offeringSignature[t] as number;
    if (sigma >= 0) members[sigma]?.push(o.key);
  });
  let largest = 0;
  members.forEach((m, sigma) => {
    if (m.length > (members[largest] as string[]).length) largest = sigma;
  });
  const rates = members
    .map((m, sigma) => ({ perUnit: sigRates[sigma] as number[], offerings: m }))
    .filter((_, sigma) => sigma !== largest);
  return {
    lowerBoundPerHour: bound,
    method,
    certificate: {
      resources,
      defaultRates: sigRates[largest] as number[],
      rates,
      ...(capped ? { reservationPenalties: penalties } : {}),
    },
    classValuePerPod,
    classRates: allClassRates,
    lpObjective: lp.objective,
  };
}

function demandedResources(classes: readonly BoundClass[]): string[] {
  const keys = new Set<string>();
  for (const c of classes) {
    if (c.compatible.length === 0) continue;
    for (const [k, v] of Object.entries(c.demand)) if (v > 0) keys.add(k);
  }
  return [...keys].sort();
}

/**
 * A lower-bound method in words: what the bound takes into account and what it ignores (for reports;
 * the Plan keeps the method code). Unknown codes are described as a lower bound only.
 */
export function describeLowerBound(method: string): string {
  const ignores =
    "ignores topology spread, pod (anti-)affinity, host ports, NodePool limits and the order of NodePools";
  const takes = "NodePool requirements, taints, resources and DaemonSet overhead";
  if (method.startsWith("exact-enumeration"))
    return `exact: the cheapest set of new nodes that holds these pods, found by enumeration (${takes}); ${ignores}`;
  if (method.startsWith("pattern-lp-farley"))
    return `pattern LP: whole pods packed on nodes, node counts fractional (${takes}); ${ignores}`;
  if (method.startsWith("lp-covering-by-compatibility"))
    return `resource LP: pods' requests covered by the nodes they may run on, as if pods could be split (${takes}${
      method.includes("reservation-caps") ? ", capacity reservations' instance counts" : ""
    }); ${ignores}`;
  return "a proven lower bound on the cost of the new capacity";
}
