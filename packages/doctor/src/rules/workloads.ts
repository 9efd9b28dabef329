import {
  formatQuantity,
  k8sNameFor,
  type PodDisruptionBudget,
  podKey,
  quantityKindFor,
} from "@nodeplan/core";
import type { JsonPatchOperation } from "../finding.ts";
import type { ArgoApp, Hpa, Pdb, Workload } from "../graph.ts";
import { pointer, type Segment, setOperation } from "../json-patch.ts";
import { at, isRaw, listAt, quantityAt, type Raw, recordAt, stringAt } from "../raw.ts";
import { type Draft, type Named, plural, type Rule } from "../rule.ts";
import { DO_NOT_DISRUPT, name, names, pdbAlwaysZero, pdbExpected, podKeys, poolNamed } from "./shared.ts";

/** Rules about workloads, their PodDisruptionBudgets and HorizontalPodAutoscalers. */

const EKS_KARPENTER = "https://aws.github.io/aws-eks-best-practices/karpenter/";

const replicaText = (w: Workload) =>
  w.replicas.low === w.replicas.high
    ? plural(w.replicas.high, "replica")
    : `${w.replicas.low}..${w.replicas.high} replicas (HPA ${w.hpa?.name})`;

/** The PDB a missing one should be: at most one pod down, selecting the workload's pods. */
function suggestedPdb(w: Workload): Record<string, unknown> {
  const selector = recordAt(w.raw, ["spec", "selector"]) ?? { matchLabels: w.podLabels };
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: w.name, namespace: w.namespace },
    spec: { maxUnavailable: 1, selector },
  };
}

export const pdbMissing: Rule = {
  id: "pdb-missing",
  severity: "warning",
  title: "Multi-replica workload on a consolidating NodePool without a PodDisruptionBudget",
  why: "Consolidation and drift drain nodes with the eviction API, which only holds back for a PodDisruptionBudget. Without one, every replica on the drained nodes is evicted at once, and after consolidation has packed them, that is often all of them.",
  docs: EKS_KARPENTER,
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      if (w.kind !== "Deployment" && w.kind !== "StatefulSet" && w.kind !== "ReplicaSet") continue;
      if (w.replicas.high < 2 || w.pdbs.length > 0) continue;
      const pools = w.pools.filter((p) => p.consolidates);
      if (pools.length === 0) continue;
      drafts.push({
        message: `${name(w)} runs ${replicaText(w)} on ${names(pools.map((p) => ({ kind: "NodePool", name: p.name })))}, which consolidates underutilized nodes, and no PodDisruptionBudget selects its pods: a consolidation or drift can evict all of them at once`,
        objects: [{ obj: w, path: ["spec", "selector"] }, ...poolNamed(pools, ["spec", "disruption"])],
        fix: {
          description: `add a PodDisruptionBudget ${w.namespace}/${w.name} with maxUnavailable: 1 over the same pods`,
          patch: [],
          add: [suggestedPdb(w)],
        },
      });
    }
    return drafts;
  },
};

/** The PDB in the model with maxUnavailable 1 instead of what it says (the fix, relaxed). */
const relaxedPdb = (p: PodDisruptionBudget): PodDisruptionBudget => {
  const { minAvailable: _min, maxUnavailable: _max, ...rest } = p;
  return { ...rest, maxUnavailable: 1 };
};

function pdbBudgetText(pdb: Pdb): string {
  const m = pdb.model;
  const { low, high } = pdbExpected(pdb);
  const pods = low === high ? plural(high, "pod") : `${low}..${high} pods`;
  if (m?.maxUnavailable !== undefined) return `maxUnavailable ${m.maxUnavailable} over ${pods}`;
  return `minAvailable ${m?.minAvailable} of ${pods}`;
}

