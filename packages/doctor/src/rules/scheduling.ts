import {
  constraintsOf,
  formatTaint,
  nodeAccepts,
  type PodConstraints,
  renderUnschedulable,
  type Taint,
  toleratesAny,
  type UnschedulableReason,
} from "@nodeplan/core";
import type { JsonPatchOperation } from "../finding.ts";
import { type DoctorGraph, type Pool, pathInSource, sourceTracksFile, type Workload } from "../graph.ts";
import { pointer, type Segment, setOperation } from "../json-patch.ts";
import { isRaw, listAt, numberAt, stringAt } from "../raw.ts";
import { type Draft, type Named, plural, type Rule } from "../rule.ts";
import {
  isClusterAutoscaler,
  isNodeAutoscaler,
  name,
  names,
  poolNamed,
  requireNodeAffinity,
  schedulingTaints,
} from "./shared.ts";

/** Rules about where pods can go: zones, instance types, NodePools, DaemonSets, the autoscaler itself. */

const ZONE_KEYS = new Set(["topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"]);
const ZONE = "topology.kubernetes.io/zone";

/** Zones where the NodePools can launch a node these pods accept. */
function launchableZones(graph: DoctorGraph, c: PodConstraints): Set<string> {
  const zones = new Set<string>();
  for (const pool of graph.compatiblePools(c))
    for (const it of pool.types)
      for (const o of it.offerings) if (graph.accepts(c, pool, it, o)) zones.add(o.zone);
  return zones;
}

/** Constraints that tolerate every taint (topology spread's default nodeTaintsPolicy: Ignore). */
const ignoringTaints = (c: PodConstraints): PodConstraints => ({
  ...c,
  key: `${c.key}\u0000tolerate-all`,
  tolerations: [{ operator: "Exists" }],
});

/** Zones of existing nodes kube-scheduler counts as domains for these pods (node affinity honoured). */
function nodeZones(graph: DoctorGraph, c: PodConstraints, honorTaints: boolean): Set<string> {
  const zones = new Set<string>();
  const counted = honorTaints ? c : ignoringTaints(c);
  for (const n of graph.input.cluster.nodes) {
    const zone = n.labels[ZONE] ?? n.zone;
    if (zone !== undefined && !n.deleting && nodeAccepts(counted, n)) zones.add(zone);
  }
  return zones;
}

