import type { Pod, ResourceVector } from "../model.ts";

/**
 * Recomputes a pattern-LP (Farley) bound from its certificate without any LP, sharing no code with the
 * solver. Each pod is worth the certificate's value for its request vector (0 if none). For every
 * offering a pod could use, the most valuable set of pods one node of it could hold is bounded, either by
 * the certificate's Lagrange rates (rates . allocatable + sum over pod kinds of count * max(0, value -
 * rates . requests)) or, failing that, by an exhaustive search; rho is the largest bound / price met.
 * The result, sum of values / max(1, rho), is a valid bound for any certificate: a bad certificate can
 * only prove less than the plan claims. Returns null when the certificate is malformed.
 */
export function verifyPatternBound(
  certificate: unknown,
  pods: readonly Pod[],
  offeringsFor: (pod: Pod) => CheckedOffering[],
  searchBudget = 2_000_000,
  exactWork = 60_000_000,
): number | null {
  if (!isPatternCertificate(certificate)) return null;
  const { resources } = certificate;
  const R = resources.length;
  const valueByRequests = new Map(certificate.values.map((v) => [v.requests.join(","), v.value]));
  const ratesOf = new Map<string, number[]>();
  for (const r of certificate.rates) for (const k of r.offerings) ratesOf.set(k, r.perUnit);

  // Pod kinds: same requests and same offerings; each offering lists the kinds that may use it.
  const kinds = new Map<string, Kind>();
  const offerings = new Map<string, { price: number; allocatable: number[]; kinds: Set<Kind> }>();
  let total = 0;
  // Offering lists by identity, then by content: callers usually return one array per kind of pod.
  const listIds = new Map<readonly unknown[], number>();
  const listTexts = new Map<string, number>();
  for (const pod of pods) {
    const requests = resources.map((r) => pod.requests[r] ?? 0);
    const value = Math.max(0, valueByRequests.get(requests.join(",")) ?? 0);
    total += value;
    if (value === 0) continue;
    const list = offeringsFor(pod);
    let listId = listIds.get(list);
    if (listId === undefined) {
      const text = list.map((o) => o.key).join(",");
      listId = listTexts.get(text) ?? listTexts.size;
      listTexts.set(text, listId);
      listIds.set(list, listId);
    }
    const key = `${requests.join(",")}|${listId}`;
    let kind = kinds.get(key);
    if (kind === undefined) {
      kind = { requests, value, count: 0 };
      kinds.set(key, kind);
      for (const o of list) {
        let entry = offerings.get(o.key);
        if (entry === undefined) {
          entry = {
            price: o.pricePerHour,
            allocatable: resources.map((r) => o.allocatable[r] ?? 0),
            kinds: new Set(),
          };
          offerings.set(o.key, entry);
        }
        entry.kinds.add(kind);
      }
    }
    kind.count++;
  }

  let rho = 1;
  const searched = new Map<string, number>();
  for (const [key, o] of offerings) {
    const items = [...o.kinds]
      .map((k) => ({ ...k, count: Math.min(k.count, fits(k.requests, o.allocatable)) }))
      .filter((k) => k.count > 0);
    // A node's pods use, of each resource, a multiple of the gcd of the requests that may land there.
    const usable = usableAllocatable(o.allocatable, items);
    const target = certificate.scale * o.price * (1 + 1e-7) + 1e-12;
    const rates = ratesOf.get(key);
    if (rates !== undefined && rates.length === R) {
      let bound = 0;
      for (let r = 0; r < R; r++) bound += Math.max(0, rates[r] as number) * (usable[r] as number);
      for (const k of items) {
        let price = 0;
        for (let r = 0; r < R; r++) price += Math.max(0, rates[r] as number) * (k.requests[r] as number);
        bound += k.count * Math.max(0, k.value - price);
      }
      // Within the target up to float noise counts as the certificate's scale.
      if (bound <= target) {
        rho = Math.max(rho, Math.min(bound / o.price, certificate.scale));
        continue;
      }
    }
    const memo = `${target}|${usable.join(",")}|${rates?.join(",")}|${items.map((k) => `${k.requests.join(",")}:${k.value}:${k.count}`).join(";")}`;
    let best = searched.get(memo);
    if (best === undefined) {
      best = mostValuable(withSurrogate(items, usable, rates), searchBudget, target);
      searched.set(memo, best);
    }
    if (o.price > 0)
      rho = Math.max(rho, best <= target ? Math.min(best / o.price, certificate.scale) : best / o.price);
    else if (best > 0) return 0;
  }
  const farley = total / rho;
  if (certificate.exact === undefined) return farley;
  // An exact claim: the cheapest cover of these pods by nodes, computed here in this checker's own code.
  const optimum = cheapestCover(pods, offeringsFor, exactWork);
  return optimum === undefined ? farley : Math.max(farley, optimum);
}

/** An offering as the checker reads it from the input catalog. */
type CheckedOffering = { key: string; pricePerHour: number; allocatable: ResourceVector };

