import { NODE_FEE_ANNOTATION, parseFeePerHour } from "./costs.ts";
import type { Strategy } from "./decide/strategy.ts";
import type {
  CommandInProgress,
  ControllerMemory,
  DecideOptions,
  DecisionPod,
  DecisionState,
  LaunchFailure,
} from "./decide/types.ts";
import type { DisruptionInput } from "./disruption/input.ts";
import type { LoopOptions } from "./disruption/loop.ts";
import { parseDurationMillis, parseNillableDurationMillis } from "./duration.ts";
import { formatPath, type InputError, renderInputError } from "./errors.ts";
import { deeplyFrozen } from "./frozen.ts";
import { ListFacts } from "./list-facts.ts";
import {
  type DaemonSet,
  type InstanceType,
  type InterruptionEvent,
  type Node,
  type NodePool,
  type Pod,
  type PodDisruptionBudget,
  requirementValuesProblem,
} from "./model.ts";
import type { PlanError } from "./plan.ts";
import type { UnavailableOffering } from "./providers.ts";
import type { ProvisioningInput } from "./provisioning/input.ts";

/**
 * The solver's boundary check. `solver.provision` and `solver.planDisruption` take model objects,
 * normally made by the zod schemas (adapters, `parse*` helpers); a caller may also build them by hand,
 * and a plain object typed as the model can hold anything. Parsing 100k pods with zod costs seconds, so
 * this is a hand-written structural check of what the solver reads, field by field, in one pass and
 * without copying what is sound: types, integers and finite numbers where the schema wants them, enums,
 * timestamps, durations, and requirement values (Gt/Lt take one integer). It accepts every object the
 * schemas produce (tested against them) and never accepts one they reject.
 *
 * A bad object is left out and reported (an InputError naming it and the field, paths from the
 * input's root such as `pods[3].requests.cpuMillis`): a pending pod is not planned; a bound pod's node
 * takes no new pods (what it uses is unknown); a node, NodePool, instance type, DaemonSet, namespace,
 * interruption event or option is dropped; an unreadable PodDisruptionBudget protects every pod of its
 * namespace (evicting nothing is the safe reading). An input that cannot be read at all (not an
 * object, a collection that is not a list, `now` not a timestamp, `nominated` not a map) gives no input,
 * only errors: the solver then plans nothing and says why.
 */

/** The input with the objects that failed left out (the same object when nothing failed), and why. */
export interface CheckedInput<T> {
  /** Undefined when the input cannot be read at all. */
  input: T | undefined;
  errors: InputError[];
}

/** Input errors as a plan's `errors` entries (path written as `pods[3].requests.cpuMillis`). */
export function toPlanErrors(errors: readonly InputError[], source: string): PlanError[] {
  return errors.map((e) => ({
    source: e.source ?? source,
    path: formatPath(e.path),
    code: e.code,
    message: renderInputError({ ...e, source: e.source ?? source }),
  }));
}

const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;
const budgetNodesPattern = /^((100|[0-9]{1,2})%|[0-9]+)$/;
const percentPattern = /^[0-9]+%$/;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (typeof v === "string") return v.slice(0, 64);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  if (typeof v === "function") return "a function";
  return Array.isArray(v) ? "a list" : "an object";
}

/**
 * Collects errors at a path kept as a stack (pushed and popped around each field), so the sound case
 * allocates nothing; the rules below are built once, at load, and take the Check as context.
 */
class Check {
  readonly errors: InputError[] = [];
  readonly path: (string | number)[] = [];
  /** The object errors found now belong to (its kind and the value, named only when an error needs it). */
  kind: string | undefined;
  subject: unknown;
  /** Timestamps already read (pods of one workload share theirs). */
  readonly timestamps = new Map<string, boolean>();

  /**
   * False: only say whether a value passes (no path kept, no error recorded, first failure ends it);
   * an object that fails is then checked again in detail to say why.
   */
  detailed = true;

  fail(expected: string, value: unknown, at?: string | number): false {
    if (!this.detailed) return false;
    const path = at === undefined ? [...this.path] : [...this.path, at];
    const error: InputError = { code: "invalid_schema", path, expected, value: show(value) };
    const object = this.kind === undefined ? undefined : describe(this.kind, this.subject);
    if (object !== undefined) error.object = object;
    this.errors.push(error);
    return false;
  }

  /** Runs `rule` on `v` with `at` appended to the path. */
  at(at: string | number, v: unknown, rule: Rule): boolean {
    if (!this.detailed) return rule(this, v);
    this.path.push(at);
    const ok = rule(this, v);
    this.path.pop();
    return ok;
  }

  /** Runs `body` with `path` appended to the path. */
  under<T>(path: readonly (string | number)[], body: () => T): T {
    for (const p of path) this.path.push(p);
    try {
      return body();
    } finally {
      this.path.length -= path.length;
    }
  }
}

/** A check of one value; false after recording why it fails. */
type Rule = (c: Check, v: unknown) => boolean;
/** A field of an object: its key, its rule, and whether it may be absent. */
type Field = readonly [key: string, rule: Rule, optional?: boolean];

const str: Rule = (c, v) => typeof v === "string" || c.fail("a string", v);
const nonEmpty: Rule = (c, v) => (typeof v === "string" && v !== "") || c.fail("a non-empty string", v);
const bool: Rule = (c, v) => typeof v === "boolean" || c.fail("true or false", v);

function int(min: number, max = Number.MAX_SAFE_INTEGER): Rule {
  const expected = `an integer from ${min} to ${max}`;
  return (c, v) =>
    (Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max) || c.fail(expected, v);
}

function finite(min: number): Rule {
  const expected = `a finite number of at least ${min}`;
  return (c, v) => (typeof v === "number" && Number.isFinite(v) && v >= min) || c.fail(expected, v);
}

function oneOf(...values: string[]): Rule {
  const set = new Set(values);
  const expected = values.join(", ");
  return (c, v) => (typeof v === "string" && set.has(v)) || c.fail(expected, v);
}

const timestamp: Rule = (c, v) => {
  if (typeof v === "string") {
    let ok = c.timestamps.get(v);
    if (ok === undefined) {
      ok = timestampPattern.test(v) && Number.isFinite(Date.parse(v));
      c.timestamps.set(v, ok);
    }
    if (ok) return true;
  }
  return c.fail("an RFC 3339 timestamp such as 2026-11-01T00:00:00Z", v);
};