export const pdbAllowsZero: Rule = {
  id: "pdb-allows-zero",
  severity: "error",
  title: "PodDisruptionBudget that always allows 0 disruptions",
  why: "A PDB whose disruptionsAllowed is 0 even with every pod healthy blocks every voluntary eviction: Karpenter never consolidates or replaces a drifted node that runs one of its pods, and an expired node drains until its terminationGracePeriod.",
  docs: "https://karpenter.sh/docs/concepts/disruption/#pod-level-controls",
  effect: "savingsBlockedPerHour",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const pdb of graph.pdbs) {
      if (pdb.model === undefined || !pdbAlwaysZero(pdb)) continue;
      const field = pdb.model.maxUnavailable !== undefined ? "maxUnavailable" : "minAvailable";
      const patch: JsonPatchOperation[] =
        field === "minAvailable"
          ? [
              { op: "remove", path: "/spec/minAvailable" },
              { op: "add", path: "/spec/maxUnavailable", value: 1 },
            ]
          : [{ op: "replace", path: "/spec/maxUnavailable", value: 1 }];
      const pods = new Set(pdb.pods.map(podKey));
      const key = { namespace: pdb.namespace, name: pdb.name };
      drafts.push({
        message: `${name(pdb)} allows 0 disruptions (${pdbBudgetText(pdb)}${pdb.workloads.length > 0 ? ` of ${names(pdb.workloads)}` : ""}): no node running its pods is ever consolidated or replaced for drift`,
        objects: [{ obj: pdb, path: ["spec", field] }, ...pdb.workloads.map((w) => ({ obj: w }))],
        fix: {
          description: `allow one pod down at a time: maxUnavailable: 1${field === "minAvailable" ? " instead of minAvailable" : ""}`,
          patch,
        },
        blocker: {
          pods,
          relax: (m) => ({
            ...m,
            pdbs: m.pdbs.map((p) =>
              p.namespace === key.namespace && p.name === key.name ? relaxedPdb(p) : p,
            ),
          }),
        },
      });
    }
    return drafts;
  },
};

export const podMultiplePdbs: Rule = {
  id: "pod-multiple-pdbs",
  severity: "error",
  title: "Pods selected by more than one PodDisruptionBudget",
  why: "The eviction API refuses to evict a pod that more than one PodDisruptionBudget selects (HTTP 500), so Karpenter can never drain a node running one: consolidation, drift and expiration all stop there.",
  docs: "https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/",
  effect: "savingsBlockedPerHour",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      if (w.pdbs.length < 2) continue;
      const [keep, ...extra] = [...w.pdbs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const dropped = new Set(extra.map((p) => p.name));
      drafts.push({
        message: `the pods of ${name(w)} are selected by ${plural(w.pdbs.length, "PodDisruptionBudget")} (${w.pdbs.map((p) => p.name).join(", ")}): the eviction API refuses to evict them, so no node running one is ever drained`,
        objects: [
          { obj: w, path: [...w.templatePath, "metadata", "labels"] },
          ...w.pdbs.map((p) => ({ obj: p })),
        ],
        blocker: {
          pods: podKeys(w),
          relax: (m) => ({
            ...m,
            pdbs: m.pdbs.filter((p) => !(p.namespace === keep?.namespace && dropped.has(p.name))),
          }),
        },
      });
    }
    return drafts;
  },
};

/** Does an Argo CD Application leave spec.replicas of this workload to the HPA (ignoreDifferences)? */
function ignoresReplicas(app: ArgoApp, w: Workload): boolean {
  const group = w.apiVersion.includes("/") ? w.apiVersion.slice(0, w.apiVersion.indexOf("/")) : "";
  return listAt(app.raw, ["spec", "ignoreDifferences"]).some((d) => {
    if (!isRaw(d)) return false;
    if (d.kind !== w.kind || (d.group ?? "") !== group) return false;
    if (typeof d.name === "string" && d.name !== w.name) return false;
    if (typeof d.namespace === "string" && d.namespace !== w.namespace) return false;
    const pointers = Array.isArray(d.jsonPointers) ? d.jsonPointers : [];
    const jq = Array.isArray(d.jqPathExpressions) ? d.jqPathExpressions : [];
    const managers = Array.isArray(d.managedFieldsManagers) ? d.managedFieldsManagers : [];
    return (
      pointers.includes("/spec/replicas") ||
      jq.includes(".spec.replicas") ||
      managers.includes("kube-controller-manager")
    );
  });
}

