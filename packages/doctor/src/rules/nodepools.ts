import {
  type Budget,
  formatDurationMillis,
  formatTaint,
  type NodePool,
  parseDurationMillis,
  parseNillableDurationMillis,
  poolAccepts,
} from "@nodeplan/core";
import type { JsonPatchOperation } from "../finding.ts";
import type { Pool, Workload } from "../graph.ts";
import { pointer, type Segment, setOperation } from "../json-patch.ts";
import { at, isRaw, listAt, numberAt, recordAt, stringAt, stringMapAt } from "../raw.ts";
import { type Draft, type Named, plural, type Rule } from "../rule.ts";
import { cronGaps } from "./schedule.ts";
import { blockingPdbs, DO_NOT_DISRUPT, name, nonEmpty, schedulingTaints } from "./shared.ts";

/** Rules about NodePools: limits, spot flexibility, consolidation, budgets, expiration, taints. */

const NODEPOOLS = "https://karpenter.sh/docs/concepts/nodepools/";
const DISRUPTION = "https://karpenter.sh/docs/concepts/disruption/";
const REQUIREMENTS: Segment[] = ["spec", "template", "spec", "requirements"];

/** NodePools of the input (the default one the load may add has no manifest to fix). */
const inputPools = (pools: readonly Pool[]) =>
  pools.filter((p): p is Pool & { obj: NonNullable<Pool["obj"]> } => p.obj !== undefined);

/** Workloads whose pods are on, or can be placed on, this pool. */
const workloadsOn = (workloads: readonly Workload[], pool: Pool) =>
  workloads.filter((w) => w.kind !== "DaemonSet" && w.pools.includes(pool));

/** Karpenter's getting-started NodePool limit, the suggestion when nothing needs the pool yet. */
const GETTING_STARTED_CPU_LIMIT = 1000;

export const nodepoolNoLimits: Rule = {
  id: "nodepool-no-limits",
  severity: "warning",
  title: "NodePool without limits",
  why: "Limits are the only bound on what a NodePool launches. Without them a runaway Deployment, a mistaken HPA maxReplicas or a pod that fits nowhere else launches nodes without end, and the bill follows.",
  docs: `${NODEPOOLS}#speclimits`,
  check({ graph, plans }) {
    const drafts: Draft[] = [];
    for (const pool of inputPools(graph.pools)) {
      if (nonEmpty(at(pool.obj.raw, ["spec", "limits"])) && Object.keys(pool.model.limits).length > 0)
        continue;
      const cpuMillis = plans.poolCpuAtMax().get(pool.name) ?? 0;
      const cpu = cpuMillis > 0 ? Math.ceil((1.5 * cpuMillis) / 1000 / 10) * 10 : GETTING_STARTED_CPU_LIMIT;
      drafts.push({
        message: `NodePool ${pool.name} has no limits: nothing bounds the nodes it launches`,
        objects: [{ obj: pool.obj, path: ["spec"] }],
        fix: {
          description:
            cpuMillis > 0
              ? `limit it to ${cpu} cpu: 1.5 times the ${Math.round(cpuMillis / 1000)} cpu its nodes hold with every HPA at maxReplicas`
              : `limit it to ${cpu} cpu (Karpenter's getting-started NodePool limit; no pod of the input needs this NodePool now)`,
          patch: [setOperation(pool.obj.raw, ["spec", "limits", "cpu"], String(cpu))],
        },
      });
    }
    return drafts;
  },
};

/** Spot-to-spot consolidation and Karpenter's spot guidance: at least this many instance types. */
const MIN_SPOT_TYPES = 15;
/** Karpenter's documented minValues example for instance families. */
const MIN_SPOT_FAMILIES = 5;
const FAMILY = "karpenter.k8s.aws/instance-family";
const CATEGORY = "karpenter.k8s.aws/instance-category";
const GENERATION = "karpenter.k8s.aws/instance-generation";
const INSTANCE_TYPE = "node.kubernetes.io/instance-type";

