import type { InputError, IssuePath } from "./errors.ts";
import { NodeSelectorOperatorSchema, type NodeSelectorRequirement, type NodeSelectorTerm } from "./model.ts";
import { isQualifiedName, normalizeLabelKey } from "./well-known-labels.ts";

/**
 * Karpenter's requirement algebra (kubernetes-sigs/karpenter pkg/scheduling/requirement.go and
 * requirements.go) as immutable values: a requirement on a label key is a set of values, possibly
 * complemented, possibly cut by integer bounds, possibly asking for `minValues` distinct values.
 */

/** Operators a node selector requirement may use (Karpenter adds Gte and Lte to Kubernetes' six). */
export const nodeSelectorOperators = NodeSelectorOperatorSchema.options;

/** A node selector operator. */
export type NodeSelectorOperator = (typeof nodeSelectorOperators)[number];

/** The operator Karpenter derives from a requirement's set (bounds read as Exists or NotIn). */
export type DerivedOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

/** A node selector requirement as written, with `values` optional (validated input or model data). */
export interface NodeSelectorRequirementInput {
  key: string;
  operator: NodeSelectorOperator;
  values?: readonly string[];
  minValues?: number;
}

/**
 * Parses a label value as Go's strconv.Atoi does (optional sign, decimal digits, 64-bit range).
 * Returns undefined for anything else. Values beyond 2^53 come back rounded, which keeps their order
 * against the safe-integer bounds requirements carry.
 */
export function parseLabelInteger(value: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(value)) return undefined;
  if (value.length > 18) {
    const big = BigInt(value);
    if (big > 9223372036854775807n || big < -9223372036854775808n) return undefined;
  }
  return Number(value);
}