export const hpaReplicasSet: Rule = {
  id: "hpa-replicas-set",
  severity: "warning",
  title: "replicas set in the manifest of a workload an HPA scales",
  why: "The HPA owns spec.replicas. A manifest that also sets it resets the replica count on every apply or Argo CD sync (with selfHeal, on every HPA change): the two fight, pods are created and deleted, and nodes follow. Remove replicas from the manifest, or have the Argo CD Application ignore /spec/replicas.",
  docs: "https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#migrating-deployments-and-statefulsets-to-horizontal-autoscaling",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const hpa of graph.hpas) {
      const w = hpa.target;
      if (w === undefined || w.replicasWritten === undefined) continue;
      const apps = graph.apps.filter((a) => a.tracked.some((t) => t.manifest === w.manifest));
      if (apps.some((a) => ignoresReplicas(a, w))) continue;
      const healer = apps.find((a) => a.selfHeal);
      const argo =
        apps.length === 0
          ? ""
          : `; Argo CD Application ${apps.map((a) => a.name).join(", ")} tracks it without ignoreDifferences on /spec/replicas${healer === undefined ? "" : ` and self-heals: every scale-out by the HPA is reverted to ${w.replicasWritten}`}`;
      drafts.push({
        message: `${name(w)} sets replicas: ${w.replicasWritten} and ${name(hpa)} scales it between ${hpa.minReplicas} and ${hpa.maxReplicas}${argo}`,
        objects: [
          { obj: w, path: ["spec", "replicas"] },
          { obj: hpa, path: ["spec", "scaleTargetRef"] },
          ...apps.map((a): Named => ({ obj: a, path: ["spec", "ignoreDifferences"] })),
        ],
        fix: {
          description: `remove spec.replicas from ${name(w)} (the HPA sets it)`,
          patch: [{ op: "remove", path: "/spec/replicas" }],
        },
      });
    }
    return drafts;
  },
};

/** Utilization targets of an HPA (v2 metrics, v1 targetCPUUtilizationPercentage), with their paths. */
function utilizationTargets(hpa: Hpa): { resource: string; percent: number; path: Segment[] }[] {
  const out: { resource: string; percent: number; path: Segment[] }[] = [];
  const v1 = at(hpa.raw, ["spec", "targetCPUUtilizationPercentage"]);
  if (typeof v1 === "number")
    out.push({ resource: "cpu", percent: v1, path: ["spec", "targetCPUUtilizationPercentage"] });
  listAt(hpa.raw, ["spec", "metrics"]).forEach((m, i) => {
    if (!isRaw(m)) return;
    const field =
      m.type === "Resource" ? "resource" : m.type === "ContainerResource" ? "containerResource" : undefined;
    if (field === undefined) return;
    const target = recordAt(m, [field, "target"]);
    if (target?.type !== "Utilization" || typeof target.averageUtilization !== "number") return;
    out.push({
      resource: stringAt(m, [field, "name"]) ?? "?",
      percent: target.averageUtilization,
      path: ["spec", "metrics", i, field, "target", "averageUtilization"],
    });
  });
  return out;
}

/** The utilization target the fix proposes: 30% headroom for the time a new node takes. */
const SUGGESTED_UTILIZATION = 70;

export const hpaTargetTooHigh: Rule = {
  id: "hpa-target-too-high",
  severity: "warning",
  title: "HPA utilization target at or above 90%",
  why: "The HPA adds pods only once the average is above target, and new pods may wait for a node Karpenter has to launch (a minute or more). At a 90% target there is no headroom for that wait: existing pods run saturated, CPU-throttled or out of memory until capacity arrives.",
  docs: "https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const hpa of graph.hpas) {
      const high = utilizationTargets(hpa).filter((t) => t.percent >= 90);
      if (high.length === 0) continue;
      drafts.push({
        message: `${name(hpa)} targets ${high.map((t) => `${t.percent}% ${t.resource}`).join(" and ")} utilization${hpa.target === undefined ? "" : ` of ${name(hpa.target)}`}: no headroom while a new node launches`,
        objects: [{ obj: hpa, path: high[0]?.path ?? ["spec"] }],
        fix: {
          description: `target ${SUGGESTED_UTILIZATION}% (${100 - SUGGESTED_UTILIZATION}% headroom for the time a new node takes)`,
          patch: high.map((t) => ({ op: "replace", path: pointer(t.path), value: SUGGESTED_UTILIZATION })),
        },
      });
    }
    return drafts;
  },
};

