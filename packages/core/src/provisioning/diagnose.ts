import { REASON_POOL_LIMIT } from "@nodeplan/solver-wasm";
import type { NodePool, ResourceVector, Taint } from "../model.ts";
import type { UnschedulableReason } from "../reasons.ts";
import { renderUnschedulable } from "../render.ts";
import { requirementConflict, untoleratedPoolTaint } from "./compat.ts";
import type { EncodedOffering, Encoding, PodGroup } from "./encode.ts";
import { instanceTypesFor, type ProvisioningInput } from "./input.ts";

/**
 * Turns the kernel's coarse reason for an unplaced group into an actionable one: each NodePool's
 * own reason (which taint, which requirement key, which resource, which limit), the most specific
 * first. Runs only for groups that failed, off the hot path.
 */

/** How far a pod gets in one NodePool before it is stopped, and by what. */
interface PoolVerdict {
  pool: NodePool;
  reason: UnschedulableReason;
  /** The pool's untolerated taint, when it has one (the first thing Karpenter checks). */
  taint?: Taint & { nodePool: string };
  /**
   * Stages passed, with the taint set aside: 0 requirements, 1 the resource exists, 2 size, 3
   * availability, 4 limits, 5 everything (only the taint stops it). More is more specific: the
   * NodePool that would take the pod but for one thing is the one to look at.
   */
  reached: number;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Where the pod stops in `pool`, ignoring its taint (requirements, resource, size, availability, limits). */
function stopIn(
  enc: Encoding,
  group: PodGroup,
  kernelReason: number,
  input: ProvisioningInput,
  poolUsage: ReadonlyMap<string, ResourceVector>,
  pool: NodePool,
): { reason: UnschedulableReason; reached: number } {
  const constraints = enc.constraintClasses[group.constraintClass];
  if (constraints === undefined)
    return { reason: { code: "no_available_offering", nodePool: pool.name }, reached: 0 };
  const offerings: EncodedOffering[] = enc.offerings.filter(
    (o) =>
      o.nodePool.name === pool.name &&
      requirementConflict(constraints, pool, o.instanceType, o.offering) === undefined,
  );
  if (offerings.length === 0) {
    // By name, so the reason does not depend on input order.
    let conflict: UnschedulableReason | undefined;
    for (const it of [...instanceTypesFor(input, pool.name)].sort(byName)) {
      for (const o of it.offerings) {
        const c = requirementConflict(constraints, pool, it, o);
        // Compatible on paper: the offering is unavailable or cannot host the NodePool's DaemonSets.
        if (c === undefined)
          return { reason: { code: "no_available_offering", nodePool: pool.name }, reached: 3 };
        conflict ??= { code: "requirement_conflict", nodePool: pool.name, ...c };
      }
    }
    // A zone conflict that comes from the pod's volumes (PV node affinity, StorageClass topologies).
    const volumeZones = group.pods[0]?.volumeRequirements.find(
      (r) => r.key === "topology.kubernetes.io/zone",
    );
    if (conflict?.code === "requirement_conflict" && conflict.key === volumeZones?.key)
      return { reason: { code: "volume_zone_conflict", zones: [...volumeZones.values] }, reached: 0 };
    return { reason: conflict ?? { code: "no_available_offering", nodePool: pool.name }, reached: 0 };
  }
  for (const [resource, requested] of Object.entries(group.requests)) {
    if (requested > 0 && offerings.every((o) => (o.instanceType.allocatable[resource] ?? 0) === 0))
      return {
        reason: { code: "no_instance_type_has_resource", resource, requested, nodePool: pool.name },
        reached: 1,
      };
  }
  const fits = offerings.filter((o) =>
    Object.entries(group.requests).every(([r, v]) => v <= (o.allocatable[r] ?? 0)),
  );
  if (fits.length === 0) {
    let largest = offerings[0];
    for (const o of offerings)
      if ((o.allocatable.cpuMillis ?? 0) > (largest?.allocatable.cpuMillis ?? 0)) largest = o;
    const reason: UnschedulableReason = {
      code: "too_large_for_any_type",
      requests: { ...group.requests },
      nodePool: pool.name,
    };
    if (largest !== undefined) reason.largest = largest.instanceType.name;
    return { reason, reached: 2 };
  }
  if (kernelReason === REASON_POOL_LIMIT) {
    const used = poolUsage.get(pool.name) ?? {};
    for (const [resource, limit] of Object.entries(pool.limits)) {
      const need = resource === "nodes" ? 1 : (group.requests[resource] ?? 0);
      if ((used[resource] ?? 0) + need > limit)
        return {
          reason: {
            code: "nodepool_limit_reached",
            nodePool: pool.name,
            resource,
            limit,
            used: used[resource] ?? 0,
          },
          reached: 4,
        };
    }
  }
  return { reason: { code: "no_available_offering", nodePool: pool.name }, reached: 3 };
}

/** Each NodePool's verdict for the group. */
function verdicts(
  enc: Encoding,
  group: PodGroup,
  kernelReason: number,
  input: ProvisioningInput,
  poolUsage: ReadonlyMap<string, ResourceVector>,
): PoolVerdict[] {
  const constraints = enc.constraintClasses[group.constraintClass];
  return enc.pools.map((pool) => {
    const { reason, reached } = stopIn(enc, group, kernelReason, input, poolUsage, pool);
    const taint = constraints === undefined ? undefined : untoleratedPoolTaint(constraints, pool);
    if (taint === undefined) return { pool, reason, reached };
    const tainted = { ...taint, nodePool: pool.name };
    // Karpenter checks the taint first, so that is the pool's reason; how far the pod would get
    // without it decides how much it matters (the GPU pool a GPU pod does not tolerate comes first).
    return {
      pool,
      taint: tainted,
      reason: { code: "no_nodepool_tolerates_taint", taints: [tainted] },
      reached: reached === 3 || reached === 4 ? 5 : reached,
    };
  });
}

/**
 * Why the group was not placed: the most specific NodePool's reason, with every NodePool's own
 * reason in `nodePools` (most specific first; ties keep the NodePools' priority order). When the
 * leading reason is a taint, every untolerated taint is listed, the leading one first.
 */
export function diagnoseUnplaced(
  enc: Encoding,
  group: PodGroup,
  kernelReason: number,
  input: ProvisioningInput,
  poolUsage: ReadonlyMap<string, ResourceVector>,
): UnschedulableReason {
  if (enc.constraintClasses[group.constraintClass] === undefined || enc.pools.length === 0)
    return { code: "no_available_offering" };
  const all = verdicts(enc, group, kernelReason, input, poolUsage);
  // Stable: sort keeps the NodePools' priority order among equals.
  const ranked = all
    .map((v, i) => ({ v, i }))
    .sort((a, b) => b.v.reached - a.v.reached || a.i - b.i)
    .map((x) => x.v);
  const top = ranked[0] as PoolVerdict;
  const reason: UnschedulableReason =
    top.taint !== undefined
      ? {
          code: "no_nodepool_tolerates_taint",
          taints: ranked.flatMap((v) => (v.taint === undefined ? [] : [v.taint])),
        }
      : { ...top.reason };
  if (ranked.length > 1)
    reason.nodePools = ranked.map((v) => ({
      nodePool: v.pool.name,
      code: v.reason.code,
      message: renderUnschedulable(v.reason),
    }));
  return reason;
}