const duration: Rule = (c, v) => {
  const ms = typeof v === "string" ? parseDurationMillis(v) : null;
  return (ms !== null && ms >= 0) || c.fail("a duration such as 30s, 15m or 720h", v);
};

const nillableDuration: Rule = (c, v) =>
  (typeof v === "string" && parseNillableDurationMillis(v).ok) ||
  c.fail("a duration such as 30s, 15m, 720h, or Never", v);

function list(each: Rule): Rule {
  return (c, v) => {
    if (!Array.isArray(v)) return c.fail("a list", v);
    let ok = true;
    for (let i = 0; i < v.length; i++)
      if (!c.at(i, v[i], each)) {
        if (!c.detailed) return false;
        ok = false;
      }
    return ok;
  };
}

/** An object whose fields each pass their rule (all are checked, so one pass names every problem), then `more`. */
function object(what: string, fields: readonly Field[], more?: (c: Check, v: Obj) => boolean): Rule {
  const keys = fields.map((f) => f[0]);
  const rules = fields.map((f) => f[1]);
  const optional = fields.map((f) => f[2] === true);
  return (c, v) => {
    if (!isObject(v)) return c.fail(what, v);
    let ok = true;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const x = v[key];
      if (x === undefined && optional[i] === true) continue;
      if (!c.detailed) {
        if (!(rules[i] as Rule)(c, x)) return false;
        continue;
      }
      c.path.push(key);
      if (!(rules[i] as Rule)(c, x)) ok = false;
      c.path.pop();
    }
    return (ok && (more === undefined || more(c, v))) || false;
  };
}

const strings = list(str);

/** A map of string values (labels, annotations, node selectors). */
const labels: Rule = (c, v) => {
  if (!isObject(v)) return c.fail("a map of strings", v);
  let ok = true;
  for (const k in v) if (typeof v[k] !== "string") ok = c.fail("a string", v[k], k);
  return ok;
};

/** A resource vector: whole quantities (cpuMillis, memoryBytes, ...), none negative. */
const resources: Rule = (c, v) => {
  if (!isObject(v)) return c.fail("a map of resource quantities", v);
  let ok = true;
  for (const k in v) {
    const x = v[k];
    if (k === "") ok = c.fail("a resource name", k);
    else if (!Number.isSafeInteger(x) || (x as number) < 0)
      ok = c.fail("a whole quantity from 0 to 2^53-1 (cpuMillis, memoryBytes, ...)", x, k);
  }
  return ok;
};

/** Gt, Lt, Gte and Lte take one integer (requirementValuesProblem, shared with the schema). */
const requirementValues = (c: Check, r: Obj): boolean => {
  const values = r.values as unknown[];
  const problem = requirementValuesProblem(r.operator as string, values);
  if (problem === undefined) return true;
  return c.at("values", values, (cc) =>
    problem.index === undefined ? cc.fail(problem.expected, values) : cc.fail(problem.expected, values[0], 0),
  );
};

const requirement = object(
  "a requirement { key, operator, values }",
  [
    ["key", nonEmpty],
    ["operator", oneOf("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte")],
    ["values", strings],
    ["minValues", int(1, 50), true],
  ],
  requirementValues,
);
const requirements = list(requirement);
const nodeSelectorTerm = object("a node selector term { matchExpressions }", [
  ["matchExpressions", requirements],
]);
const nodeSelectorTerms = list(nodeSelectorTerm);

const labelSelector = object("a label selector { matchLabels, matchExpressions }", [
  ["matchLabels", labels],
  [
    "matchExpressions",
    list(
      object("a selector requirement { key, operator, values }", [
        ["key", nonEmpty],
        ["operator", oneOf("In", "NotIn", "Exists", "DoesNotExist")],
        ["values", strings],
      ]),
    ),
  ],
]);

const taintEffect = oneOf("NoSchedule", "PreferNoSchedule", "NoExecute");
const taints = list(
  object("a taint { key, value, effect }", [
    ["key", nonEmpty],
    ["value", str, true],
    ["effect", taintEffect],
  ]),
);
const tolerations = list(
  object("a toleration", [
    ["key", str, true],
    ["operator", oneOf("Equal", "Exists"), true],
    ["value", str, true],
    ["effect", taintEffect, true],
    ["tolerationSeconds", int(Number.MIN_SAFE_INTEGER), true],
  ]),
);

const policy = oneOf("Honor", "Ignore");
const spreads = list(
  object("a topology spread constraint", [
    ["maxSkew", int(1)],
    ["topologyKey", nonEmpty],
    ["whenUnsatisfiable", oneOf("DoNotSchedule", "ScheduleAnyway")],
    ["labelSelector", labelSelector, true],
    ["minDomains", int(1), true],
    ["nodeAffinityPolicy", policy],
    ["nodeTaintsPolicy", policy],
    ["matchLabelKeys", strings],
  ]),
);

const weight = int(1, 100);
const affinityTerm = object("a pod affinity term", [
  ["labelSelector", labelSelector, true],
  ["namespaces", strings],
  ["namespaceSelector", labelSelector, true],
  ["topologyKey", nonEmpty],
  ["matchLabelKeys", strings],
  ["mismatchLabelKeys", strings],
]);
const podAffinity = object("{ required, preferred }", [
  ["required", list(affinityTerm)],
  [
    "preferred",
    list(
      object("{ weight, term }", [
        ["weight", weight],
        ["term", affinityTerm],
      ]),
    ),
  ],
]);

const capacityType = oneOf("reserved", "spot", "on-demand");
const priority = int(Number.MIN_SAFE_INTEGER);

const preferredNodeAffinity = list(
  object("{ weight, preference }", [
    ["weight", weight],
    ["preference", nodeSelectorTerm],
  ]),
);
const hostPorts = list(
  object("a host port { port, protocol, hostIP }", [
    ["port", int(1, 65535)],
    ["protocol", oneOf("TCP", "UDP", "SCTP")],
    ["hostIP", str],
  ]),
);
const owner = object("an owner reference", [
  ["kind", str],
  ["name", str],
  ["uid", str, true],
  ["controller", bool],
]);