export const zoneSpreadUnsatisfiable: Rule = {
  id: "zone-spread-unsatisfiable",
  severity: "error",
  title: "Zone spread (DoNotSchedule or minDomains) over zones the NodePools cannot launch in",
  why: "A DoNotSchedule zone spread counts every zone kube-scheduler sees: zones of existing nodes the pods could use (tainted ones too, by default) and, with minDomains, zones that do not exist yet. When the NodePools cannot launch in those zones, the global minimum stays at 0 and every replica beyond maxSkew per zone stays Pending.",
  docs: "https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/#spread-constraint-definition",
  effect: "podsUnschedulable",
  check({ graph, plans }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      if (w.kind === "DaemonSet" || w.constraints === undefined) continue;
      const c = w.constraints;
      const tscPath: Segment[] = [...w.templatePath, "spec", "topologySpreadConstraints"];
      const stuck = plans
        .unschedulable(w)
        .filter(
          (u) => u.reason.code === "topology_spread_unsatisfiable" && ZONE_KEYS.has(u.reason.topologyKey),
        );
      listAt(w.raw, tscPath).forEach((tsc, j) => {
        if (
          !isRaw(tsc) ||
          !ZONE_KEYS.has(String(tsc.topologyKey)) ||
          tsc.whenUnsatisfiable !== "DoNotSchedule"
        )
          return;
        const maxSkew = numberAt(tsc, ["maxSkew"]) ?? 1;
        const minDomains = numberAt(tsc, ["minDomains"]);
        const allowed = launchableZones(graph, c);
        const domains = new Set([...allowed, ...nodeZones(graph, c, tsc.nodeTaintsPolicy === "Honor")]);
        const outside = [...domains].filter((z) => !allowed.has(z)).sort();
        const seen = new Set<string>();
        for (const u of stuck)
          if (u.reason.code === "topology_spread_unsatisfiable")
            for (const z of Object.keys(u.reason.domains ?? {})) if (!allowed.has(z)) seen.add(z);
        for (const z of seen) if (!outside.includes(z)) outside.push(z);
        const tooFewDomains =
          minDomains !== undefined && minDomains > domains.size && w.replicas.high > maxSkew * domains.size;
        if (!tooFewDomains && stuck.length === 0) return;
        if (!tooFewDomains && outside.length === 0 && stuck.length === 0) return;
        const allowedText = allowed.size === 0 ? "no zone" : [...allowed].sort().join(", ");
        const reasons: string[] = [];
        if (tooFewDomains)
          reasons.push(
            `minDomains ${minDomains} exceeds the ${plural(domains.size, "zone")} there are (${[...domains].sort().join(", ") || "none"}), so each zone holds at most maxSkew ${maxSkew} of its ${w.replicas.high} replicas`,
          );
        if (outside.length > 0)
          reasons.push(
            `existing nodes in ${outside.join(", ")} count as zones, but its NodePools launch only in ${allowedText}`,
          );
        if (reasons.length === 0) reasons.push(`its NodePools launch only in ${allowedText}`);
        let patch: JsonPatchOperation[] | undefined;
        let description = "";
        if (tooFewDomains && domains.size > 0) {
          patch = [{ op: "replace", path: pointer([...tscPath, j, "minDomains"]), value: domains.size }];
          description = `minDomains: ${domains.size}, the zones there are`;
        } else if (outside.length > 0 && allowed.size > 0) {
          patch = requireNodeAffinity(w, { key: ZONE, operator: "In", values: [...allowed].sort() });
          description = `require zones ${[...allowed].sort().join(", ")} (node affinity), so only zones the NodePools can launch in count`;
        }
        drafts.push({
          message: `${name(w)} spreads over zones with DoNotSchedule (maxSkew ${maxSkew}): ${reasons.join("; ")}${stuck.length > 0 ? `: ${plural(stuck.length, "pod")} cannot be placed` : ""}`,
          objects: [
            { obj: w, path: [...tscPath, j] },
            ...poolNamed(w.pools, ["spec", "template", "spec", "requirements"]),
          ],
          ...(stuck.length > 0 ? { effect: { podsUnschedulable: stuck.length } } : {}),
          ...(patch === undefined ? {} : { fix: { description, patch } }),
        });
      });
    }
    return drafts;
  },
};

/** Codes of a NodePool that does not take the pod at all (its requirements or taints). */
const REFUSES = new Set(["requirement_conflict", "no_nodepool_tolerates_taint"]);
/** Codes of a NodePool that takes the pod but has no instance type big enough or with the resource. */
const TOO_SMALL = new Set(["too_large_for_any_type", "no_instance_type_has_resource"]);

/** Every NodePool's own reason for an unschedulable pod (the plan's per-NodePool list, or its one reason). */
function perPool(reason: UnschedulableReason): { nodePool: string; code: string; message: string }[] {
  if (reason.nodePools !== undefined && reason.nodePools.length > 0) return reason.nodePools;
  const pool = "nodePool" in reason && typeof reason.nodePool === "string" ? reason.nodePool : "";
  return [{ nodePool: pool, code: reason.code, message: renderUnschedulable(reason) }];
}

/**
 * A rule over the pods the provisioning plan could not place, by what every NodePool said: `which`
 * picks the NodePools' reasons the rule is about, or undefined when the pod is not its case.
 */