function withinBounds(value: string, greaterThan: number | undefined, lessThan: number | undefined): boolean {
  if (greaterThan === undefined && lessThan === undefined) return true;
  const n = parseLabelInteger(value);
  if (n === undefined) return false;
  return (greaterThan === undefined || n > greaterThan) && (lessThan === undefined || n < lessThan);
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/** No integer lies strictly between the bounds. */
function boundsEmpty(greaterThan: number | undefined, lessThan: number | undefined): boolean {
  return greaterThan !== undefined && lessThan !== undefined && lessThan - greaterThan <= 1;
}

const noValues: ReadonlySet<string> = new Set();

/**
 * One label key's allowed values: `values` when not `complement`, everything except `values` when
 * `complement`; in both cases only integers strictly between `greaterThan` and `lessThan` when a bound
 * is set. Only complemented requirements keep bounds (a finite set is filtered by them instead), as in
 * Karpenter. Immutable.
 */
export class Requirement {
  /** The (normalized) label key. */
  readonly key: string;
  /** True when the set is everything except `values`. */
  readonly complement: boolean;
  /** Exclusive integer lower bound, from Gt n (n) or Gte n (n - 1). */
  readonly greaterThan: number | undefined;
  /** Exclusive integer upper bound, from Lt n (n) or Lte n (n + 1). */
  readonly lessThan: number | undefined;
  /** Distinct values the final instance type options must cover on this key (Karpenter's minValues). */
  readonly minValues: number | undefined;
  private readonly set: ReadonlySet<string>;

  private constructor(
    key: string,
    complement: boolean,
    set: ReadonlySet<string>,
    greaterThan: number | undefined,
    lessThan: number | undefined,
    minValues: number | undefined,
  ) {
    this.key = key;
    this.complement = complement;
    this.set = set;
    this.greaterThan = greaterThan;
    this.lessThan = lessThan;
    this.minValues = minValues;
  }

  /** `key In values`: exactly these values. */
  static in(key: string, values: Iterable<string>, minValues?: number): Requirement {
    return new Requirement(normalizeLabelKey(key), false, new Set(values), undefined, undefined, minValues);
  }

  /** `key NotIn values`: anything but these values (including no value at all). */
  static notIn(key: string, values: Iterable<string>, minValues?: number): Requirement {
    return new Requirement(normalizeLabelKey(key), true, new Set(values), undefined, undefined, minValues);
  }

  /** `key Exists`: any value. Also what an absent key means inside `Requirements.get`. */
  static exists(key: string, minValues?: number): Requirement {
    return new Requirement(normalizeLabelKey(key), true, noValues, undefined, undefined, minValues);
  }

  /** `key DoesNotExist`: the empty set (not a complement), as Karpenter models it. */
  static doesNotExist(key: string, minValues?: number): Requirement {
    return new Requirement(normalizeLabelKey(key), false, noValues, undefined, undefined, minValues);
  }

  /** Integers strictly between the bounds (either may be undefined). */
  static between(
    key: string,
    greaterThan: number | undefined,
    lessThan: number | undefined,
    minValues?: number,
  ): Requirement {
    if (boundsEmpty(greaterThan, lessThan)) return Requirement.doesNotExist(key, minValues);
    return new Requirement(normalizeLabelKey(key), true, noValues, greaterThan, lessThan, minValues);
  }

  /**
   * Builds a requirement from a node selector requirement, as Karpenter's NewRequirementWithFlexibility
   * does. Validate raw input with `parseNodeSelectorRequirements` (or the model's schema) first; a bound
   * that is not an integer never gets past either, and reads here as kube-scheduler reads it (no node
   * matches) rather than throwing.
   */
  static fromNodeSelector(r: NodeSelectorRequirementInput): Requirement {
    const values = r.values ?? [];
    switch (r.operator) {
      case "In":
        return Requirement.in(r.key, values, r.minValues);
      case "NotIn":
        return Requirement.notIn(r.key, values, r.minValues);
      case "Exists":
        return Requirement.exists(r.key, r.minValues);
      case "DoesNotExist":
        return Requirement.doesNotExist(r.key, r.minValues);
      default: {
        const bound = parseLabelInteger(values[0] ?? "");
        if (bound === undefined) return Requirement.doesNotExist(r.key, r.minValues);
        if (r.operator === "Gt") return Requirement.between(r.key, bound, undefined, r.minValues);
        if (r.operator === "Gte") return Requirement.between(r.key, bound - 1, undefined, r.minValues);
        if (r.operator === "Lt") return Requirement.between(r.key, undefined, bound, r.minValues);
        return Requirement.between(r.key, undefined, bound + 1, r.minValues);
      }
    }
  }

  /** Does the requirement admit this label value? */
  has(value: string): boolean {
    return this.set.has(value) !== this.complement && withinBounds(value, this.greaterThan, this.lessThan);
  }

  /**
   * The values both requirements admit (Karpenter's Intersection): complements union their exclusions,
   * a finite set loses what the other excludes, bounds tighten, minValues takes the larger. The key is
   * this requirement's.
   */
  intersection(other: Requirement): Requirement {
    const complement = this.complement && other.complement;
    const greaterThan = maxDefined(this.greaterThan, other.greaterThan);
    const lessThan = minDefined(this.lessThan, other.lessThan);
    const minValues = maxDefined(this.minValues, other.minValues);
    if (boundsEmpty(greaterThan, lessThan)) return Requirement.doesNotExist(this.key, minValues);
    const values = new Set<string>();
    if (complement) {
      for (const v of this.set) if (withinBounds(v, greaterThan, lessThan)) values.add(v);
      for (const v of other.set) if (withinBounds(v, greaterThan, lessThan)) values.add(v);
      return new Requirement(this.key, true, values, greaterThan, lessThan, minValues);
    }
    // At least one side is finite: walk it and keep what the other side admits within the joint bounds.
    const [finite, rest] = this.complement ? [other, this] : [this, other];
    for (const v of finite.set) {
      if (rest.set.has(v) !== rest.complement && withinBounds(v, greaterThan, lessThan)) values.add(v);
    }
    return new Requirement(this.key, false, values, undefined, undefined, minValues);
  }

  /**
   * Karpenter's HasIntersection: false when the bounds leave no integer or a finite side has no value
   * the other admits; true whenever both sides are complements (even if their exclusions happen to
   * cover every integer the bounds leave, a case Karpenter does not look for).
   */
  hasIntersection(other: Requirement): boolean {
    const greaterThan = maxDefined(this.greaterThan, other.greaterThan);
    const lessThan = minDefined(this.lessThan, other.lessThan);
    if (boundsEmpty(greaterThan, lessThan)) return false;
    if (this.complement && other.complement) return true;
    const [finite, rest] = this.complement ? [other, this] : [this, other];
    for (const v of finite.set) {
      if (rest.set.has(v) !== rest.complement && withinBounds(v, greaterThan, lessThan)) return true;
    }
    return false;
  }

  /** Karpenter's derived operator: complements read as NotIn (with exclusions) or Exists; bounds are not shown. */
  operator(): DerivedOperator {
    if (this.complement) return this.set.size > 0 ? "NotIn" : "Exists";
    return this.set.size > 0 ? "In" : "DoesNotExist";
  }

  /** Number of admitted values: the set's size, or Infinity for a complement (bounds are not counted, as in Karpenter). */
  len(): number {
    return this.complement ? Number.POSITIVE_INFINITY : this.set.size;
  }

  /** The admitted values, sorted, when the set is finite; undefined for a complement. */
  values(): readonly string[] | undefined {
    return this.complement ? undefined : [...this.set].sort();
  }

  /** The excluded values of a complement, sorted (empty for a finite set). */
  excluded(): readonly string[] {
    return this.complement ? [...this.set].sort() : [];
  }

  /**
   * One admitted value, chosen deterministically (Karpenter picks at random): the smallest value of a
   * finite set; for a complement the integer nearest the lower bound (or 0) that is not excluded.
   * Undefined when nothing is admitted.
   */
  any(): string | undefined {
    if (!this.complement) {
      let first: string | undefined;
      for (const v of this.set) if (first === undefined || v < first) first = v;
      return first;
    }
    const { greaterThan: gt, lessThan: lt } = this;
    const descending = gt === undefined && lt !== undefined && lt <= 0;
    let n = gt !== undefined ? gt + 1 : descending ? (lt as number) - 1 : 0;
    // Exclusions are finite, so at most |excluded| + 1 steps find a free integer or leave the bounds.
    for (let step = 0; step <= this.set.size; step++) {
      if ((gt !== undefined && n <= gt) || (lt !== undefined && n >= lt)) return undefined;
      if (!this.set.has(String(n))) return String(n);
      n += descending ? -1 : 1;
    }
    return undefined;
  }

  /** The same set with another minValues. */
  withMinValues(minValues: number | undefined): Requirement {
    return new Requirement(this.key, this.complement, this.set, this.greaterThan, this.lessThan, minValues);
  }

  /**
   * Karpenter's single node selector requirement for this set (NodeSelectorRequirement()): a bound wins
   * (`Gte` from the lower, else `Lte`), then NotIn/Exists/In/DoesNotExist. Lossy when a complement has
   * both bounds or bounds and exclusions; `toNodeSelectorRequirements` is exact.
   */
  toNodeSelectorRequirement(): NodeSelectorRequirement {
    const out = (operator: NodeSelectorOperator, values: string[]): NodeSelectorRequirement => {
      const r: NodeSelectorRequirement = { key: this.key, operator, values };
      if (this.minValues !== undefined) r.minValues = this.minValues;
      return r;
    };
    if (this.greaterThan !== undefined) return out("Gte", [String(this.greaterThan + 1)]);
    if (this.lessThan !== undefined) return out("Lte", [String(this.lessThan - 1)]);
    return out(this.operator(), [...this.set].sort());
  }

  /**
   * Node selector requirements (ANDed) that admit exactly this set, for NodeClaim output: `Gte`/`Lte` for
   * bounds (as Karpenter v1.14 writes them), plus `NotIn` for exclusions inside the bounds. Each carries
   * minValues.
   */
  toNodeSelectorRequirements(): NodeSelectorRequirement[] {
    if (this.greaterThan === undefined && this.lessThan === undefined)
      return [this.toNodeSelectorRequirement()];
    const out: NodeSelectorRequirement[] = [];
    const push = (operator: NodeSelectorOperator, values: string[]) => {
      const r: NodeSelectorRequirement = { key: this.key, operator, values };
      if (this.minValues !== undefined) r.minValues = this.minValues;
      out.push(r);
    };
    if (this.greaterThan !== undefined) push("Gte", [String(this.greaterThan + 1)]);
    if (this.lessThan !== undefined) push("Lte", [String(this.lessThan - 1)]);
    if (this.set.size > 0) push("NotIn", [...this.set].sort());
    return out;
  }

  /** Same key, set, bounds and minValues. */
  equals(other: Requirement): boolean {
    if (
      this.key !== other.key ||
      this.complement !== other.complement ||
      this.greaterThan !== other.greaterThan ||
      this.lessThan !== other.lessThan ||
      this.minValues !== other.minValues ||
      this.set.size !== other.set.size
    ) {
      return false;
    }
    for (const v of this.set) if (!other.set.has(v)) return false;
    return true;
  }

  /** A short human form such as `kubernetes.io/arch In [amd64 arm64]` or `cpu Exists >4 <9`; for logs and tests. */
  toString(): string {
    const op = this.operator();
    let s = `${this.key} ${op}`;
    if (op === "In" || op === "NotIn") s += ` [${[...this.set].sort().join(" ")}]`;
    if (this.greaterThan !== undefined) s += ` >${this.greaterThan}`;
    if (this.lessThan !== undefined) s += ` <${this.lessThan}`;
    if (this.minValues !== undefined) s += ` minValues ${this.minValues}`;
    return s;
  }
}

/**
 * Requirements on several keys, ANDed: key -> Requirement. Immutable; iteration and `keys()` follow
 * sorted key order so everything built from them is deterministic.
 */
export class Requirements implements Iterable<Requirement> {
  /** No requirement on any key. */
  static readonly EMPTY: Requirements = new Requirements(new Map());

  private readonly byKey: ReadonlyMap<string, Requirement>;
  private sortedKeys: readonly string[] | undefined;

  private constructor(byKey: ReadonlyMap<string, Requirement>) {
    this.byKey = byKey;
  }

  /** Requirements from individual ones; two on the same key are intersected (Karpenter's Add). */
  static of(requirements: Iterable<Requirement>): Requirements {
    return Requirements.EMPTY.with(requirements);
  }

  /**
   * From node selector requirements (a NodePool's, a pod's affinity term, a NodeClaim's), intersecting
   * repeats of a key. Trusts its input; `parseNodeSelectorRequirements` validates raw input.
   */
  static fromNodeSelectorRequirements(list: Iterable<NodeSelectorRequirementInput>): Requirements {
    const reqs: Requirement[] = [];
    for (const r of list) reqs.push(Requirement.fromNodeSelector(r));
    return Requirements.of(reqs);
  }

  /** `key In [value]` for each label (a node's labels, an instance type's, a template's). */
  static fromLabels(labels: Readonly<Record<string, string>>): Requirements {
    const reqs: Requirement[] = [];
    for (const key of Object.keys(labels)) reqs.push(Requirement.in(key, [labels[key] as string]));
    return Requirements.of(reqs);
  }

  /** A pod's `nodeSelector` map: the same as `fromLabels`. */
  static fromNodeSelector(nodeSelector: Readonly<Record<string, string>>): Requirements {
    return Requirements.fromLabels(nodeSelector);
  }

  /** These requirements with more added, each intersected with what is already there on its key. */
  with(requirements: Iterable<Requirement>): Requirements {
    let next: Map<string, Requirement> | undefined;
    for (const r of requirements) {
      next ??= new Map(this.byKey);
      const existing = next.get(r.key);
      next.set(r.key, existing === undefined ? r : existing.intersection(r));
    }
    return next === undefined ? this : new Requirements(next);
  }

  /** Number of keys constrained. */
  get size(): number {
    return this.byKey.size;
  }

  /** Is the key constrained (even by Exists)? */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** The requirement on a key; an unconstrained key reads as `Exists`, as in Karpenter. */
  get(key: string): Requirement {
    return this.byKey.get(key) ?? Requirement.exists(key);
  }

  /** The requirement on a key, or undefined when the key is unconstrained. */
  find(key: string): Requirement | undefined {
    return this.byKey.get(key);
  }

  /** Constrained keys, sorted. */
  keys(): readonly string[] {
    this.sortedKeys ??= Object.freeze([...this.byKey.keys()].sort());
    return this.sortedKeys;
  }

  /** Requirements in sorted key order. */
  *[Symbol.iterator](): Iterator<Requirement> {
    for (const key of this.keys()) yield this.byKey.get(key) as Requirement;
  }

  /** Does any requirement carry minValues? */
  hasMinValues(): boolean {
    for (const r of this.byKey.values()) if (r.minValues !== undefined) return true;
    return false;
  }

  /** Keys whose requirement admits exactly one value, as a label map (sorted keys): the labels a claim gets. */
  labels(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const r of this) {
      const values = r.values();
      if (values?.length === 1) out[r.key] = values[0] as string;
    }
    return out;
  }

  /** Node selector requirements admitting exactly these sets (sorted by key), for NodeClaim output. */
  toNodeSelectorRequirements(): NodeSelectorRequirement[] {
    const out: NodeSelectorRequirement[] = [];
    for (const r of this) out.push(...r.toNodeSelectorRequirements());
    return out;
  }

  /** Same keys with equal requirements. */
  equals(other: Requirements): boolean {
    if (this.size !== other.size) return false;
    for (const r of this) {
      const o = other.find(r.key);
      if (o === undefined || !r.equals(o)) return false;
    }
    return true;
  }

  /** `a In [x], b Exists, ...` in key order; for logs and tests. */
  toString(): string {
    return [...this].map(String).join(", ");
  }
}