const pod = object("a pod", [
  ["namespace", nonEmpty],
  ["name", nonEmpty],
  ["uid", nonEmpty],
  ["labels", labels],
  ["annotations", labels],
  ["creationTimestamp", timestamp],
  ["requests", resources],
  ["nodeSelector", labels],
  ["requiredNodeAffinity", nodeSelectorTerms],
  ["preferredNodeAffinity", preferredNodeAffinity],
  ["podAffinity", podAffinity],
  ["podAntiAffinity", podAffinity],
  ["tolerations", tolerations],
  ["topologySpreadConstraints", spreads],
  ["hostPorts", hostPorts],
  ["volumeRequirements", requirements],
  ["priority", priority],
  ["owner", owner, true],
  ["nodeName", str, true],
  ["phase", oneOf("Pending", "Running", "Succeeded", "Failed", "Unknown")],
  ["provisionable", bool],
  ["daemonSet", bool],
  ["terminating", bool],
  ["startTime", timestamp, true],
]);

const phases = new Set(["Pending", "Running", "Succeeded", "Failed", "Unknown"]);

/** A list, empty or passing `rule`. */
function listOf(c: Check, v: unknown, rule: Rule): boolean {
  return Array.isArray(v) && (v.length === 0 || rule(c, v));
}

/** Pod (anti-)affinity, empty or passing `podAffinity`. */
function affinityOf(c: Check, a: unknown): boolean {
  if (!isObject(a) || !Array.isArray(a.required) || !Array.isArray(a.preferred)) return false;
  return (a.required.length === 0 && a.preferred.length === 0) || podAffinity(c, a);
}

function stringMap(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const k in v) if (typeof v[k] !== "string") return false;
  return true;
}

function quantities(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const k in v) {
    const x = v[k];
    if (k === "" || !Number.isSafeInteger(x) || (x as number) < 0) return false;
  }
  return true;
}

/**
 * `pod` for the pass that only says yes or no, written out with plain property reads: a pod of 100k
 * costs a few dozen monomorphic loads, where the table-driven rule's keyed reads cost several times
 * that. Lists it finds non-empty (rare: constraints) go to the table-driven rules. The fuzz test holds
 * it to `pod`.
 */
const podFast: Rule = (c, v) => {
  if (!isObject(v)) return false;
  const p = v as Partial<Pod> & Obj;
  if (typeof p.namespace !== "string" || p.namespace === "") return false;
  if (typeof p.name !== "string" || p.name === "") return false;
  if (typeof p.uid !== "string" || p.uid === "") return false;
  if (!stringMap(p.labels) || !stringMap(p.annotations) || !stringMap(p.nodeSelector)) return false;
  if (!timestamp(c, p.creationTimestamp) || !quantities(p.requests)) return false;
  if (
    !listOf(c, p.requiredNodeAffinity, nodeSelectorTerms) ||
    !listOf(c, p.preferredNodeAffinity, preferredNodeAffinity) ||
    !listOf(c, p.tolerations, tolerations) ||
    !listOf(c, p.topologySpreadConstraints, spreads) ||
    !listOf(c, p.hostPorts, hostPorts) ||
    !listOf(c, p.volumeRequirements, requirements) ||
    !affinityOf(c, p.podAffinity) ||
    !affinityOf(c, p.podAntiAffinity)
  )
    return false;
  if (!Number.isSafeInteger(p.priority)) return false;
  if (p.owner !== undefined && !owner(c, p.owner)) return false;
  if (p.nodeName !== undefined && typeof p.nodeName !== "string") return false;
  if (typeof p.phase !== "string" || !phases.has(p.phase)) return false;
  if (typeof p.provisionable !== "boolean" || typeof p.daemonSet !== "boolean") return false;
  if (typeof p.terminating !== "boolean") return false;
  return p.startTime === undefined || timestamp(c, p.startTime);
};

const node = object("a node", [
  ["name", nonEmpty],
  ["providerID", str, true],
  ["nodeClaim", str, true],
  ["labels", labels],
  ["annotations", labels],
  ["taints", taints],
  ["capacity", resources],
  ["allocatable", resources],
  ["instanceType", str, true],
  ["zone", str, true],
  ["capacityType", capacityType, true],
  ["nodePool", str, true],
  ["pricePerHour", finite(0), true],
  ["createdAt", timestamp],
  ["initialized", bool],
  ["ready", bool],
  ["deleting", bool],
  ["unschedulable", bool],
  ["inFlight", bool],
  ["lastPodEventAt", timestamp, true],
  ["expireAfter", nillableDuration, true],
]);

const budgetNodes: Rule = (c, v) =>
  (typeof v === "string" && budgetNodesPattern.test(v)) ||
  c.fail("a count such as 5 or a percentage such as 10%", v);

/** A NodePool's own annotations; `nodeplan.dev/node-fee-per-hour` must be an amount (costs.ts). */
const nodePoolAnnotations: Rule = (c, v) => {
  if (!labels(c, v)) return false;
  const fee = (v as Obj)[NODE_FEE_ANNOTATION];
  return (
    fee === undefined ||
    parseFeePerHour(fee as string) !== undefined ||
    c.fail('an amount in dollars per hour (a decimal such as "0.012")', fee, NODE_FEE_ANNOTATION)
  );
};

const nodePool = object("a NodePool", [
  ["name", nonEmpty],
  ["weight", int(0, 100)],
  [
    "template",
    object("a NodePool template", [
      ["labels", labels],
      ["annotations", labels],
      ["taints", taints],
      ["startupTaints", taints],
      ["requirements", requirements],
      [
        "nodeClassRef",
        object("a node class reference { group, kind, name }", [
          ["group", str],
          ["kind", str],
          ["name", str],
        ]),
        true,
      ],
      ["expireAfter", nillableDuration],
      ["terminationGracePeriod", duration, true],
    ]),
  ],
  ["limits", resources],
  [
    "disruption",
    object("a NodePool disruption block", [
      ["consolidationPolicy", oneOf("WhenEmpty", "WhenEmptyOrUnderutilized")],
      ["consolidateAfter", nillableDuration],
      [
        "budgets",
        list(
          object("a disruption budget", [
            ["nodes", budgetNodes],
            ["schedule", str, true],
            ["duration", duration, true],
            ["reasons", list(oneOf("Empty", "Underutilized", "Drifted")), true],
          ]),
        ),
      ],
    ]),
  ],
  ["annotations", nodePoolAnnotations],
]);