export const spotFewInstanceTypes: Rule = {
  id: "spot-few-instance-types",
  severity: "warning",
  title: "Spot NodePool with few instance types or families and no minValues",
  why: "Spot capacity is reclaimed per pool of instance type and zone; a NodePool that can use only a few types (or types of few families, which are often reclaimed together) gets interrupted more and finds no capacity when its types run dry. Spot-to-spot consolidation needs at least 15 cheaper types. Allow more types, or state the flexibility you need with minValues so Karpenter keeps it.",
  docs: `${NODEPOOLS}#min-values`,
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const pool of inputPools(graph.pools)) {
      if (!pool.capacityTypes.includes("spot")) continue;
      if (pool.model.template.requirements.some((r) => r.minValues !== undefined)) continue;
      const spotTypes = pool.types.filter((it) =>
        it.offerings.some((o) => o.available && o.capacityType === "spot" && poolAccepts(pool.model, it, o)),
      );
      const families = new Set(spotTypes.map((it) => it.labels[FAMILY] ?? it.name.split(".")[0]));
      if (spotTypes.length >= MIN_SPOT_TYPES && families.size >= MIN_SPOT_FAMILIES) continue;
      const reqs = listAt(pool.obj.raw, REQUIREMENTS);
      // The fix widens a pool narrowed by an explicit list of types or families.
      const narrowing = reqs
        .map((r, i) => ({ r, i }))
        .filter(({ r }) => isRaw(r) && (r.key === INSTANCE_TYPE || r.key === FAMILY) && r.operator === "In");
      const has = (key: string) => reqs.some((r) => isRaw(r) && r.key === key);
      let fix: Draft["fix"];
      if (narrowing.length > 0) {
        const patch: JsonPatchOperation[] = narrowing
          .map(({ i }) => i)
          .sort((a, b) => b - a)
          .map((i) => ({ op: "remove", path: pointer([...REQUIREMENTS, i]) }));
        const add = (value: unknown) =>
          patch.push({ op: "add", path: pointer([...REQUIREMENTS, "-"]), value });
        if (!has(CATEGORY)) add({ key: CATEGORY, operator: "In", values: ["c", "m", "r"] });
        if (!has(GENERATION)) add({ key: GENERATION, operator: "Gt", values: ["4"] });
        add({ key: FAMILY, operator: "Exists", minValues: MIN_SPOT_FAMILIES });
        fix = {
          description: `replace the list of ${narrowing.map(({ r }) => String((r as { key: string }).key)).join(" and ")} with instance categories c, m, r of generation 5 and later, and keep at least ${MIN_SPOT_FAMILIES} families with minValues`,
          patch,
        };
      }
      drafts.push({
        message: `NodePool ${pool.name} allows spot on ${plural(spotTypes.length, "instance type")} of ${plural(families.size, "family", "families")} (${[...families].sort().join(", ")}) and sets no minValues`,
        objects: [
          {
            obj: pool.obj,
            path: narrowing[0] === undefined ? REQUIREMENTS : [...REQUIREMENTS, narrowing[0].i],
          },
        ],
        ...(fix === undefined ? {} : { fix }),
      });
    }
    return drafts;
  },
};

/** The HPA's scale-down stabilization window (autoscaling/v2 behavior; 300 s by default). */
const scaleDownWindowMillis = (w: Workload) =>
  (numberAt(w.hpa?.raw, ["spec", "behavior", "scaleDown", "stabilizationWindowSeconds"]) ?? 300) * 1000;

/** How often workloads on the pool churn nodes: CronJob periods up to an hour, HPA scale-down windows. */
function churn(pool: Pool, workloads: readonly Workload[], nowMillis: number) {
  const sources: { w: Workload; millis: number; text: string }[] = [];
  for (const w of workloadsOn(workloads, pool)) {
    if (w.kind === "CronJob") {
      const schedule = stringAt(w.raw, ["spec", "schedule"]);
      const gaps =
        schedule === undefined
          ? undefined
          : cronGaps(schedule, nowMillis, stringAt(w.raw, ["spec", "timeZone"]));
      if (gaps !== undefined && gaps.minMillis <= 3_600_000)
        sources.push({
          w,
          millis: gaps.minMillis,
          text: `${name(w)} runs every ${formatDurationMillis(gaps.minMillis)}`,
        });
    } else if (w.hpa !== undefined && w.hpa.maxReplicas > w.hpa.minReplicas) {
      const millis = scaleDownWindowMillis(w);
      sources.push({
        w,
        millis,
        text: `${name(w.hpa)} scales ${name(w)} down over a ${formatDurationMillis(millis)} window`,
      });
    }
  }
  return sources;
}

