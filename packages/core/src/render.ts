import type { KeptReason, UnschedulableReason } from "./reasons.ts";

/**
 * The one place reasons become sentences. Outputs carry the structured reason; this text is for people
 * (CLI report, Kubernetes Events, the playground).
 */

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(4).replace(/0+$/, ""));
const inPool = (p?: string) => (p === undefined ? "" : ` in NodePool ${p}`);

/**
 * Why a pod was not placed, as one sentence; when several NodePools were tried, each one's own
 * reason follows, most specific first.
 */
export function renderUnschedulable(reason: UnschedulableReason): string {
  const main = renderReason(reason);
  const pools = reason.nodePools ?? [];
  if (pools.length < 2) return main;
  // The leading NodePool's reason is the sentence itself; the others follow it.
  const others = pools.filter((p, i) => !(i === 0 && p.message === main));
  const label = others.length < pools.length ? "other NodePools" : "by NodePool";
  return `${main} [${label}: ${others.map((p) => `${p.nodePool}: ${p.message}`).join("; ")}]`;
}

function renderReason(reason: UnschedulableReason): string {
  switch (reason.code) {
    case "no_nodepool_tolerates_taint":
      return `no NodePool tolerated: the pod does not tolerate ${reason.taints
        .map((t) => `${t.key}${t.value === undefined ? "" : `=${t.value}`}:${t.effect}${inPool(t.nodePool)}`)
        .join(", ")}`;
    case "no_instance_type_has_resource":
      return `no instance type${inPool(reason.nodePool)} offers ${reason.resource} (requested ${fmt(reason.requested)})`;
    case "requirement_conflict":
      return `requirement on ${reason.key}${reason.podRequirement === undefined ? "" : ` (${reason.podRequirement})`} conflicts with${
        reason.nodePoolRequirement === undefined
          ? " every NodePool's instance types"
          : ` ${reason.nodePoolRequirement}`
      }${inPool(reason.nodePool)}`;
    case "nodepool_limit_reached":
      return `NodePool ${reason.nodePool} limit on ${reason.resource} reached (${fmt(reason.used)} of ${fmt(reason.limit)} used)`;
    case "no_available_offering":
      return `no available offering${inPool(reason.nodePool)}${reason.zones === undefined ? "" : ` in zones ${reason.zones.join(", ")}`}`;
    case "topology_spread_unsatisfiable":
      return `topology spread on ${reason.topologyKey} (maxSkew ${reason.maxSkew}) cannot be satisfied`;
    case "pod_affinity_unsatisfiable":
      return `pod affinity on ${reason.topologyKey}${reason.selector === undefined ? "" : ` to ${reason.selector}`} cannot be satisfied`;
    case "pod_anti_affinity_conflict":
      return `pod anti-affinity on ${reason.topologyKey}${reason.conflictingPod === undefined ? "" : ` with ${reason.conflictingPod}`} leaves no domain`;
    case "host_port_conflict":
      return `host port ${reason.port}/${reason.protocol} is already taken`;
    case "volume_zone_conflict":
      return `its volumes pin it to ${reason.zones.join(", ")}${reason.claim === undefined ? "" : ` (claim ${reason.claim})`}, where nothing can launch`;
    case "min_values_unsatisfiable":
      return `minValues ${reason.minValues} on ${reason.key} cannot be met (${reason.available} available)${inPool(reason.nodePool)}`;
    case "too_large_for_any_type":
      return `too large for any instance type${inPool(reason.nodePool)}${reason.largest === undefined ? "" : ` (largest compatible: ${reason.largest})`}`;
  }
}

/** Why a node was not disrupted, as one sentence. */
export function renderKept(reason: KeptReason): string {
  switch (reason.code) {
    case "not_managed":
      return "not managed by a NodePool";
    case "not_initialized":
      return "not initialized yet";
    case "being_deleted":
      return "already being deleted";
    case "nominated":
      return `nominated for pending pod${reason.pod === undefined ? "s" : ` ${reason.pod}`}`;
    case "do_not_disrupt_node":
      return "node is annotated karpenter.sh/do-not-disrupt";
    case "do_not_disrupt_pod":
      return `pod ${reason.pod} is annotated karpenter.sh/do-not-disrupt${reason.until === undefined ? "" : ` until ${reason.until}`}`;
    case "pdb_blocks_eviction":
      return `PodDisruptionBudget ${reason.pdb} allows no disruption of ${reason.pod}`;
    case "pod_under_multiple_pdbs":
      return `pod ${reason.pod} is selected by several PodDisruptionBudgets (${reason.pdbs.join(", ")})`;
    case "budget_exhausted":
      return `NodePool ${reason.nodePool} budget for ${reason.reason} allows ${reason.allowed} now${
        reason.schedule === undefined
          ? ""
          : ` (schedule ${reason.schedule}${reason.until === undefined ? "" : ` until ${reason.until}`})`
      }`;
    case "consolidate_after_pending":
      return `consolidatable at ${reason.consolidatableAt}`;
    case "consolidation_disabled":
      return `NodePool ${reason.nodePool} has consolidateAfter: Never`;
    case "policy_when_empty":
      return `NodePool ${reason.nodePool} only consolidates empty nodes`;
    case "no_cheaper_replacement":
      if (reason.spotToSpotDisabled === true)
        return `a replacement for $${fmt(reason.pricePerHour)}/h of spot would launch as spot, and spot-to-spot consolidation is disabled`;
      return `no cheaper replacement for $${fmt(reason.pricePerHour)}/h${reason.cheapestPerHour === undefined ? "" : ` (cheapest $${fmt(reason.cheapestPerHour)}/h)`}`;
    case "savings_below_threshold":
      return `saving $${fmt(reason.savingsPerHour)}/h is below the threshold of $${fmt(reason.thresholdPerHour)}/h`;
    case "pods_would_not_fit":
      return `pods would not fit elsewhere: ${reason.pods.map((p) => `${p.pod} (${renderUnschedulable(p.reason)})`).join("; ")}`;
  }
}