/** An offering's price split (costs.ts): non-negative amounts (their sum is checked with the price). */
const costs = object(
  "a cost breakdown { instancePerHour, storagePerHour, networkPerHour, burstableCreditsPerHour, feesPerHour }",
  [
    ["instancePerHour", finite(0)],
    ["storagePerHour", finite(0)],
    ["networkPerHour", finite(0)],
    ["burstableCreditsPerHour", finite(0)],
    ["feesPerHour", finite(0)],
  ],
);

/** As OfferingSchema: a recorded split sums to the offering's price. */
function costsSumToPrice(c: Check, o: Obj): boolean {
  const split = o.costs as Record<string, number> | undefined;
  if (split === undefined) return true;
  let sum = 0;
  for (const k in split) sum += split[k] as number;
  const price = o.pricePerHour as number;
  return (
    Math.abs(sum - price) <= 1e-9 * Math.max(1, price) ||
    c.fail("costs that sum to pricePerHour", split, "costs")
  );
}

const instanceType = object("an instance type", [
  ["name", nonEmpty],
  ["labels", labels],
  ["capacity", resources],
  [
    "overhead",
    object("{ kubeReserved, systemReserved, evictionThreshold }", [
      ["kubeReserved", resources],
      ["systemReserved", resources],
      ["evictionThreshold", resources],
    ]),
    true,
  ],
  ["allocatable", resources],
  [
    "offerings",
    list(
      object(
        "an offering",
        [
          ["zone", nonEmpty],
          ["zoneId", str, true],
          ["capacityType", capacityType],
          ["pricePerHour", finite(0)],
          ["available", bool],
          ["reservationCapacity", int(0), true],
          ["reservationId", str, true],
          ["reservationType", str, true],
          ["costs", costs, true],
        ],
        costsSumToPrice,
      ),
    ),
  ],
  ["exotic", bool, true],
]);

const daemonSet = object("a DaemonSet", [
  ["namespace", nonEmpty],
  ["name", nonEmpty],
  ["labels", labels],
  ["requests", resources],
  ["nodeSelector", labels],
  ["requiredNodeAffinity", nodeSelectorTerms],
  ["tolerations", tolerations],
  ["priority", priority],
]);

const namespace = object("a namespace { name, labels }", [
  ["name", str],
  ["labels", labels],
]);

const intOrPercent: Rule = (c, v) =>
  (Number.isSafeInteger(v) && (v as number) >= 0) ||
  (typeof v === "string" && percentPattern.test(v)) ||
  c.fail("a count or a percentage such as 50%", v);

const pdb = object(
  "a PodDisruptionBudget",
  [
    ["namespace", nonEmpty],
    ["name", nonEmpty],
    ["selector", labelSelector],
    ["minAvailable", intOrPercent, true],
    ["maxUnavailable", intOrPercent, true],
    ["unhealthyPodEvictionPolicy", oneOf("IfHealthyBudget", "AlwaysAllow")],
  ],
  (c, v) =>
    v.minAvailable === undefined ||
    v.maxUnavailable === undefined ||
    c.fail("minAvailable or maxUnavailable, not both", "both"),
);

const interruption = object("an interruption event", [
  [
    "kind",
    oneOf(
      "spot_interruption",
      "rebalance_recommendation",
      "scheduled_change",
      "instance_stopping",
      "instance_terminating",
    ),
  ],
  ["instanceId", nonEmpty],
  ["time", timestamp],
  ["deadline", timestamp, true],
  ["id", nonEmpty],
  ["detail", str, true],
]);

/** `Kind namespace/name` or `Kind name` for an object that has them, else undefined. */
function describe(kind: string, v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  // Objects named otherwise: a command by its id, a launch failure by its claim.
  if (typeof v.name !== "string")
    for (const key of ["id", "claim"]) if (typeof v[key] === "string") return `${kind} ${v[key]}`;
  if (typeof v.name !== "string") return undefined;
  return typeof v.namespace === "string" ? `${kind} ${v.namespace}/${v.name}` : `${kind} ${v.name}`;
}

/**
 * Objects that passed a rule and are deeply frozen, by rule: the rule is not run on them again. A frozen
 * object, and every object it reaches when those are frozen too, cannot change, so its verdict cannot
 * either. A caller that hands the solver the same immutable objects pass after pass (the simulator
 * freezes its models) pays for each object's check once; objects that are not frozen are checked every
 * time.
 */
const passed = new WeakMap<Rule, WeakSet<object>>();

function passedOnce(rule: Rule): WeakSet<object> {
  let set = passed.get(rule);
  if (set === undefined) passed.set(rule, (set = new WeakSet()));
  return set;
}

function remembered(known: WeakSet<object>, v: unknown): boolean {
  return typeof v === "object" && v !== null && known.has(v);
}

/** Remembers `v` as passed when it is deeply frozen; whether it did. */
function remember(known: WeakSet<object>, v: unknown): v is object {
  if (typeof v !== "object" || v === null || !deeplyFrozen(v)) return false;
  known.add(v);
  return true;
}

/**
 * Per rule, the objects of the last list it checked that passed, matched by identity along the next
 * list (`ListFacts`): a caller handing the same objects list after list (the simulator, whose pods
 * mostly stay as they were between passes) pays a pointer comparison per object, where a WeakSet
 * lookup costs a memory miss once the set holds a day's worth of pods; objects not matched fall back
 * to the WeakSet (`passedOnce`).
 */
const lastPassed = new WeakMap<Rule, ListFacts<unknown>>();

function lastPassedFor(rule: Rule): ListFacts<unknown> {
  let memo = lastPassed.get(rule);
  if (memo === undefined) lastPassed.set(rule, (memo = new ListFacts()));
  return memo;
}

/** An element's fact in `checkList`: it passed (remembered when frozen), or it failed (never). */
const PASSED = 1;
const FAILED = -1;

/**
 * Checks each element of `items` (at `path`); returns the sound ones (the same array when all are) and
 * the indexes that failed. A name used twice (`identity`) fails the later object. Pods are not held to
 * unique names: a set of 100k names costs as much as checking the pods (Kubernetes makes them unique).
 */