/** Both sets of requirements at once: union of keys, per-key intersection (minValues = max). */
export function intersect(a: Requirements, b: Requirements): Requirements {
  if (a.size === 0) return b;
  if (b.size === 0) return a;
  return a.with(b);
}

/**
 * Why two sets of requirements cannot hold at once, as data. `nodeRequirement` is the existing (node,
 * NodePool, claim) side, `podRequirement` the incoming side, each as node selector requirements.
 */
export interface RequirementConflict {
  /** `undefined_label`: the pod requires a custom label the node side does not define; `no_intersection`: no common value. */
  code: "undefined_label" | "no_intersection";
  key: string;
  podRequirement: NodeSelectorRequirement[];
  /** Absent for `undefined_label`. */
  nodeRequirement?: NodeSelectorRequirement[];
  /** A defined or well-known key the undefined one may be a typo of (Karpenter's hint). */
  didYouMean?: string;
}

/** The outcome of `intersects` and `compatible`. */
export type RequirementsCheck = { ok: true } | { ok: false; reason: RequirementConflict };

const OK: RequirementsCheck = Object.freeze({ ok: true });

/** Does the requirement let the label be absent (derived operator NotIn or DoesNotExist)? */
export function admitsAbsence(r: Requirement): boolean {
  const op = r.operator();
  return op === "NotIn" || op === "DoesNotExist";
}