export const consolidateAfterShort: Rule = {
  id: "consolidate-after-short",
  severity: "warning",
  title: "consolidateAfter shorter than the churn of the workloads on the NodePool",
  why: "consolidateAfter is how long a node must see no pod come or go before Karpenter consolidates it. Shorter than the rhythm of its workloads (a CronJob every few minutes, an HPA's scale-down window), nodes emptied by one dip are removed and launched again at the next rise: churn, launch waits and cost with no saving.",
  docs: `${DISRUPTION}#consolidation`,
  check({ graph, now }) {
    const drafts: Draft[] = [];
    const nowMillis = Date.parse(now);
    for (const pool of inputPools(graph.pools)) {
      const after = parseNillableDurationMillis(pool.model.disruption.consolidateAfter);
      if (!after.ok || after.millis === null) continue;
      const afterMillis = after.millis;
      const short = churn(pool, graph.workloads, nowMillis).filter((s) => afterMillis < s.millis);
      if (short.length === 0) continue;
      const suggested = Math.max(...short.map((s) => s.millis));
      drafts.push({
        message: `NodePool ${pool.name} consolidates ${afterMillis === 0 ? "as soon as a node is underused (consolidateAfter 0s)" : `after ${pool.model.disruption.consolidateAfter}`}, but ${short.map((s) => s.text).join("; ")}`,
        objects: [
          { obj: pool.obj, path: ["spec", "disruption", "consolidateAfter"] },
          ...short.map((s): Named => ({ obj: s.w })),
        ],
        fix: {
          description: `consolidateAfter: ${formatDurationMillis(suggested)} (the longest churn period of its workloads)`,
          patch: [
            setOperation(
              pool.obj.raw,
              ["spec", "disruption", "consolidateAfter"],
              formatDurationMillis(suggested),
            ),
          ],
        },
      });
    }
    return drafts;
  },
};

export const consolidationOffElastic: Rule = {
  id: "consolidation-off-elastic",
  severity: "warning",
  title: "Consolidation off on a NodePool that runs autoscaled workloads",
  why: "An HPA grows and shrinks its workload; with consolidateAfter: Never or consolidationPolicy: WhenEmpty, the nodes added at the peak stay after the scale-in, each holding a few pods, until every one of them happens to be empty.",
  docs: `${DISRUPTION}#consolidation`,
  effect: "savingsBlockedPerHour",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const pool of inputPools(graph.pools)) {
      const { consolidationPolicy, consolidateAfter } = pool.model.disruption;
      if (consolidationPolicy === "WhenEmptyOrUnderutilized" && consolidateAfter !== "Never") continue;
      const elastic = workloadsOn(graph.workloads, pool).filter(
        (w) => w.hpa !== undefined && w.hpa.maxReplicas > w.hpa.minReplicas,
      );
      if (elastic.length === 0) continue;
      const after = formatDurationMillis(Math.max(...elastic.map(scaleDownWindowMillis)));
      const off =
        consolidateAfter === "Never"
          ? "consolidateAfter: Never"
          : `consolidationPolicy: ${consolidationPolicy}`;
      const relaxed: NodePool["disruption"] = {
        ...pool.model.disruption,
        consolidationPolicy: "WhenEmptyOrUnderutilized",
        consolidateAfter: after,
      };
      drafts.push({
        message: `NodePool ${pool.name} has ${off} and runs ${elastic.map((w) => name(w)).join(", ")}, scaled by HPAs: nodes added at a peak stay after the scale-in`,
        objects: [
          {
            obj: pool.obj,
            path: [
              "spec",
              "disruption",
              consolidateAfter === "Never" ? "consolidateAfter" : "consolidationPolicy",
            ],
          },
          ...elastic.map((w): Named => ({ obj: w.hpa ?? w })),
        ],
        fix: {
          description: `consolidationPolicy: WhenEmptyOrUnderutilized with consolidateAfter: ${after} (the HPAs' scale-down window)`,
          patch: [
            setOperation(
              pool.obj.raw,
              ["spec", "disruption", "consolidationPolicy"],
              "WhenEmptyOrUnderutilized",
            ),
            setOperation(pool.obj.raw, ["spec", "disruption", "consolidateAfter"], after),
          ],
        },
        blocker: {
          pools: new Set([pool.name]),
          relax: (m) => ({
            ...m,
            nodePools: m.nodePools.map((p) => (p.name === pool.name ? { ...p, disruption: relaxed } : p)),
          }),
        },
      });
    }
    return drafts;
  },
};