function unschedulableRule(
  rule: Omit<Rule, "check" | "effect">,
  which: (pools: ReturnType<typeof perPool>) => ReturnType<typeof perPool> | undefined,
  sizePath: boolean,
): Rule {
  return {
    ...rule,
    effect: "podsUnschedulable",
    check({ graph, plans }) {
      const drafts: Draft[] = [];
      for (const w of graph.workloads) {
        const stuck = plans
          .unschedulable(w)
          .map((u) => which(perPool(u.reason)))
          .filter((x) => x !== undefined);
        const first = stuck[0];
        if (first === undefined) continue;
        const pools = first.flatMap((p) => graph.poolByName.get(p.nodePool) ?? []);
        const container = w.containers.find((c) => c.list === "containers");
        const path: Segment[] = sizePath
          ? [...(container?.path ?? [...w.templatePath, "spec"]), "resources"]
          : [...w.templatePath, "spec"];
        drafts.push({
          message: `${plural(stuck.length, "pod")} of ${name(w)} can never be placed: ${first.map((p) => p.message).join("; ")}`,
          objects: [{ obj: w, path }, ...poolNamed(pools, ["spec", "template", "spec"])],
          effect: { podsUnschedulable: stuck.length },
        });
      }
      return drafts;
    },
  };
}

export const podFitsNoInstanceType = unschedulableRule(
  {
    id: "pod-fits-no-instance-type",
    severity: "error",
    title: "Pods that fit no instance type any NodePool allows",
    why: "Karpenter launches a node only if some instance type the NodePool allows can hold the pod's requests plus the DaemonSets that would run beside it. A pod larger than all of them stays Pending forever, and nothing else says why.",
    docs: "https://karpenter.sh/docs/concepts/scheduling/#resource-requests",
  },
  (pools) => {
    const taking = pools.filter((p) => !REFUSES.has(p.code));
    return taking.length > 0 && taking.every((p) => TOO_SMALL.has(p.code)) ? taking : undefined;
  },
  true,
);

export const podMatchesNoNodepool = unschedulableRule(
  {
    id: "pod-matches-no-nodepool",
    severity: "error",
    title: "Pods no NodePool accepts (requirements or taints)",
    why: "A pod whose node selector, required affinity or missing tolerations exclude every NodePool is never provisioned for: Karpenter logs that no NodePool matched and the pod stays Pending.",
    docs: "https://karpenter.sh/docs/concepts/scheduling/",
  },
  (pools) => (pools.length > 0 && pools.every((p) => REFUSES.has(p.code)) ? pools : undefined),
  false,
);

export const daemonsetNotToleratingPool: Rule = {
  id: "daemonset-not-tolerating-pool",
  severity: "warning",
  title: "DaemonSet that does not tolerate a NodePool's taints",
  why: "A DaemonSet runs only on nodes whose taints it tolerates. One that selects a tainted NodePool's nodes but lacks the toleration leaves them without it: no log shipping, no metrics, no CNI or storage agent there, and nothing fails loudly.",
  docs: "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#taints-and-tolerations",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      const ds = w.daemonSet;
      if (ds === undefined) continue;
      const selecting = ignoringTaints(constraintsOf({ ...ds, volumeRequirements: [] }));
      const missed: { pool: Pool; taints: Taint[] }[] = [];
      for (const pool of graph.pools) {
        const taints = schedulingTaints(pool).filter((t) => !toleratesAny(ds.tolerations, t));
        if (taints.length === 0) continue;
        const selects = pool.types.some((it) =>
          it.offerings.some((o) => graph.accepts(selecting, pool, it, o)),
        );
        if (selects) missed.push({ pool, taints });
      }
      if (missed.length === 0) continue;
      const unique = new Map<string, Taint>();
      for (const m of missed) for (const t of m.taints) unique.set(`${t.key}\u0000${t.effect}`, t);
      const tolerationsPath: Segment[] = [...w.templatePath, "spec", "tolerations"];
      drafts.push({
        message: `${name(w)} does not run on ${missed.map((m) => `NodePool ${m.pool.name} (taint ${m.taints.map(formatTaint).join(", ")})`).join(", ")}, whose nodes it otherwise selects`,
        objects: [
          { obj: w, path: tolerationsPath },
          ...poolNamed(
            missed.map((m) => m.pool),
            ["spec", "template", "spec", "taints"],
          ),
        ],
        fix: {
          description: `tolerate ${[...unique.values()].map((t) => `${t.key}:${t.effect}`).join(", ")}`,
          patch: [...unique.values()].map((t) =>
            setOperation(w.raw, [...tolerationsPath, "-"], {
              key: t.key,
              operator: "Exists",
              effect: t.effect,
            }),
          ),
        },
      });
    }
    // Several additions to a list that does not exist yet must create it once, then append.
    for (const d of drafts) d.fix = d.fix && { ...d.fix, patch: appendsOnce(d.fix.patch) };
    return drafts;
  },
};