/**
 * The least total price of nodes holding every pod, each node an offering every pod on it may use
 * whose allocatable holds them all; undefined when larger than `work` steps allow. Pods with the same
 * requests and offerings are interchangeable: a dynamic program over how many of each kind are left,
 * each step placing one node that holds a pod of the first kind left. Plain on purpose: it shares
 * nothing with the solver's own program.
 */
function cheapestCover(
  pods: readonly Pod[],
  offeringsFor: (pod: Pod) => CheckedOffering[],
  work: number,
): number | undefined {
  const kinds: { requests: ResourceVector; offerings: CheckedOffering[]; count: number }[] = [];
  const byKey = new Map<string, number>();
  for (const pod of pods) {
    const offerings = offeringsFor(pod);
    if (offerings.length === 0) return undefined;
    const key = `${JSON.stringify(Object.entries(pod.requests).sort())}|${offerings.map((o) => o.key).join(",")}`;
    const k = byKey.get(key);
    if (k === undefined) {
      byKey.set(key, kinds.length);
      kinds.push({ requests: pod.requests, offerings, count: 1 });
    } else (kinds[k] as { count: number }).count++;
  }
  // A vector of pods per kind is a number in mixed radix (count + 1 per kind).
  const place: number[] = [];
  let states = 1;
  for (const k of kinds) {
    place.push(states);
    states *= k.count + 1;
    if (states > 2_000_000) return undefined;
  }
  let steps = 0;
  // node[v]: the cheapest node holding vector v (Infinity when none does).
  const node = new Float64Array(states).fill(Number.POSITIVE_INFINITY);
  const holds = (o: CheckedOffering, load: Record<string, number>) =>
    Object.entries(load).every(([r, q]) => q <= 0 || q <= (o.allocatable[r] ?? 0));
  const fill = (k: number, v: number, load: Record<string, number>, options: CheckedOffering[] | null) => {
    if (++steps > work) return false;
    if (k === kinds.length) {
      if (options !== null) for (const o of options) node[v] = Math.min(node[v] as number, o.pricePerHour);
      return true;
    }
    if (!fill(k + 1, v, load, options)) return false;
    const kind = kinds[k] as (typeof kinds)[number];
    const keys = new Set(kind.offerings.map((o) => o.key));
    let grown = { ...load };
    for (let n = 1; n <= kind.count; n++) {
      grown = { ...grown };
      for (const [r, q] of Object.entries(kind.requests)) grown[r] = (grown[r] ?? 0) + q;
      const left = (options ?? kind.offerings).filter((o) => keys.has(o.key) && holds(o, grown));
      if (left.length === 0) break;
      if (!fill(k + 1, v + n * (place[k] as number), grown, left)) return false;
    }
    return true;
  };
  if (!fill(0, 0, {}, null)) return undefined;
  const countOf = (v: number, k: number) =>
    Math.floor(v / (place[k] as number)) % ((kinds[k] as { count: number }).count + 1);
  const cheapest = new Float64Array(states).fill(Number.POSITIVE_INFINITY);
  cheapest[0] = 0;
  for (let s = 1; s < states; s++) {
    let first = 0;
    while (countOf(s, first) === 0) first++;
    let best = Number.POSITIVE_INFINITY;
    // Nodes for state s: vectors within s holding a pod of its first kind, grown while a node holds them.
    const within = (k: number, v: number): boolean => {
      if (++steps > work) return false;
      if (k === kinds.length) {
        best = Math.min(best, (node[v] as number) + (cheapest[s - v] as number));
        return true;
      }
      for (let n = k === first ? 1 : 0; n <= countOf(s, k); n++) {
        const next = v + n * (place[k] as number);
        if (n > 0 && !Number.isFinite(node[next] as number)) break;
        if (!within(k + 1, next)) return false;
      }
      return true;
    };
    if (!within(first, 0)) return undefined;
    cheapest[s] = best;
  }
  const optimum = cheapest[states - 1] as number;
  return Number.isFinite(optimum) ? optimum : undefined;
}

/**
 * Allocatable rounded down, per resource, to a multiple of the gcd of the requests of the kinds that
 * may use it: any set of those pods uses such a multiple, so no pattern is cut off.
 */
function usableAllocatable(allocatable: readonly number[], kinds: readonly Kind[]): number[] {
  return allocatable.map((a, r) => {
    let g = 0;
    for (const k of kinds) {
      let x = g;
      let y = Math.round(k.requests[r] as number);
      while (y > 0) [x, y] = [y, x % y];
      g = x;
    }
    return g > 1 ? Math.floor(a / g + 1e-9) * g : a;
  });
}

/**
 * The search problem: the kinds and the node's usable allocatable, plus, with the certificate's rates,
 * one more resource: rates . requests against rates . allocatable (implied by the others, so no
 * pattern is cut off; it only tightens the search's bound). A hair of slack absorbs rounding.
 */
function withSurrogate(
  kinds: readonly Kind[],
  usable: readonly number[],
  rates: readonly number[] | undefined,
): { kinds: Kind[]; allocatable: number[] } {
  if (rates === undefined || rates.length !== usable.length || !rates.some((x) => x > 0))
    return { kinds: [...kinds], allocatable: [...usable] };
  const weigh = (v: readonly number[]) => v.reduce((s, x, r) => s + Math.max(0, rates[r] as number) * x, 0);
  return {
    kinds: kinds.map((k) => ({ ...k, requests: [...k.requests, weigh(k.requests)] })),
    allocatable: [...usable, weigh(usable) * (1 + 1e-9)],
  };
}