/** A budget's node count is zero (`0` or `0%`). */
const isZero = (b: Budget) => /^0+%?$/.test(b.nodes);

/** Is a budget active at every moment (no schedule, or a window at least as long as the gaps between fires)? */
function alwaysActive(b: Budget, nowMillis: number): boolean {
  if (b.schedule === undefined) return true;
  const duration = parseDurationMillis(b.duration ?? "");
  const gaps = cronGaps(b.schedule, nowMillis);
  return duration !== null && gaps !== undefined && duration >= gaps.maxMillis;
}

const budgetText = (b: Budget) =>
  `nodes: "${b.nodes}"${b.schedule === undefined ? "" : ` on "${b.schedule}" for ${b.duration}`}${b.reasons === undefined ? "" : ` (${b.reasons.join(", ")})`}`;

const BUDGETS: Segment[] = ["spec", "disruption", "budgets"];

export const budgetsBlockAll: Rule = {
  id: "budgets-block-all",
  severity: "error",
  title: "A disruption budget that never allows any node to be disrupted",
  why: "Karpenter takes the most restrictive active budget. A budget of 0 nodes that is always active (no schedule, or a window that never closes) stops every disruption it covers for good: no consolidation, no drift replacement, so nodes are never right-sized or patched.",
  docs: `${DISRUPTION}#nodepool-disruption-budgets`,
  effect: "savingsBlockedPerHour",
  check({ graph, now }) {
    const drafts: Draft[] = [];
    const nowMillis = Date.parse(now);
    for (const pool of inputPools(graph.pools)) {
      const budgets = pool.model.disruption.budgets;
      budgets.forEach((b, i) => {
        if (!isZero(b) || !alwaysActive(b, nowMillis)) return;
        const others = budgets.filter((_, j) => j !== i);
        const replacement = others.length > 0 ? others : [{ nodes: "10%" }];
        const covers = (b.reasons ?? ["Empty", "Underutilized", "Drifted"]).join(", ");
        drafts.push({
          message: `NodePool ${pool.name} has a budget that is always active, ${budgetText(b)}: none of its nodes is ever disrupted (${covers})`,
          objects: [{ obj: pool.obj, path: [...BUDGETS, i] }],
          fix: {
            description:
              others.length > 0
                ? "remove this budget (the others still apply)"
                : 'replace it with Karpenter\'s default budget nodes: "10%"',
            patch:
              others.length > 0
                ? [{ op: "remove", path: pointer([...BUDGETS, i]) }]
                : [{ op: "replace", path: pointer([...BUDGETS, i]), value: { nodes: "10%" } }],
          },
          blocker: {
            pools: new Set([pool.name]),
            relax: (m) => ({
              ...m,
              nodePools: m.nodePools.map((p) =>
                p.name === pool.name ? { ...p, disruption: { ...p.disruption, budgets: replacement } } : p,
              ),
            }),
          },
        });
      });
    }
    return drafts;
  },
};

export const budgetsUnbounded: Rule = {
  id: "budgets-unbounded",
  severity: "warning",
  title: "Times when no disruption budget applies",
  why: 'Karpenter limits disruptions only by active budgets: with budgets: [] or with only scheduled budgets, outside their windows nothing limits it, and it may drain every node of the NodePool at once. Omitting budgets gives the default nodes: "10%"; a list replaces it.',
  docs: `${DISRUPTION}#nodepool-disruption-budgets`,
  check({ graph, now }) {
    const drafts: Draft[] = [];
    const nowMillis = Date.parse(now);
    for (const pool of inputPools(graph.pools)) {
      const written = at(pool.obj.raw, BUDGETS);
      if (!Array.isArray(written)) continue;
      const budgets = pool.model.disruption.budgets;
      if (budgets.some((b) => alwaysActive(b, nowMillis))) continue;
      drafts.push({
        message:
          budgets.length === 0
            ? `NodePool ${pool.name} sets budgets: []: nothing limits how many of its nodes Karpenter disrupts at once`
            : `NodePool ${pool.name} has only scheduled budgets (${budgets.map(budgetText).join("; ")}): outside their windows nothing limits how many of its nodes Karpenter disrupts at once`,
        objects: [{ obj: pool.obj, path: BUDGETS }],
        fix: {
          description: 'add Karpenter\'s default budget nodes: "10%" beside the scheduled ones',
          patch: [{ op: "add", path: pointer([...BUDGETS, "-"]), value: { nodes: "10%" } }],
        },
      });
    }
    return drafts;
  },
};