/**
 * Karpenter's per-key rule inside Intersects: the two requirements on one key agree when they have a
 * common value, or when both allow the label to be absent (NotIn or DoesNotExist). Symmetric.
 */
export function requirementsAgree(a: Requirement, b: Requirement): boolean {
  return a.hasIntersection(b) || (admitsAbsence(a) && admitsAbsence(b));
}

/**
 * Karpenter's Intersects(existing, incoming): every key both constrain must have a common value,
 * except that two requirements that both allow the label to be absent (NotIn or DoesNotExist) always
 * agree. Keys only one side constrains are fine. Symmetric; the first conflict in key order is reported.
 */
export function intersects(existing: Requirements, incoming: Requirements): RequirementsCheck {
  const [small, other] = existing.size <= incoming.size ? [existing, incoming] : [incoming, existing];
  let first: string | undefined;
  // Keys come sorted, so the first conflict found is the first in key order.
  for (const key of small.keys()) {
    const a = small.find(key) as Requirement;
    const b = other.find(key);
    if (b === undefined || requirementsAgree(a, b)) continue;
    first = key;
    break;
  }
  if (first === undefined) return OK;
  return {
    ok: false,
    reason: {
      code: "no_intersection",
      key: first,
      podRequirement: incoming.get(first).toNodeSelectorRequirements(),
      nodeRequirement: existing.get(first).toNodeSelectorRequirements(),
    },
  };
}