function checkList<T>(
  check: Check,
  path: readonly (string | number)[],
  items: readonly unknown[],
  kind: string,
  each: Rule,
  identity: ((v: T) => readonly [space: string, name: string]) | undefined,
  fast: Rule = each,
): { kept: T[]; failed: Set<number> } {
  const failed = new Set<number>();
  // Names seen, by namespace (no string is built per object).
  const seen = new Map<string, Set<string>>();
  check.under(path, () => {
    check.kind = kind;
    const known = passedOnce(each);
    const read = (v: unknown, i: number): number => {
      if (remembered(known, v)) return PASSED;
      check.detailed = false;
      const ok = fast(check, v);
      check.detailed = true;
      // Again in detail, to say why (`each` decides: a fast rule may only be stricter).
      if (!ok) {
        check.subject = v;
        if (!check.at(i, v, each)) {
          failed.add(i);
          return FAILED;
        }
      }
      remember(known, v);
      return PASSED;
    };
    lastPassedFor(each).each(items, read, (v, fact, i) => {
      if (fact === FAILED || identity === undefined) return;
      const [space, name] = identity(v as T);
      let names = seen.get(space);
      if (names === undefined) {
        names = new Set();
        seen.set(space, names);
      }
      if (names.has(name)) {
        failed.add(i);
        check.subject = v;
        check.at(i, v, (c) => c.fail(`a ${kind} whose name no earlier ${kind} has`, name));
      }
      names.add(name);
    });
    check.kind = undefined;
    check.subject = undefined;
  });
  const kept = failed.size === 0 ? (items as T[]) : (items.filter((_, i) => !failed.has(i)) as T[]);
  return { kept, failed };
}

/** What both inputs share: pods, nodes, NodePools, instance types, DaemonSets, namespaces. */
interface Common {
  pods: Pod[];
  nodes: Node[];
  nodePools: NodePool[];
  instanceTypes: ProvisioningInput["instanceTypes"];
  daemonSets: DaemonSet[] | undefined;
  /** Whether anything was left out or changed. */
  changed: boolean;
}

const byNamespace = (x: { namespace: string; name: string }) => [x.namespace, x.name] as const;
const byName = (x: { name: string }) => ["", x.name] as const;

/** The collections both inputs have; undefined when one cannot be read at all (then `now` too is checked). */
function checkCommon(check: Check, raw: Obj): Common | undefined {
  let usable = true;
  for (const key of ["pods", "nodes", "nodePools"])
    if (!Array.isArray(raw[key])) usable = check.at(key, raw[key], () => check.fail("a list", raw[key]));
  for (const key of ["daemonSets"])
    if (raw[key] !== undefined && !Array.isArray(raw[key]))
      usable = check.at(key, raw[key], () => check.fail("a list", raw[key]));
  const its = raw.instanceTypes;
  if (!Array.isArray(its) && !isObject(its))
    usable = check.at("instanceTypes", its, () => check.fail("a list, or lists by NodePool name", its));
  usable = check.at("now", raw.now, timestamp) && usable;
  if (!usable) return undefined;

  const nodes = checkList<Node>(check, ["nodes"], raw.nodes as unknown[], "Node", node, byName);
  const pods = checkList<Pod>(check, ["pods"], raw.pods as unknown[], "Pod", pod, undefined, podFast);
  const pools = checkList<NodePool>(
    check,
    ["nodePools"],
    raw.nodePools as unknown[],
    "NodePool",
    nodePool,
    byName,
  );
  // A bound pod that cannot be read uses an unknown share of its node: the node takes no new pods.
  const closed = new Set<string>();
  for (const i of pods.failed) {
    const p = (raw.pods as unknown[])[i];
    if (isObject(p) && typeof p.nodeName === "string") closed.add(p.nodeName);
  }
  const keptNodes =
    closed.size === 0
      ? nodes.kept
      : nodes.kept.map((n) => (closed.has(n.name) && !n.unschedulable ? { ...n, unschedulable: true } : n));
  let changed = nodes.failed.size + pods.failed.size + pools.failed.size + closed.size > 0;
  let instanceTypes: ProvisioningInput["instanceTypes"];
  if (Array.isArray(its)) {
    const types = checkList<InstanceType>(
      check,
      ["instanceTypes"],
      its,
      "InstanceType",
      instanceType,
      byName,
    );
    instanceTypes = types.kept;
    changed ||= types.failed.size > 0;
  } else {
    const byPool: Record<string, InstanceType[]> = {};
    let poolsChanged = false;
    for (const [pool, list] of Object.entries(its as Obj)) {
      if (!Array.isArray(list)) {
        check.under(["instanceTypes", pool], () => check.fail("a list of instance types", list));
        poolsChanged = true;
        continue;
      }
      const types = checkList<InstanceType>(
        check,
        ["instanceTypes", pool],
        list,
        "InstanceType",
        instanceType,
        byName,
      );
      byPool[pool] = types.kept;
      poolsChanged ||= types.failed.size > 0;
    }
    instanceTypes = poolsChanged ? byPool : (its as ProvisioningInput["instanceTypes"]);
    changed ||= poolsChanged;
  }
  let daemonSets: DaemonSet[] | undefined;
  if (raw.daemonSets !== undefined) {
    const ds = checkList<DaemonSet>(
      check,
      ["daemonSets"],
      raw.daemonSets as unknown[],
      "DaemonSet",
      daemonSet,
      byNamespace,
    );
    daemonSets = ds.kept;
    changed ||= ds.failed.size > 0;
  }
  return { pods: pods.kept, nodes: keptNodes, nodePools: pools.kept, instanceTypes, daemonSets, changed };
}

/** Checks each option present; one that fails is dropped (its default applies). */
function checkOptions(
  check: Check,
  raw: unknown,
  fields: [string, Rule][],
  at = "options",
): { options: Obj | undefined; changed: boolean } {
  if (raw === undefined) return { options: undefined, changed: false };
  if (!isObject(raw)) {
    check.at(at, raw, () => check.fail("an options object", raw));
    return { options: undefined, changed: true };
  }
  let options = raw;
  check.under([at], () => {
    for (const [key, test] of fields) {
      if (raw[key] === undefined || check.at(key, raw[key], test)) continue;
      if (options === raw) options = { ...raw };
      delete options[key];
    }
  });
  return { options, changed: options !== raw };
}