/** An AMI selection that never changes by itself: an alias pinned to a version, or an AMI id. */
function pinnedAmi(nodeClass: NonNullable<Pool["nodeClass"]>): string | undefined {
  const terms = listAt(nodeClass.raw, ["spec", "amiSelectorTerms"]).filter(isRaw);
  if (terms.length === 0) return undefined;
  const pinned = terms.every(
    (t) => (typeof t.alias === "string" && !t.alias.endsWith("@latest")) || typeof t.id === "string",
  );
  return pinned ? terms.map((t) => String(t.alias ?? t.id)).join(", ") : undefined;
}

export const expireNeverNoDrift: Rule = {
  id: "expire-never-no-drift",
  severity: "warning",
  title: "expireAfter: Never with a pinned AMI: nodes are never replaced",
  why: "Nodes are replaced by expiration or by drift. With expireAfter: Never and an AMI pinned by id or version, neither ever happens on its own: nodes run the same kernel and kubelet for months, and a Kubernetes upgrade or a security patch waits for someone to bump the pin.",
  docs: `${DISRUPTION}#expiration`,
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const pool of inputPools(graph.pools)) {
      if (pool.model.template.expireAfter !== "Never" || pool.nodeClass === undefined) continue;
      const ami = pinnedAmi(pool.nodeClass);
      if (ami === undefined) continue;
      drafts.push({
        message: `NodePool ${pool.name} never expires its nodes and EC2NodeClass ${pool.nodeClass.name} pins its AMI (${ami}): no node of it is ever replaced unless someone changes the pin`,
        objects: [
          { obj: pool.obj, path: ["spec", "template", "spec", "expireAfter"] },
          { obj: pool.nodeClass, path: ["spec", "amiSelectorTerms"] },
        ],
        fix: {
          description: "expireAfter: 720h (Karpenter's default: every node is replaced within 30 days)",
          patch: [setOperation(pool.obj.raw, ["spec", "template", "spec", "expireAfter"], "720h")],
        },
      });
    }
    return drafts;
  },
};

/** How long an expired node may drain before Karpenter deletes what is left (the fix's suggestion). */
const SUGGESTED_TERMINATION_GRACE = "24h";

export const expireWithoutTerminationGrace: Rule = {
  id: "expire-without-termination-grace",
  severity: "warning",
  title: "expireAfter without terminationGracePeriod, behind pods that never allow eviction",
  why: "Expiration starts draining the node, but the drain respects PodDisruptionBudgets and do-not-disrupt. A PDB that always allows 0 keeps an expired node draining forever: tainted, half empty and still billed. terminationGracePeriod bounds the drain, so expireAfter + terminationGracePeriod is a real maximum node lifetime.",
  docs: `${NODEPOOLS}#spectemplatespecterminationgraceperiod`,
  check({ graph }) {
    const drafts: Draft[] = [];
    const blocking = blockingPdbs(graph);
    for (const pool of inputPools(graph.pools)) {
      if (pool.model.template.expireAfter === "Never") continue;
      if (stringAt(pool.obj.raw, ["spec", "template", "spec", "terminationGracePeriod"]) !== undefined)
        continue;
      const on = new Set(workloadsOn(graph.workloads, pool));
      const pdbs = blocking.filter((p) => p.workloads.some((w) => on.has(w)));
      const pinned = [...on].filter((w) => w.podAnnotations[DO_NOT_DISRUPT] === "true");
      if (pdbs.length === 0 && pinned.length === 0) continue;
      const what = [
        ...pdbs.map((p) => `${name(p)} (allows 0)`),
        ...pinned.map((w) => `${name(w)} (${DO_NOT_DISRUPT})`),
      ];
      drafts.push({
        message: `NodePool ${pool.name} expires nodes after ${pool.model.template.expireAfter} with no terminationGracePeriod, and ${what.join(", ")} can hold an expired node draining forever`,
        objects: [
          { obj: pool.obj, path: ["spec", "template", "spec", "expireAfter"] },
          ...pdbs.map((p): Named => ({ obj: p })),
          ...pinned.map((w): Named => ({ obj: w })),
        ],
        fix: {
          description: `terminationGracePeriod: ${SUGGESTED_TERMINATION_GRACE} (a day of draining before what is left is deleted; set what your slowest workload needs)`,
          patch: [
            setOperation(
              pool.obj.raw,
              ["spec", "template", "spec", "terminationGracePeriod"],
              SUGGESTED_TERMINATION_GRACE,
            ),
          ],
        },
      });
    }
    return drafts;
  },
};