export const hpaMaxUnreachable: Rule = {
  id: "hpa-max-unreachable",
  severity: "warning",
  title: "HPA maxReplicas the NodePool limits can never hold",
  why: "When load asks for maxReplicas, the replicas beyond what the NodePools' limits can hold stay Pending: the HPA promises capacity the platform refuses to launch. Either the limit or maxReplicas is wrong; the plan says by how many replicas.",
  docs: "https://karpenter.sh/docs/concepts/nodepools/#speclimits",
  effect: "replicasUnreachable",
  check({ graph, plans }) {
    const drafts: Draft[] = [];
    for (const hpa of graph.hpas) {
      const w = hpa.target;
      if (w === undefined || w.kind === "DaemonSet" || w.pods.length === 0) continue;
      if (hpa.maxReplicas <= w.pods.length) continue;
      const atMax = plans.atMaxReplicas(hpa);
      if (atMax === undefined) continue;
      const limited = atMax.plan.unschedulable.filter(
        (u) => atMax.pods.has(u.pod) && u.reason.code === "nodepool_limit_reached",
      );
      if (limited.length === 0) continue;
      const first = limited[0]?.reason;
      const pools = new Set<string>();
      for (const u of limited) if (u.reason.code === "nodepool_limit_reached") pools.add(u.reason.nodePool);
      const poolList = [...pools].sort().flatMap((p) => graph.poolByName.get(p) ?? []);
      const reachable = hpa.maxReplicas - limited.length;
      const named: Named[] = [{ obj: hpa, path: ["spec", "maxReplicas"] }, { obj: w }];
      drafts.push({
        message: `${name(hpa)} may scale ${name(w)} to ${hpa.maxReplicas} replicas, but only ${reachable} fit within the limits of ${[
          ...pools,
        ]
          .sort()
          .map((p) => `NodePool ${p}`)
          .join(
            ", ",
          )}${first?.code === "nodepool_limit_reached" ? ` (${limitText(first.resource, first.limit)} reached)` : ""}: ${plural(limited.length, "replica")} would stay Pending`,
        objects: [...named, ...poolNamed(poolList, ["spec", "limits"])],
        effect: { replicasUnreachable: limited.length },
        ...(reachable >= hpa.minReplicas && reachable >= 1
          ? {
              fix: {
                description: `lower maxReplicas to ${reachable}, what the NodePool limits hold (or raise the limits)`,
                patch: [{ op: "replace", path: "/spec/maxReplicas", value: reachable }],
              },
            }
          : {}),
      });
    }
    return drafts;
  },
};

/** A NodePool limit as Kubernetes writes it: `cpu limit 48`, `memory limit 512Gi`. */
function limitText(modelKey: string, value: number): string {
  const k8s = k8sNameFor(modelKey);
  return `${k8s} limit ${formatQuantity(value, quantityKindFor(k8s))}`;
}

/** The resources a container asks for, as written (requests, then limits, which default requests). */
const written = (c: Raw, field: "requests" | "limits", resource: string) =>
  at(c, ["resources", field, resource]);

export const podRequestsMissing: Rule = {
  id: "pod-requests-missing",
  severity: "warning",
  title: "Containers without cpu or memory requests",
  why: "Karpenter and kube-scheduler size and pack nodes by requests. A container that requests nothing counts as free: Karpenter launches nodes too small for what it really uses, and consolidation packs it onto nodes that then run out of cpu or memory.",
  docs: "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#requests-and-limits",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      const podLevel = recordAt(w.raw, [...w.templatePath, "spec", "resources", "requests"]);
      // Requests (or limits, which default them) a LimitRange fills in at admission are requests.
      const defaulted = new Set<string>();
      for (const lr of graph.byKind("LimitRange"))
        if (lr.namespace === w.namespace)
          for (const item of listAt(lr.raw, ["spec", "limits"]))
            if (isRaw(item) && item.type === "Container")
              for (const field of ["defaultRequest", "default"])
                for (const r of Object.keys(recordAt(item, [field]) ?? {})) defaulted.add(r);
      const missing: { container: string; resources: string[]; path: Segment[] }[] = [];
      for (const c of w.containers) {
        if (c.list !== "containers") continue;
        const lacks = ["cpu", "memory"].filter(
          (r) =>
            written(c.raw, "requests", r) === undefined &&
            written(c.raw, "limits", r) === undefined &&
            podLevel?.[r] === undefined &&
            !defaulted.has(r),
        );
        if (lacks.length > 0)
          missing.push({ container: c.name, resources: lacks, path: [...c.path, "resources"] });
      }
      if (missing.length === 0) continue;
      drafts.push({
        message: `${name(w)}: ${missing.map((m) => `container ${m.container} requests no ${m.resources.join(" and no ")}`).join("; ")}`,
        objects: [{ obj: w, path: missing[0]?.path ?? [] }],
      });
    }
    return drafts;
  },
};