/** Options for `compatible`. */
export interface CompatibleOptions {
  /** Keys the node side may leave undefined (pass `WELL_KNOWN_LABEL_SET`, or a provider's extension). */
  allowUndefined?: ReadonlySet<string>;
}

function keySuffix(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? key : key.slice(slash + 1);
}

function typoHint(node: Requirements, key: string, allowUndefined: ReadonlySet<string>): string | undefined {
  const suffix = keySuffix(key);
  for (const candidate of [...[...allowUndefined].sort(), ...node.keys()]) {
    if (candidate.includes(key) || candidate.endsWith(suffix)) return candidate;
  }
  return undefined;
}

/**
 * Karpenter's Requirements.Compatible(node, pod): each key the pod constrains must be defined on the
 * node side, unless the key is in `allowUndefined` or the pod's requirement allows absence (NotIn,
 * DoesNotExist); then `intersects(node, pod)`. Undefined-key problems are reported before value
 * conflicts, each the first in key order.
 */
export function compatible(
  node: Requirements,
  pod: Requirements,
  options: CompatibleOptions = {},
): RequirementsCheck {
  const allowUndefined = options.allowUndefined ?? noValues;
  for (const key of pod.keys()) {
    if (allowUndefined.has(key) || node.has(key)) continue;
    const r = pod.find(key) as Requirement;
    if (admitsAbsence(r)) continue;
    const reason: RequirementConflict = {
      code: "undefined_label",
      key: r.key,
      podRequirement: r.toNodeSelectorRequirements(),
    };
    const hint = typoHint(node, r.key, allowUndefined);
    if (hint !== undefined) reason.didYouMean = hint;
    return { ok: false, reason };
  }
  return intersects(node, pod);
}