/** Turns repeated "create the list" operations into one creation followed by appends. */
function appendsOnce(patch: JsonPatchOperation[]): JsonPatchOperation[] {
  const out: JsonPatchOperation[] = [];
  const created = new Set<string>();
  for (const op of patch) {
    if (op.op === "add" && Array.isArray(op.value) && !op.path.endsWith("/-")) {
      if (created.has(op.path)) {
        for (const v of op.value) out.push({ op: "add", path: `${op.path}/-`, value: v });
        continue;
      }
      created.add(op.path);
    }
    out.push(op);
  }
  return out;
}

export const autoscalerOnManagedNodes: Rule = {
  id: "autoscaler-on-managed-nodes",
  severity: "error",
  title: "The node autoscaler can run on nodes it manages",
  why: "If Karpenter (or nodeplan's controller) runs on a node of its own NodePools, consolidating or expiring that node evicts the autoscaler itself, and while it is gone nothing launches nodes: a cluster that cannot recover from the loss of one node. Run it on a managed node group or Fargate.",
  docs: "https://aws.github.io/aws-eks-best-practices/karpenter/",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      if (w.kind === "DaemonSet" || !isNodeAutoscaler(w) || w.pools.length === 0) continue;
      // Pods already running keep the affinity they were made with; a template that now keeps them
      // off Karpenter's nodes is fixed (the next rollout moves them).
      if (keptOffNodePools(w)) continue;
      drafts.push({
        message: `${name(w)} is a node autoscaler and its pods can run on nodes it manages: ${names(w.pools.map((p) => ({ kind: "NodePool", name: p.name })))}`,
        objects: [{ obj: w, path: [...w.templatePath, "spec", "affinity"] }, ...poolNamed(w.pools)],
        fix: {
          description:
            "keep it off Karpenter's nodes: require node affinity karpenter.sh/nodepool DoesNotExist",
          patch: requireNodeAffinity(w, { key: "karpenter.sh/nodepool", operator: "DoesNotExist" }),
        },
      });
    }
    return drafts;
  },
};

/** Does every required node affinity term of the template say karpenter.sh/nodepool DoesNotExist? */
function keptOffNodePools(w: Workload): boolean {
  const terms = listAt(w.raw, [
    ...w.templatePath,
    "spec",
    "affinity",
    "nodeAffinity",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "nodeSelectorTerms",
  ]);
  return (
    terms.length > 0 &&
    terms.every((t) =>
      listAt(t, ["matchExpressions"]).some(
        (e) => isRaw(e) && e.key === "karpenter.sh/nodepool" && e.operator === "DoesNotExist",
      ),
    )
  );
}