export const memoryLimitAboveRequest: Rule = {
  id: "memory-limit-above-request",
  severity: "warning",
  title: "Memory limit above the request (or no limit) on a consolidating NodePool",
  why: "Consolidation packs pods by their requests and ignores limits. A pod whose memory can grow past its request shares a tightly packed node with others that may too: the node runs out of memory and the kernel kills pods. EKS best practices: requests equal to limits for memory when consolidation is on.",
  docs: EKS_KARPENTER,
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      if (w.kind === "DaemonSet" || !w.pools.some((p) => p.consolidates)) continue;
      const patch: JsonPatchOperation[] = [];
      const parts: string[] = [];
      let firstPath: Segment[] | undefined;
      for (const c of w.containers) {
        const request = written(c.raw, "requests", "memory");
        if (request === undefined) continue;
        const requestBytes = quantityAt(c.raw, ["resources", "requests", "memory"], "bytes");
        const limit = written(c.raw, "limits", "memory");
        const limitBytes = quantityAt(c.raw, ["resources", "limits", "memory"], "bytes");
        if (requestBytes === undefined) continue;
        if (limit === undefined) {
          parts.push(`${c.name} requests ${String(request)} with no limit`);
          patch.push(setOperation(w.raw, [...c.path, "resources", "limits", "memory"], request));
        } else if (limitBytes !== undefined && limitBytes > requestBytes) {
          parts.push(`${c.name} requests ${String(request)} and may use up to ${String(limit)}`);
          patch.push({
            op: "replace",
            path: pointer([...c.path, "resources", "requests", "memory"]),
            value: limit,
          });
        } else continue;
        firstPath ??= [...c.path, "resources"];
      }
      if (parts.length === 0) continue;
      const pools = w.pools.filter((p) => p.consolidates);
      drafts.push({
        message: `${name(w)} can run on consolidating ${names(pools.map((p) => ({ kind: "NodePool", name: p.name })))} and memory can outgrow what it requests: ${parts.join("; ")}`,
        objects: [
          { obj: w, path: firstPath ?? [] },
          ...poolNamed(pools, ["spec", "disruption", "consolidationPolicy"]),
        ],
        fix: {
          description:
            "make memory requests equal limits: raise each request to its limit (what the container may use), or set the limit to the request where there is none",
          patch,
        },
      });
    }
    return drafts;
  },
};

export const requestsAboveLimits: Rule = {
  id: "requests-above-limits",
  severity: "error",
  title: "A request above its limit",
  why: "Kubernetes rejects a container whose request exceeds its limit (the API server answers 422: must be less than or equal to the limit), so this template never makes a pod, while a planner reading the manifest would plan nodes for it.",
  docs: "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#requests-and-limits",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      const patch: JsonPatchOperation[] = [];
      const parts: string[] = [];
      let firstPath: Segment[] | undefined;
      for (const c of w.containers) {
        const requests = recordAt(c.raw, ["resources", "requests"]) ?? {};
        for (const resource of Object.keys(requests).sort()) {
          const kind = quantityKindFor(resource);
          const r = quantityAt(c.raw, ["resources", "requests", resource], kind);
          const l = quantityAt(c.raw, ["resources", "limits", resource], kind);
          if (r === undefined || l === undefined || r <= l) continue;
          parts.push(
            `${c.name} requests ${String(requests[resource])} ${resource} over its limit ${String(written(c.raw, "limits", resource))}`,
          );
          patch.push({
            op: "replace",
            path: pointer([...c.path, "resources", "limits", resource]),
            value: requests[resource],
          });
          firstPath ??= [...c.path, "resources", "requests", resource];
        }
      }
      if (parts.length === 0) continue;
      drafts.push({
        message: `${name(w)}: ${parts.join("; ")}; the API server rejects it`,
        objects: [{ obj: w, path: firstPath ?? [] }],
        fix: { description: "raise each limit to its request (the size the pods were planned for)", patch },
      });
    }
    return drafts;
  },
};