/** A key whose minValues the candidates do not reach. */
export interface MinValuesShortfall {
  key: string;
  minValues: number;
  /** Distinct admitted values the candidates carry on the key. */
  available: number;
}

/**
 * A candidate for minValues counting: an instance type or offering, by its labels and/or its own
 * requirements (whose finite value sets count, as Karpenter counts an instance type's zones).
 */
export interface MinValuesCandidate {
  labels?: Readonly<Record<string, string>>;
  requirements?: Requirements;
}

function candidateValues(c: MinValuesCandidate, key: string, into: Set<string>, admit: Requirement): void {
  const label = c.labels?.[key];
  if (label !== undefined && admit.has(label)) into.add(label);
  const values = c.requirements?.find(key)?.values();
  if (values !== undefined) for (const v of values) if (admit.has(v)) into.add(v);
}

/**
 * Keys (sorted) whose distinct admitted values among the candidates fall short of their minValues.
 * Empty when every minValues is met (or none is set).
 */
export function checkMinValues(
  reqs: Requirements,
  candidates: Iterable<MinValuesCandidate>,
): MinValuesShortfall[] {
  const withMin = [...reqs].filter((r) => r.minValues !== undefined);
  if (withMin.length === 0) return [];
  const seen = withMin.map(() => new Set<string>());
  for (const c of candidates) {
    withMin.forEach((r, i) => {
      candidateValues(c, r.key, seen[i] as Set<string>, r);
    });
  }
  const out: MinValuesShortfall[] = [];
  withMin.forEach((r, i) => {
    const available = (seen[i] as Set<string>).size;
    if (available < (r.minValues as number))
      out.push({ key: r.key, minValues: r.minValues as number, available });
  });
  return out;
}