/** A NodePool meant for system add-ons, by its name or its labels' values. */
const SYSTEM_NAME = /(^|[-_.])(system|critical|addons?|critical-addons)([-_.]|$)/i;

export const systemPoolUntainted: Rule = {
  id: "system-pool-untainted",
  severity: "warning",
  title: "A system NodePool without a taint",
  why: "A NodePool for cluster add-ons (CoreDNS, controllers, the autoscaler's neighbours) is kept small and stable on purpose. Without a NoSchedule taint any pod may land there: application pods fill it, get disrupted with it, and its nodes grow to fit them.",
  docs: "https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#example-use-cases",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const pool of inputPools(graph.pools)) {
      const labels = Object.values(pool.model.template.labels);
      if (!SYSTEM_NAME.test(pool.name) && !labels.some((v) => SYSTEM_NAME.test(v))) continue;
      if (schedulingTaints(pool).length > 0) continue;
      const taint = { key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" as const };
      drafts.push({
        message: `NodePool ${pool.name} is a system NodePool (by its ${SYSTEM_NAME.test(pool.name) ? "name" : "labels"}) with no NoSchedule taint: any pod can land on it`,
        objects: [{ obj: pool.obj, path: ["spec", "template", "spec"] }],
        fix: {
          description: `taint it ${formatTaint(taint)} (EKS add-ons such as CoreDNS tolerate CriticalAddonsOnly)`,
          patch: [setOperation(pool.obj.raw, ["spec", "template", "spec", "taints", "-"], taint)],
        },
      });
    }
    return drafts;
  },
};

/** The app a workload belongs to (its `app.kubernetes.io/name` or `app` label, else its name). */
const appOf = (w: Workload) =>
  `${w.namespace}/${w.podLabels["app.kubernetes.io/name"] ?? w.podLabels.app ?? w.name}`;

/** Does a workload ask for this pool by name or one of its labels, or tolerate one of its taints by key? */
function pins(w: Workload, pool: Pool): boolean {
  const keys = new Set(["karpenter.sh/nodepool", ...Object.keys(pool.model.template.labels)]);
  const value = (key: string) =>
    key === "karpenter.sh/nodepool" ? pool.name : pool.model.template.labels[key];
  const spec = recordAt(w.raw, [...w.templatePath, "spec"]);
  const selector = stringMapAt(spec, ["nodeSelector"]);
  if (Object.entries(selector).some(([k, v]) => keys.has(k) && value(k) === v)) return true;
  const terms = listAt(spec, [
    "affinity",
    "nodeAffinity",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "nodeSelectorTerms",
  ]);
  for (const term of terms)
    for (const e of listAt(term, ["matchExpressions"]))
      if (
        isRaw(e) &&
        typeof e.key === "string" &&
        keys.has(e.key) &&
        e.operator === "In" &&
        Array.isArray(e.values) &&
        e.values.includes(value(e.key))
      )
        return true;
  const taintKeys = new Set(schedulingTaints(pool).map((t) => t.key));
  return listAt(spec, ["tolerations"]).some(
    (t) => isRaw(t) && typeof t.key === "string" && taintKeys.has(t.key),
  );
}