export const clusterAutoscalerWithKarpenter: Rule = {
  id: "cluster-autoscaler-with-karpenter",
  severity: "error",
  title: "Cluster Autoscaler and a Karpenter-style autoscaler in one cluster",
  why: "Both react to the same Pending pods and both remove nodes they think are underused: they race to scale up, and each drains nodes the other just made. Karpenter's migration guide scales Cluster Autoscaler to zero once NodePools take over.",
  docs: "https://karpenter.sh/docs/getting-started/migrating-from-cas/",
  check({ graph }) {
    const autoscalers = graph.workloads.filter((w) => w.kind === "Deployment" && isNodeAutoscaler(w));
    const pools = graph.pools.filter((p) => p.obj !== undefined);
    if (autoscalers.length === 0 && pools.length === 0) return [];
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      if (w.kind !== "Deployment" || !isClusterAutoscaler(w) || w.replicasWritten === 0) continue;
      const other: Named[] =
        autoscalers.length > 0 ? autoscalers.map((a) => ({ obj: a })) : poolNamed(pools.slice(0, 1));
      drafts.push({
        message: `${name(w)} runs ${plural(w.replicasWritten ?? 1, "replica")} beside ${autoscalers.length > 0 ? names(autoscalers) : `${plural(pools.length, "NodePool")} (${pools.map((p) => p.name).join(", ")})`}: two autoscalers act on the same pods and nodes`,
        objects: [{ obj: w, path: ["spec", "replicas"] }, ...other],
        fix: {
          description: "scale Cluster Autoscaler to 0 replicas (as Karpenter's migration guide does)",
          patch: [setOperation(w.raw, ["spec", "replicas"], 0)],
        },
      });
    }
    return drafts;
  },
};

/** Kinds Karpenter creates and deletes at run time. */
const RUNTIME_KINDS = new Set(["NodeClaim", "Node"]);

export const argocdTracksKarpenterRuntime: Rule = {
  id: "argocd-tracks-karpenter-runtime",
  severity: "error",
  title: "Argo CD tracks NodeClaims or Nodes, which Karpenter creates and deletes",
  why: "NodeClaims and Nodes are Karpenter's run-time state, not configuration. An Argo CD Application that tracks them is OutOfSync with every launch and consolidation, prunes what Karpenter made, and with selfHeal re-creates NodeClaims Karpenter deleted: instances launched for nothing. Keep them out of Git (or exclude them from the Application).",
  docs: "https://karpenter.sh/docs/concepts/nodeclaims/",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const app of graph.apps) {
      const runtime = app.tracked.filter((o) => RUNTIME_KINDS.has(o.kind));
      if (runtime.length === 0) continue;
      const counts = new Map<string, number>();
      for (const o of runtime) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
      const files = [...new Set(runtime.map((o) => o.manifest.source))].sort();
      const byPath = runtime.every((o) => !isTrackedByMetadata(o, app.name));
      const source = app.sources.find((s) => files.every((f) => sourceTracksFile(s, f)));
      let fix: Draft["fix"];
      if (source !== undefined && byPath) {
        const relative = files.flatMap((f) => pathInSource(source, f) ?? []);
        const existing = source.exclude;
        const listed =
          existing === undefined
            ? []
            : /^\{.*\}$/.test(existing)
              ? existing.slice(1, -1).split(",")
              : [existing];
        const exclude = `{${[...new Set([...listed, ...relative])].join(",")}}`;
        fix = {
          description: `exclude ${relative.join(", ")} from the Application's directory source`,
          patch: [setOperation(app.raw, [...source.at, "directory", "exclude"], exclude)],
        };
      }
      drafts.push({
        message: `Argo CD Application ${app.namespace}/${app.name} tracks ${[...counts].map(([k, n]) => plural(n, k)).join(" and ")} (${files.join(", ")})${app.selfHeal ? ", with selfHeal: it re-creates what Karpenter deletes" : ""}`,
        objects: [
          { obj: app, path: source === undefined ? ["spec"] : source.at },
          ...runtime.slice(0, 5).map((o): Named => ({ obj: o })),
        ],
        ...(fix === undefined ? {} : { fix }),
      });
    }
    return drafts;
  },
};

/** Tracked through Argo CD's label or annotation (not through the source's folder). */
function isTrackedByMetadata(o: { raw: unknown; annotations: Record<string, string> }, app: string): boolean {
  return (
    stringAt(o.raw, ["metadata", "labels", "app.kubernetes.io/instance"]) === app ||
    o.annotations["argocd.argoproj.io/tracking-id"]?.startsWith(`${app}:`) === true
  );
}