/**
 * The shortest prefix of `candidates` (ordered, e.g. by price) that meets every minValues, as Karpenter's
 * SatisfiesMinValues uses it before truncating options; 0 when no minValues is set, undefined when even
 * all candidates fall short.
 */
export function minValuesPrefixLength(
  reqs: Requirements,
  candidates: readonly MinValuesCandidate[],
): number | undefined {
  const withMin = [...reqs].filter((r) => r.minValues !== undefined);
  if (withMin.length === 0) return 0;
  const seen = withMin.map(() => new Set<string>());
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i] as MinValuesCandidate;
    let met = true;
    withMin.forEach((r, k) => {
      const set = seen[k] as Set<string>;
      candidateValues(c, r.key, set, r);
      if (set.size < (r.minValues as number)) met = false;
    });
    if (met) return i + 1;
  }
  return undefined;
}

/**
 * Does a concrete label map satisfy one node selector requirement, by Kubernetes' rules? In needs the
 * label with a listed value; NotIn accepts an absent label; Gt/Lt (and Karpenter's Gte/Lte) need the
 * label to parse as an integer.
 */
export function matchesNodeSelectorRequirement(
  labels: Readonly<Record<string, string>>,
  r: NodeSelectorRequirementInput,
): boolean {
  return valueSatisfiesRequirement(Object.hasOwn(labels, r.key) ? labels[r.key] : undefined, r);
}

/**
 * Does one label value (undefined = the label is absent) satisfy a node selector requirement? The one
 * place these rules live; label maps, offerings and NodePool filters all ask through it.
 */
export function valueSatisfiesRequirement(
  value: string | undefined,
  r: NodeSelectorRequirementInput,
): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    default: {
      if (value === undefined) return false;
      const n = parseLabelInteger(value);
      const bound = parseLabelInteger(values[0] ?? "");
      if (n === undefined || bound === undefined) return false;
      if (r.operator === "Gt") return n > bound;
      if (r.operator === "Lt") return n < bound;
      if (r.operator === "Gte") return n >= bound;
      return n <= bound;
    }
  }
}

/**
 * Required node affinity: terms are ORed, a term's expressions ANDed. As in Kubernetes, an empty list
 * of terms and a term without expressions match nothing; a pod without required affinity has no terms
 * to check at all, which the caller decides before calling.
 */
export function matchesNodeSelectorTerms(
  labels: Readonly<Record<string, string>>,
  terms: readonly Pick<NodeSelectorTerm, "matchExpressions">[],
): boolean {
  return terms.some(
    (t) =>
      t.matchExpressions.length > 0 &&
      t.matchExpressions.every((r) => matchesNodeSelectorRequirement(labels, r)),
  );
}

/** The outcome of `parseNodeSelectorRequirements`: the valid entries as Requirements, and an error per invalid one. */
export interface ParsedRequirements {
  requirements: Requirements;
  /** The valid entries, as given (key normalization happens inside Requirements). */
  valid: NodeSelectorRequirement[];
  errors: InputError[];
}

const MAX_MIN_VALUES = 50;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * Validates one raw node selector requirement `{ key, operator, values?, minValues? }`: a qualified key,
 * a known operator, In/NotIn with values, Exists/DoesNotExist without, Gt/Lt/Gte/Lte with exactly one
 * integer (within ±2^53), minValues an integer 1..50 that an In requirement's values can meet. Returns
 * the requirement or every error found, each at its path.
 */