/** Checks a provisioning input at the solver's boundary (see the module comment). */
export function checkProvisioningInput(raw: unknown): CheckedInput<ProvisioningInput> {
  const check = new Check();
  if (!isObject(raw)) {
    check.fail("a provisioning input { pods, nodes, nodePools, instanceTypes, now }", raw);
    return { input: undefined, errors: check.errors };
  }
  if (raw.namespaces !== undefined && !Array.isArray(raw.namespaces))
    check.at("namespaces", raw.namespaces, () => check.fail("a list", raw.namespaces));
  const common = checkCommon(check, raw);
  if (common === undefined || check.errors.some((e) => e.path.length === 1 && e.path[0] === "namespaces"))
    return { input: undefined, errors: check.errors };
  let changed = common.changed;
  let namespaces = raw.namespaces as ProvisioningInput["namespaces"];
  if (namespaces !== undefined) {
    const checked = checkList<{ name: string; labels: Record<string, string> }>(
      check,
      ["namespaces"],
      namespaces,
      "Namespace",
      namespace,
      byName,
    );
    namespaces = checked.kept as ProvisioningInput["namespaces"];
    changed ||= checked.failed.size > 0;
  }
  const options = checkOptions(check, raw.options, [
    ["maxInstanceTypes", int(1)],
    ["improve", bool],
    ["patterns", bool],
    ["candidateShapes", int(0)],
    ["preferencePolicy", oneOf("Respect", "Ignore")],
    ["minValuesPolicy", oneOf("Strict", "BestEffort")],
    ["claimName", (c, v) => typeof v === "function" || c.fail("a function (nodePool, index) => name", v)],
  ]);
  if (!changed && !options.changed)
    return { input: raw as unknown as ProvisioningInput, errors: check.errors };
  const input: ProvisioningInput = {
    ...(raw as unknown as ProvisioningInput),
    pods: common.pods,
    nodes: common.nodes,
    nodePools: common.nodePools,
    instanceTypes: common.instanceTypes,
  };
  if (common.daemonSets !== undefined) input.daemonSets = common.daemonSets;
  if (namespaces !== undefined) input.namespaces = namespaces;
  if (options.options === undefined) delete input.options;
  else input.options = options.options as ProvisioningInput["options"];
  return { input, errors: check.errors };
}

/** An unreadable PodDisruptionBudget of a known namespace: one that lets no pod of the namespace go. */
function protectNamespace(namespace: string, name: string): PodDisruptionBudget {
  return {
    namespace,
    name,
    selector: { matchLabels: {}, matchExpressions: [] },
    maxUnavailable: 0,
    unhealthyPodEvictionPolicy: "IfHealthyBudget",
  };
}

/** Checks a disruption input at the solver's boundary (see the module comment). */
export function checkDisruptionInput(raw: unknown): CheckedInput<DisruptionInput> {
  const check = new Check();
  if (!isObject(raw)) {
    check.fail("a disruption input { nodes, pods, nodePools, instanceTypes, now }", raw);
    return { input: undefined, errors: check.errors };
  }
  let usable = true;
  for (const key of ["pdbs", "interruptions"])
    if (raw[key] !== undefined && !Array.isArray(raw[key]))
      usable = check.at(key, raw[key], () => check.fail("a list", raw[key]));
  const nominated = raw.nominated;
  if (nominated !== undefined && !isObject(nominated))
    usable = check.at("nominated", nominated, () => check.fail("a map of node name to pod", nominated));
  const common = checkCommon(check, raw);
  if (common === undefined || !usable) return { input: undefined, errors: check.errors };
  let changed = common.changed;

  let pdbs = raw.pdbs as PodDisruptionBudget[] | undefined;
  if (pdbs !== undefined) {
    const checked = checkList<PodDisruptionBudget>(
      check,
      ["pdbs"],
      pdbs,
      "PodDisruptionBudget",
      pdb,
      byNamespace,
    );
    if (checked.failed.size > 0) {
      changed = true;
      const replaced: PodDisruptionBudget[] = [];
      (raw.pdbs as unknown[]).forEach((p, i) => {
        if (!checked.failed.has(i)) replaced.push(p as PodDisruptionBudget);
        else if (isObject(p) && typeof p.namespace === "string" && p.namespace !== "")
          replaced.push(protectNamespace(p.namespace, typeof p.name === "string" ? p.name : `pdbs[${i}]`));
      });
      // A budget whose namespace is unknown could protect any pod: nothing may be evicted safely.
      if (
        [...checked.failed].some((i) => {
          const p = (raw.pdbs as unknown[])[i];
          return !isObject(p) || typeof p.namespace !== "string" || p.namespace === "";
        })
      )
        return { input: undefined, errors: check.errors };
      pdbs = replaced;
    }
  }
  let interruptions = raw.interruptions as InterruptionEvent[] | undefined;
  if (interruptions !== undefined) {
    const checked = checkList<InterruptionEvent>(
      check,
      ["interruptions"],
      interruptions,
      "InterruptionEvent",
      interruption,
      (e) => ["", e.id] as const,
    );
    interruptions = checked.kept;
    changed ||= checked.failed.size > 0;
  }
  let nominatedMap = nominated as Record<string, string> | undefined;
  if (nominatedMap !== undefined) {
    // A nominated node stays nominated whatever its entry says: dropping it could disrupt it.
    for (const [node, pod] of Object.entries(nominatedMap))
      if (typeof pod !== "string") {
        check.under(["nominated", node], () => check.fail("the pod's namespace/name", pod));
        nominatedMap = { ...nominatedMap, [node]: "(unknown pod)" };
        changed = true;
      }
  }
  let drift = raw.drift as DisruptionInput["drift"];
  if (drift !== undefined) {
    const ok =
      (isObject(drift) &&
        isObject(drift.detector) &&
        typeof drift.detector.isDrifted === "function" &&
        (drift.nodeClasses === undefined || isObject(drift.nodeClasses))) ||
      check.at("drift", drift, () => check.fail("{ detector: { isDrifted }, nodeClasses? }", drift));
    if (!ok) {
      drift = undefined;
      changed = true;
    }
  }
  const options = checkOptions(check, raw.options, [
    ["strategy", oneOf("nodeplan", "karpenter")],
    ["minSavingsPerHour", finite(0)],
    ["minSavingsPercent", finite(0)],
    ["spotToSpotConsolidation", bool],
    ["rebalanceRecommendations", bool],
    ["pdbEvictions", oneOf("serial", "strict")],
    ["maxWaves", int(1)],
    ["lowerBound", bool],
  ]);
  if (!changed && !options.changed) return { input: raw as unknown as DisruptionInput, errors: check.errors };
  const input: DisruptionInput = {
    ...(raw as unknown as DisruptionInput),
    pods: common.pods,
    nodes: common.nodes,
    nodePools: common.nodePools,
    instanceTypes: common.instanceTypes,
  };
  if (common.daemonSets !== undefined) input.daemonSets = common.daemonSets;
  if (pdbs !== undefined) input.pdbs = pdbs;
  if (interruptions !== undefined) input.interruptions = interruptions;
  if (nominatedMap !== undefined) input.nominated = nominatedMap;
  if (drift === undefined) delete input.drift;
  else input.drift = drift;
  if (options.options === undefined) delete input.options;
  else input.options = options.options as DisruptionInput["options"];
  return { input, errors: check.errors };
}