export const doNotDisruptLongLived: Rule = {
  id: "do-not-disrupt-long-lived",
  severity: "warning",
  title: 'karpenter.sh/do-not-disrupt: "true" on a long-lived workload',
  why: 'The annotation is meant for pods that must run to completion (a batch Job, a build). On a Deployment or StatefulSet it pins every node its pods land on forever: no consolidation, no drift replacement, nodes that grow emptier and older. A duration ("30m") protects a startup; a PodDisruptionBudget protects availability.',
  docs: "https://karpenter.sh/docs/concepts/disruption/#pod-level-controls",
  effect: "savingsBlockedPerHour",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      if (!w.longLived || w.podAnnotations[DO_NOT_DISRUPT] !== "true") continue;
      const keys = podKeys(w);
      const path: Segment[] = [...w.templatePath, "metadata", "annotations", DO_NOT_DISRUPT];
      drafts.push({
        message: `${name(w)} marks its pods ${DO_NOT_DISRUPT}: "true": the nodes they run on are never consolidated or replaced for drift`,
        objects: [{ obj: w, path }],
        ...(w.kind === "Pod"
          ? {}
          : {
              fix: {
                description: `remove the ${DO_NOT_DISRUPT} annotation from the pod template (protect availability with a PodDisruptionBudget)`,
                patch: [{ op: "remove", path: pointer(path) } as JsonPatchOperation],
              },
            }),
        blocker: {
          pods: keys,
          relax: (m) => ({
            ...m,
            pods: m.pods.map((p) => {
              if (!keys.has(podKey(p))) return p;
              const { [DO_NOT_DISRUPT]: _, ...annotations } = p.annotations;
              return { ...p, annotations };
            }),
          }),
        },
      });
    }
    return drafts;
  },
};

/** An image reference that names amd64 (`app:1.2-amd64`, `.../amd64/app`, `x86_64`). */
const AMD64_IMAGE = /(^|[/:._-])(amd64|x86[_-]64)(?=$|[/:@._-])/i;

export const arm64ForAmd64Image: Rule = {
  id: "arm64-for-amd64-image",
  severity: "error",
  title: "A NodePool allows arm64 for pods whose image is built for amd64",
  why: "Karpenter picks the cheapest instance type the pod's requirements allow, often Graviton (arm64). An image built only for amd64 then fails on the node with `exec format error` and the pod crash-loops. Pin the pods to amd64, or publish a multi-arch image.",
  docs: "https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-arch",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const w of graph.workloads) {
      if (w.kind === "DaemonSet" || w.constraints === undefined) continue;
      const images = w.containers.filter((c) => AMD64_IMAGE.test(c.image.split("@")[0] ?? ""));
      if (images.length === 0) continue;
      const c = w.constraints;
      const arm = graph
        .compatiblePools(c)
        .filter((pool) =>
          pool.types.some(
            (it) =>
              it.labels["kubernetes.io/arch"] === "arm64" &&
              it.offerings.some((o) => o.available && graph.accepts(c, pool, it, o)),
          ),
        );
      if (arm.length === 0) continue;
      drafts.push({
        message: `${name(w)} runs ${images.map((i) => i.image).join(", ")} (amd64) and ${names(arm.map((p) => ({ kind: "NodePool", name: p.name })))} may place it on arm64 instance types`,
        objects: [
          { obj: w, path: [...(images[0]?.path ?? []), "image"] },
          ...poolNamed(arm, ["spec", "template", "spec", "requirements"]),
        ],
        fix: {
          description: "pin the pods to amd64 with nodeSelector kubernetes.io/arch: amd64",
          patch: [
            setOperation(w.raw, [...w.templatePath, "spec", "nodeSelector", "kubernetes.io/arch"], "amd64"),
          ],
        },
      });
    }
    return drafts;
  },
};