export function validateNodeSelectorRequirement(
  raw: unknown,
  path: IssuePath = [],
): { ok: true; value: NodeSelectorRequirement } | { ok: false; errors: InputError[] } {
  const err = (sub: IssuePath, expected: string, value?: unknown): InputError => {
    const e: InputError = { code: "invalid_requirement", path: [...path, ...sub], expected };
    if (value !== undefined)
      e.value = (typeof value === "string" ? value : JSON.stringify(value)).slice(0, 64);
    return e;
  };
  if (!isRecord(raw)) return { ok: false, errors: [err([], "an object with key, operator and values")] };
  const errors: InputError[] = [];
  const { key, operator, values, minValues } = raw;
  if (typeof key !== "string" || !isQualifiedName(key)) {
    errors.push(err(["key"], "a qualified label key such as example.com/name", key));
  }
  const knownOperator =
    typeof operator === "string" && (nodeSelectorOperators as readonly string[]).includes(operator)
      ? (operator as NodeSelectorOperator)
      : undefined;
  if (knownOperator === undefined) errors.push(err(["operator"], nodeSelectorOperators.join(", "), operator));
  let list: string[] = [];
  if (values !== undefined && values !== null) {
    if (!Array.isArray(values)) errors.push(err(["values"], "a list of strings", values));
    else {
      values.forEach((v, i) => {
        if (typeof v !== "string") errors.push(err(["values", i], "a string", v));
      });
      list = values.filter((v): v is string => typeof v === "string");
    }
  }
  const count = Array.isArray(values) ? values.length : 0;
  if (knownOperator === "In" || knownOperator === "NotIn") {
    if (count === 0) errors.push(err(["values"], `at least one value for ${knownOperator}`));
  } else if (knownOperator === "Exists" || knownOperator === "DoesNotExist") {
    if (count > 0) errors.push(err(["values"], `no values for ${knownOperator}`));
  } else if (knownOperator !== undefined) {
    if (count !== 1) errors.push(err(["values"], `exactly one integer value for ${knownOperator}`));
    else {
      const n = parseLabelInteger(list[0] ?? "");
      if (n === undefined || !Number.isSafeInteger(n)) {
        errors.push(
          err(["values", 0], "an integer between -(2^53-1) and 2^53-1", list[0] ?? (values as unknown[])[0]),
        );
      }
    }
  }
  if (minValues !== undefined) {
    if (
      typeof minValues !== "number" ||
      !Number.isInteger(minValues) ||
      minValues < 1 ||
      minValues > MAX_MIN_VALUES
    ) {
      errors.push(err(["minValues"], `an integer from 1 to ${MAX_MIN_VALUES}`, minValues));
    } else if (knownOperator === "In" && count < minValues) {
      errors.push(err(["minValues"], `at most as many as the ${count} values listed`, minValues));
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const value: NodeSelectorRequirement = {
    key: key as string,
    operator: knownOperator as NodeSelectorOperator,
    values: list,
  };
  if (minValues !== undefined) value.minValues = minValues as number;
  return { ok: true, value };
}

/**
 * Validates a raw list of node selector requirements and builds Requirements from the valid ones;
 * invalid entries are reported (path `[...path, index, field]`) and left out.
 */
export function parseNodeSelectorRequirements(raw: unknown, path: IssuePath = []): ParsedRequirements {
  if (raw === undefined || raw === null) return { requirements: Requirements.EMPTY, valid: [], errors: [] };
  if (!Array.isArray(raw)) {
    return {
      requirements: Requirements.EMPTY,
      valid: [],
      errors: [
        { code: "invalid_requirement", path: [...path], expected: "a list of node selector requirements" },
      ],
    };
  }
  const valid: NodeSelectorRequirement[] = [];
  const errors: InputError[] = [];
  raw.forEach((entry, i) => {
    const result = validateNodeSelectorRequirement(entry, [...path, i]);
    if (result.ok) valid.push(result.value);
    else errors.push(...result.errors);
  });
  return { requirements: Requirements.fromNodeSelectorRequirements(valid), valid, errors };
}