/** Checks the options of `consolidateToFixedPoint`; one that fails is dropped (its default applies). */
export function checkLoopOptions(raw: unknown): { options: LoopOptions | undefined; errors: InputError[] } {
  const check = new Check();
  const { options } = checkOptions(
    check,
    raw,
    [
      ["maxPasses", int(1)],
      ["maxWaitSeconds", finite(0)],
      ["launchSeconds", finite(0)],
      ["drainSeconds", finite(0)],
      ["validationSeconds", finite(0)],
    ],
    "loopOptions",
  );
  return { options: options as LoopOptions | undefined, errors: check.errors };
}

const plannedClaim = object("a planned NodeClaim", [
  ["name", nonEmpty],
  ["nodePool", nonEmpty],
  ["instanceType", nonEmpty],
  ["instanceTypeOptions", strings],
  ["zone", str],
  ["capacityType", capacityType],
  ["pricePerHour", finite(0)],
  ["costs", costs, true],
  ["worstPricePerHour", finite(0)],
  ["requirements", requirements],
  ["daemonSetOverhead", resources],
  ["pods", strings],
  ["labels", labels, true],
  ["annotations", labels, true],
]);
const commandBudget = object("a budget { nodePool, reason, consumed }", [
  ["nodePool", str],
  ["reason", str],
  ["consumed", int(0)],
]);
const disruptionCommand = object("a disruption command", [
  ["wave", int(1)],
  ["method", oneOf("emptiness", "drift", "expiration", "interruption", "consolidation")],
  ["reason", str],
  ["candidates", strings],
  ["replacements", list(plannedClaim)],
  ["evictions", strings],
  ["savingsPerHour", finite(Number.NEGATIVE_INFINITY)],
  ["budget", commandBudget],
  ["budgets", list(commandBudget), true],
  [
    "placements",
    list(
      object("a placement { pod, node }", [
        ["pod", str],
        ["node", str],
      ]),
    ),
    true,
  ],
]);
const commandInProgress = object("a command in progress", [
  ["id", nonEmpty],
  ["phase", oneOf("validating", "launching", "draining")],
  ["command", disruptionCommand],
  ["replacements", list(plannedClaim)],
  ["decidedAt", timestamp],
  ["validateAt", timestamp, true],
  ["startedAt", timestamp, true],
  ["drainingSince", timestamp, true],
]);
const unavailableOffering = object("an unavailable offering", [
  ["instanceType", nonEmpty],
  ["zone", nonEmpty],
  ["capacityType", str],
  ["reason", str],
  ["until", timestamp],
]);
const launchFailure = object("a launch failure", [
  ["claim", nonEmpty],
  ["code", str],
  ["message", str],
  [
    "unavailable",
    list(
      object("an offering { instanceType, zone, capacityType }", [
        ["instanceType", nonEmpty],
        ["zone", nonEmpty],
        ["capacityType", str],
      ]),
    ),
  ],
  ["at", timestamp],
]);
/** What the decision step tracks about a pod beyond the model (DecisionPod). */
const decisionPodExtras = object("a pod", [
  ["pendingSince", timestamp, true],
  ["nominatedNode", str, true],
]);
/** A decision pod's own fields, where it has them (what is not an object the pod rule reports). */
const decisionPodFields: Rule = (c, p) =>
  !isObject(p) || (p.pendingSince === undefined && p.nominatedNode === undefined) || decisionPodExtras(c, p);
const gatedUntil: Rule = (c, v) =>
  v === "never" || timestamp(c, v) || c.fail('an RFC 3339 timestamp or "never"', v);
const consolidatedMemo = object("{ at, changedAt, wakeAt }", [
  ["at", timestamp],
  ["changedAt", timestamp],
  ["wakeAt", timestamp],
]);
const strategyRule = object("a strategy { name, provisioning, disruption, description }", [
  ["name", nonEmpty],
  [
    "provisioning",
    object("a provisioning strategy { name, provision }", [
      ["name", str],
      ["provision", (c, v) => typeof v === "function" || c.fail("a function (kernel, input) => Plan", v)],
    ]),
  ],
  ["disruption", oneOf("nodeplan", "karpenter")],
]);

/** A decision step's arguments after the boundary check (see `checkDecisionInput`). */
export interface DecisionArguments {
  state: DecisionState;
  now: string;
  strategy: Strategy;
  options: DecideOptions | undefined;
}

/**
 * Checks the decision step's arguments at the solver's boundary, as `checkProvisioningInput` does a
 * provisioning input: the cluster (pods with their pending time and nomination, nodes, NodePools,
 * instance types by NodePool, DaemonSets, PodDisruptionBudgets, namespaces, interruptions, the
 * unavailable-offerings cache, launch failures), the controller's memory (commands in progress with
 * their replacements, the times it keeps, its counters), `now`, the strategy and the options. A bad
 * object is left out and reported, the rest is decided on (an unreadable PodDisruptionBudget protects
 * its namespace; an unreadable command in progress is dropped, its nodes then stand as they are; a
 * memory time that cannot be read is forgotten, as if that step never ran; an option that fails takes
 * its default). Arguments that cannot be read at all (not objects, a collection that is not a list,
 * `now` or `changedAt` not a timestamp, memory without its command list or counters, a strategy that
 * cannot run) give no arguments, only errors.
 */
