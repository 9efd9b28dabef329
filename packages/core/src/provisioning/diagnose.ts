import { REASON_POOL_LIMIT, REASON_TOO_LARGE } from "@nodeplan/solver-wasm";
import type { ResourceVector } from "../model.ts";
import type { UnschedulableReason } from "../reasons.ts";
import { requirementConflict, untoleratedPoolTaint } from "./compat.ts";
import type { Encoding, PodGroup } from "./encode.ts";
import { instanceTypesFor, type ProvisioningInput } from "./input.ts";

/**
 * Turns the kernel's coarse reason for an unplaced group into an actionable one: which taint, which
 * requirement key, which resource, which limit. Runs only for groups that failed, off the hot path.
 */
export function diagnoseUnplaced(
  enc: Encoding,
  group: PodGroup,
  kernelReason: number,
  input: ProvisioningInput,
  poolUsage: ReadonlyMap<string, ResourceVector>,
): UnschedulableReason {
  const constraints = enc.constraintClasses[group.constraintClass];
  const row = enc.classOfferings[group.constraintClass];
  if (constraints === undefined || row === undefined) return { code: "no_available_offering" };

  if (kernelReason === REASON_POOL_LIMIT) {
    for (const pool of enc.pools) {
      const used = poolUsage.get(pool.name) ?? {};
      for (const [resource, limit] of Object.entries(pool.limits)) {
        const need = resource === "nodes" ? 1 : (group.requests[resource] ?? 0);
        if ((used[resource] ?? 0) + need > limit) {
          return {
            code: "nodepool_limit_reached",
            nodePool: pool.name,
            resource,
            limit,
            used: used[resource] ?? 0,
          };
        }
      }
    }
    const pool = enc.pools[0];
    return {
      code: "nodepool_limit_reached",
      nodePool: pool?.name ?? "",
      resource: "nodes",
      limit: pool?.limits.nodes ?? 0,
      used: 0,
    };
  }

  const compatible = enc.offerings.filter((_, t) => row[t] === 1);
  if (kernelReason === REASON_TOO_LARGE || compatible.length > 0) {
    for (const [resource, requested] of Object.entries(group.requests)) {
      if (requested > 0 && compatible.every((o) => (o.instanceType.allocatable[resource] ?? 0) === 0)) {
        return {
          code: "no_instance_type_has_resource",
          resource,
          requested,
          nodePool: compatible[0]?.nodePool.name,
        };
      }
    }
    let largest = compatible[0];
    for (const o of compatible) {
      if ((o.allocatable.cpuMillis ?? 0) > (largest?.allocatable.cpuMillis ?? 0)) largest = o;
    }
    return {
      code: "too_large_for_any_type",
      requests: { ...group.requests },
      largest: largest?.instanceType.name,
      nodePool: largest?.nodePool.name,
    };
  }

  // Nothing compatible: taints first, then requirements, then availability.
  if (enc.pools.length === 0) return { code: "no_available_offering" };
  const taints = enc.pools
    .map((pool) => ({ pool, taint: untoleratedPoolTaint(constraints, pool) }))
    .filter((x) => x.taint !== undefined);
  if (taints.length === enc.pools.length) {
    return {
      code: "no_nodepool_tolerates_taint",
      taints: taints.map(({ pool, taint }) => ({
        ...(taint as NonNullable<typeof taint>),
        nodePool: pool.name,
      })),
    };
  }
  let conflict: UnschedulableReason | undefined;
  for (const pool of enc.pools) {
    if (untoleratedPoolTaint(constraints, pool) !== undefined) continue;
    // By name, so the reason does not depend on input order.
    const types = [...instanceTypesFor(input, pool.name)].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const it of types) {
      for (const o of it.offerings) {
        const c = requirementConflict(constraints, pool, it, o);
        if (c === undefined) {
          // Compatible on paper: the offering is unavailable or cannot host the NodePool's DaemonSets.
          return { code: "no_available_offering", nodePool: pool.name };
        }
        conflict ??= { code: "requirement_conflict", nodePool: pool.name, ...c };
      }
    }
  }
  // A zone conflict that comes from the pod's volumes (PV node affinity, StorageClass topologies).
  const volumeZones = group.pods[0]?.volumeRequirements.find((r) => r.key === "topology.kubernetes.io/zone");
  if (conflict?.code === "requirement_conflict" && conflict.key === volumeZones?.key)
    return { code: "volume_zone_conflict", zones: [...volumeZones.values] };
  return conflict ?? { code: "no_available_offering" };
}