/** How many of a pod kind fit on an empty node. */
function fits(requests: readonly number[], allocatable: readonly number[]): number {
  let n = Number.POSITIVE_INFINITY;
  requests.forEach((q, r) => {
    if (q > 0) n = Math.min(n, Math.floor((allocatable[r] as number) / q));
  });
  return Number.isFinite(n) ? n : 0;
}

/**
 * An upper bound on the most valuable multiset of pods one node holds (each kind at most its count) that
 * is at most `target` whenever the true maximum is: depth-first search over kinds in decreasing value,
 * pruning every branch that cannot beat max(best, target) by the remaining value or by a single-resource
 * fractional bound. When the budget runs out it returns the root bound instead (never less than the
 * true maximum).
 */
function mostValuable(
  { kinds: items, allocatable }: { kinds: readonly Kind[]; allocatable: readonly number[] },
  budget: number,
  target: number,
): number {
  const sorted = [...items].sort((a, b) => b.value - a.value);
  const R = allocatable.length;
  const n = sorted.length;
  const left = [...allocatable];
  const restValue: number[] = new Array(n + 1).fill(0);
  for (let j = n - 1; j >= 0; j--)
    restValue[j] = (restValue[j + 1] as number) + (sorted[j] as Kind).value * (sorted[j] as Kind).count;
  // Per resource: positions in order of value per unit of it (kinds not using it are unbounded by it).
  const orders = allocatable.map((_, r) =>
    sorted
      .map((_, j) => j)
      .filter((j) => ((sorted[j] as Kind).requests[r] as number) > 0)
      .sort((a, b) => ratio(sorted[b] as Kind, r) - ratio(sorted[a] as Kind, r) || a - b),
  );
  const free = allocatable.map((_, r) =>
    sorted.map((s) => ((s.requests[r] as number) === 0 ? s.value * s.count : 0)),
  );
  const upper = (k: number): number => {
    let bound = restValue[k] as number;
    for (let r = 0; r < R; r++) {
      let room = left[r] as number;
      let v = 0;
      const freeR = free[r] as number[];
      for (let j = k; j < n; j++) v += freeR[j] as number;
      for (const j of orders[r] as number[]) {
        if (j < k) continue;
        const s = sorted[j] as Kind;
        const q = s.requests[r] as number;
        if (q * s.count <= room) {
          room -= q * s.count;
          v += s.value * s.count;
        } else {
          v += (room / q) * s.value;
          break;
        }
      }
      bound = Math.min(bound, v);
    }
    return bound;
  };
  const rootBound = upper(0);
  if (rootBound <= target) return rootBound;
  let best = 0;
  let nodes = 0;
  let complete = true;
  const walk = (k: number, value: number): void => {
    if (value > best) best = value;
    if (k === n || !complete) return;
    if (++nodes > budget) {
      complete = false;
      return;
    }
    if (value + upper(k) <= Math.max(best, target)) return;
    const s = sorted[k] as Kind;
    const most = Math.min(s.count, fits(s.requests, left));
    for (let c = most; c >= 0 && complete; c--) {
      for (let r = 0; r < R; r++) left[r] = (left[r] as number) - c * (s.requests[r] as number);
      walk(k + 1, value + c * s.value);
      for (let r = 0; r < R; r++) left[r] = (left[r] as number) + c * (s.requests[r] as number);
    }
  };
  walk(0, 0);
  return complete ? Math.max(best, Math.min(target, rootBound)) : rootBound;
}

interface Kind {
  requests: number[];
  value: number;
  count: number;
}

function ratio(s: Kind, r: number): number {
  return s.value / (s.requests[r] as number);
}

function isPatternCertificate(c: unknown): c is {
  kind: "pattern-farley";
  resources: string[];
  scale: number;
  values: { requests: number[]; value: number }[];
  rates: { perUnit: number[]; offerings: string[] }[];
  exact?: { pods: number };
} {
  if (typeof c !== "object" || c === null) return false;
  const x = c as Record<string, unknown>;
  const finite = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  if (x.kind !== "pattern-farley" || !Array.isArray(x.resources)) return false;
  if (!x.resources.every((r) => typeof r === "string") || !finite(x.scale) || (x.scale as number) <= 0)
    return false;
  const n = x.resources.length;
  const vector = (a: unknown) => Array.isArray(a) && a.length === n && a.every(finite);
  if (!Array.isArray(x.values) || !Array.isArray(x.rates)) return false;
  return (
    x.values.every(
      (v) =>
        typeof v === "object" &&
        v !== null &&
        vector((v as Record<string, unknown>).requests) &&
        finite((v as Record<string, unknown>).value),
    ) &&
    x.rates.every(
      (r) =>
        typeof r === "object" &&
        r !== null &&
        vector((r as Record<string, unknown>).perUnit) &&
        Array.isArray((r as Record<string, unknown>).offerings),
    )
  );
}