export function checkDecisionInput(
  raw: unknown,
  now: unknown,
  strategy: unknown,
  options: unknown,
): CheckedInput<DecisionArguments> {
  const check = new Check();
  if (!isObject(raw)) {
    check.fail("a decision state { nodes, pods, nodePools, instanceTypes, changedAt, memory }", raw);
    return { input: undefined, errors: check.errors };
  }
  let usable = check.at("strategy", strategy, strategyRule);
  const its = raw.instanceTypes;
  if (Array.isArray(its))
    usable = check.at("instanceTypes", its, (c) => c.fail("lists by NodePool name", "a list"));
  for (const key of ["namespaces", "unavailableOfferings", "launchFailures"])
    if (raw[key] !== undefined && !Array.isArray(raw[key]))
      usable = check.at(key, raw[key], () => check.fail("a list", raw[key]));
  usable = check.at("changedAt", raw.changedAt, timestamp) && usable;
  const memory = raw.memory;
  if (!isObject(memory))
    usable = check.at("memory", memory, (c) => c.fail("the controller's memory", memory));
  else
    check.under(["memory"], () => {
      if (!Array.isArray(memory.commands))
        usable = check.at("commands", memory.commands, (c) => c.fail("a list", memory.commands));
      for (const key of ["nextCommand", "nextClaim"]) usable = check.at(key, memory[key], int(0)) && usable;
    });
  // The cluster, as a disruption input sees it (pods, nodes, NodePools, instance types, DaemonSets,
  // PodDisruptionBudgets, interruptions, drift), with `now`.
  const cluster: Obj = {
    pods: raw.pods,
    nodes: raw.nodes,
    nodePools: raw.nodePools,
    instanceTypes: raw.instanceTypes,
    now,
  };
  for (const key of ["daemonSets", "pdbs", "interruptions", "drift"])
    if (raw[key] !== undefined) cluster[key] = raw[key];
  const common = checkDisruptionInput(cluster);
  check.errors.push(...common.errors);
  if (common.input === undefined || !usable) return { input: undefined, errors: check.errors };
  const d = common.input;
  let changed = (d as unknown) !== cluster;

  // DecisionPod's own fields: a pod whose pending time or nomination cannot be read is left out.
  let pods = d.pods as DecisionPod[];
  // As a list (the objects of the last pass matched by identity, not read again).
  const extras = checkList(check, ["pods"], raw.pods as unknown[], "Pod", decisionPodFields, undefined);
  const badPods = new Set<unknown>();
  for (const i of extras.failed) badPods.add((raw.pods as unknown[])[i]);
  if (badPods.size > 0) {
    pods = pods.filter((p) => !badPods.has(p));
    changed = true;
  }
  const listed = <T>(
    key: string,
    kind: string,
    rule: Rule,
    identity?: (v: T) => readonly [string, string],
  ) => {
    const items = raw[key];
    if (items === undefined) return undefined;
    const checked = checkList<T>(check, [key], items as unknown[], kind, rule, identity);
    changed ||= checked.failed.size > 0;
    return checked.kept;
  };
  const namespaces = listed<{ name: string; labels: Record<string, string> }>(
    "namespaces",
    "Namespace",
    namespace,
    byName,
  );
  const unavailableOfferings = listed<UnavailableOffering>(
    "unavailableOfferings",
    "UnavailableOffering",
    unavailableOffering,
  );
  const launchFailures = listed<LaunchFailure>("launchFailures", "LaunchFailure", launchFailure, (f) => [
    "",
    f.claim,
  ]);
  // Memory: commands one by one; times that cannot be read are forgotten.
  const mem = memory as Obj;
  let memoryOut = mem as unknown as ControllerMemory;
  const commands = checkList<CommandInProgress>(
    check,
    ["memory", "commands"],
    mem.commands as unknown[],
    "Command",
    commandInProgress,
    (c) => ["", c.id],
  );
  const memoryFields: [string, Rule][] = [
    ["lastProvisioningAt", timestamp],
    ["lastDisruptionAt", timestamp],
    ["gatedUntil", gatedUntil],
    ["consolidated", consolidatedMemo],
  ];
  const memoryChecked = checkOptions(check, mem, memoryFields, "memory");
  if (commands.failed.size > 0 || memoryChecked.changed) {
    memoryOut = { ...(memoryChecked.options as unknown as ControllerMemory), commands: commands.kept };
    changed = true;
  }
  const seconds = finite(0);
  const optionFields: [string, Rule][] = [
    ["batchIdleSeconds", seconds],
    ["batchMaxSeconds", seconds],
    ["provisioningRetrySeconds", seconds],
    ["validationSeconds", seconds],
    ["replacementTimeoutSeconds", seconds],
    ["registrationTimeoutSeconds", seconds],
    ["unavailableOfferingSeconds", seconds],
    ["evictionRetrySeconds", seconds],
    ["consolidationRecheckSeconds", seconds],
    ["disruption", bool],
    ["disruptionOptions", (c, v) => isObject(v) || c.fail("disruption options", v)],
    ["claimName", (c, v) => typeof v === "function" || c.fail("a function (nodePool, n) => name", v)],
  ];
  const checkedOptions = checkOptions(check, options, optionFields);
  let decideOptions = checkedOptions.options as DecideOptions | undefined;
  const disruptionOptions = decideOptions?.disruptionOptions;
  if (disruptionOptions !== undefined) {
    const inner = check.under(["options"], () =>
      checkOptions(
        check,
        disruptionOptions,
        [
          ["minSavingsPerHour", finite(0)],
          ["minSavingsPercent", finite(0)],
          ["spotToSpotConsolidation", bool],
          ["rebalanceRecommendations", bool],
          ["pdbEvictions", oneOf("serial", "strict")],
        ],
        "disruptionOptions",
      ),
    );
    if (inner.changed)
      decideOptions = {
        ...decideOptions,
        disruptionOptions: inner.options as DecideOptions["disruptionOptions"],
      };
  }
  const state: DecisionState = changed
    ? {
        ...(raw as unknown as DecisionState),
        pods,
        nodes: d.nodes,
        nodePools: d.nodePools,
        instanceTypes: d.instanceTypes as DecisionState["instanceTypes"],
        memory: memoryOut,
        ...(d.daemonSets === undefined ? {} : { daemonSets: d.daemonSets }),
        ...(d.pdbs === undefined ? {} : { pdbs: d.pdbs }),
        ...(d.interruptions === undefined ? {} : { interruptions: d.interruptions }),
        ...(namespaces === undefined ? {} : { namespaces }),
        ...(unavailableOfferings === undefined ? {} : { unavailableOfferings }),
        ...(launchFailures === undefined ? {} : { launchFailures }),
      }
    : (raw as unknown as DecisionState);
  if (changed && d.drift === undefined) delete (state as { drift?: unknown }).drift;
  return {
    input: { state, now: now as string, strategy: strategy as Strategy, options: decideOptions },
    errors: check.errors,
  };
}