/** Does a pool offer hardware others do not (GPUs or accelerators, or instance types no other pool has)? */
function distinctHardware(pool: Pool, others: readonly Pool[]): boolean {
  const gpu = (k: string) => /gpu|accelerator|neuron|inferentia/.test(k);
  if (
    pool.types.length > 0 &&
    pool.types.every((it) => Object.keys(it.labels).some((k) => gpu(k) && Number(it.labels[k]) > 0))
  )
    return true;
  const elsewhere = new Set(others.flatMap((p) => p.types.map((t) => t.name)));
  return pool.types.length > 0 && pool.types.every((t) => !elsewhere.has(t.name));
}

export const nodepoolPerApp: Rule = {
  id: "nodepool-per-app",
  severity: "warning",
  title: "One NodePool per application without an isolation reason",
  why: "Every NodePool packs only its own pods, so each dedicated pool keeps its own partly empty nodes and its own spare capacity, and consolidation cannot share nodes across them. Dedicated pools pay for themselves when the pods need different hardware or real isolation (compliance, noisy neighbours); say which with an exemption, or let the apps share a NodePool.",
  docs: "https://aws.github.io/aws-eks-best-practices/karpenter/",
  check({ graph }) {
    const pools = inputPools(graph.pools);
    const dedicated: { pool: (typeof pools)[number]; app: string; workloads: Workload[] }[] = [];
    for (const pool of pools) {
      const on = workloadsOn(graph.workloads, pool);
      if (on.length === 0) continue;
      // Dedicated: every workload that can use it asks for it by name, label or taint, and can
      // use nothing else; system pools are isolated on purpose.
      if (SYSTEM_NAME.test(pool.name) || !on.every((w) => w.pools.length === 1 && pins(w, pool))) continue;
      const apps = new Set(on.map(appOf));
      if (apps.size !== 1) continue;
      if (
        distinctHardware(
          pool,
          graph.pools.filter((p) => p !== pool),
        )
      )
        continue;
      dedicated.push({ pool, app: [...apps][0] as string, workloads: on });
    }
    if (dedicated.length < 2) return [];
    return dedicated.map(
      ({ pool, app, workloads }): Draft => ({
        message: `NodePool ${pool.name} runs only ${app} (${workloads.map((w) => name(w)).join(", ")}), one of ${dedicated.length} NodePools dedicated to one app each (${dedicated.map((d) => d.pool.name).join(", ")}), with no hardware of its own`,
        objects: [
          { obj: pool.obj, path: ["spec", "template"] },
          ...workloads.map((w): Named => ({ obj: w })),
        ],
      }),
    );
  },
};

export const nodeclassMissing: Rule = {
  id: "nodeclass-missing",
  severity: "error",
  title: "NodePool refers to an EC2NodeClass that does not exist",
  why: "A NodePool whose nodeClassRef names no EC2NodeClass is not Ready: Karpenter launches nothing from it, and the pods that only it could take stay Pending.",
  docs: `${NODEPOOLS}#spectemplatespecnodeclassref`,
  check({ graph }) {
    const classes = graph.byKind("EC2NodeClass");
    if (classes.length === 0) return [];
    const drafts: Draft[] = [];
    for (const pool of inputPools(graph.pools)) {
      const ref = recordAt(pool.obj.raw, ["spec", "template", "spec", "nodeClassRef"]);
      if (ref === undefined || ref.kind !== "EC2NodeClass" || typeof ref.name !== "string") continue;
      if (pool.nodeClass !== undefined) continue;
      const only = classes.length === 1 ? classes[0] : undefined;
      drafts.push({
        message: `NodePool ${pool.name} refers to EC2NodeClass ${ref.name}, which is not in the input (there ${classes.length === 1 ? "is" : "are"} ${classes.map((c) => c.name).join(", ")})`,
        objects: [{ obj: pool.obj, path: ["spec", "template", "spec", "nodeClassRef", "name"] }],
        ...(only === undefined
          ? {}
          : {
              fix: {
                description: `refer to EC2NodeClass ${only.name}, the only one`,
                patch: [{ op: "replace", path: "/spec/template/spec/nodeClassRef/name", value: only.name }],
              },
            }),
      });
    }
    return drafts;
  },
};
