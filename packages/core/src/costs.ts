import { z } from "zod";
import type { InstanceType, Node, NodePool, Offering } from "./model.ts";

/**
 * What a node costs per hour, as the bill will say it, not the instance price alone (../shared/CONTRACTS.md
 * `Costs`). The design: a provider folds every per-node cost into the price of each offering it returns
 * (`Offering.pricePerHour`) and records the split in `Offering.costs`. Provisioning, the lower bound and
 * its certificate, validation and disruption all read `pricePerHour` only, so they agree without a
 * special case; reports read the split back (`offeringCosts`, `costsOfNode`).
 */

/** Dollars per hour, split by what is paid for. Every field is a non-negative amount. */
export const CostsSchema = z.object({
  /** The instance itself (on-demand, spot or reserved price). */
  instancePerHour: z.number().min(0),
  /** EBS volumes: size per GB-month, provisioned IOPS and throughput above what the type includes. */
  storagePerHour: z.number().min(0),
  /** Public IPv4 addresses. */
  networkPerHour: z.number().min(0),
  /** Burstable instances' surplus CPU credits at the modelled load (unlimited mode). */
  burstableCreditsPerHour: z.number().min(0),
  /** A user-set fee per node (licences, agents): the NodePool's `nodeplan.dev/node-fee-per-hour`. */
  feesPerHour: z.number().min(0),
});
/** See `CostsSchema`. */
export type Costs = z.infer<typeof CostsSchema>;

/** The part of a node's costs that is not the instance: what a provider adds to an offering. */
export type NodeCosts = Partial<Omit<Costs, "instancePerHour">>;

const KEYS = [
  "instancePerHour",
  "storagePerHour",
  "networkPerHour",
  "burstableCreditsPerHour",
  "feesPerHour",
] as const satisfies readonly (keyof Costs)[];

/** Nothing. */
export const ZERO_COSTS: Readonly<Costs> = Object.freeze({
  instancePerHour: 0,
  storagePerHour: 0,
  networkPerHour: 0,
  burstableCreditsPerHour: 0,
  feesPerHour: 0,
});

/** The sum of a breakdown: what the node costs per hour. */
export function totalPerHour(costs: Readonly<Costs>): number {
  let total = 0;
  for (const k of KEYS) total += costs[k];
  return total;
}

/** Field-by-field sum of any number of breakdowns (a new object; an empty list sums to zero). */
export function sumCosts(parts: Iterable<Readonly<Costs>>): Costs {
  const out: Costs = { ...ZERO_COSTS };
  for (const p of parts) for (const k of KEYS) out[k] += p[k];
  return out;
}

/** An offering's breakdown: its recorded split, else its whole price as the instance's. */
export function offeringCosts(offering: Pick<Offering, "pricePerHour" | "costs">): Costs {
  return offering.costs ?? { ...ZERO_COSTS, instancePerHour: offering.pricePerHour };
}

/**
 * Instance types whose offerings also pay `extra(type, offering)` per node: each price is raised by
 * the extra costs and the split recorded, so every consumer of `pricePerHour` sees the whole bill.
 * Costs already folded in are kept (applying twice adds twice: call it once per catalog).
 */
export function withNodeCosts(
  instanceTypes: readonly InstanceType[],
  extra: (type: InstanceType, offering: Offering) => NodeCosts | undefined,
): InstanceType[] {
  return instanceTypes.map((type) => {
    let changed = false;
    const offerings = type.offerings.map((o) => {
      const add = extra(type, o);
      if (add === undefined) return o;
      // A copy: the offering (and its recorded split) may be shared by other catalogs' types.
      const costs = { ...offeringCosts(o) };
      let sum = 0;
      for (const k of KEYS) {
        if (k === "instancePerHour") continue;
        const v = add[k] ?? 0;
        if (!(v >= 0) || !Number.isFinite(v))
          throw new RangeError(`${type.name}: per-node ${k} must be a non-negative amount, got ${v}`);
        costs[k] += v;
        sum += v;
      }
      if (sum === 0) return o;
      changed = true;
      return { ...o, pricePerHour: o.pricePerHour + sum, costs };
    });
    return changed ? { ...type, offerings } : type;
  });
}

/**
 * The NodePool annotation that sets a fee every node of the pool pays, in US dollars per hour (a
 * decimal such as `"0.012"`): licences, agents, support billed per node. Validated by `NodePoolSchema`.
 */
export const NODE_FEE_ANNOTATION = "nodeplan.dev/node-fee-per-hour";

/** The fee of a NodePool's nodes ($/h): its annotation, else `fallback` (a host's default, 0 when absent). */
export function nodePoolFeePerHour(pool: Pick<NodePool, "annotations">, fallback = 0): number {
  const raw = pool.annotations[NODE_FEE_ANNOTATION];
  if (raw === undefined) return fallback;
  const fee = parseFeePerHour(raw);
  if (fee === undefined)
    throw new RangeError(
      `${NODE_FEE_ANNOTATION} ${JSON.stringify(raw)} is not an amount in dollars per hour`,
    );
  return fee;
}

/** A fee written as a plain non-negative decimal (`0`, `0.05`, `1.5`); undefined when it is not one. */
export function parseFeePerHour(raw: string): number | undefined {
  if (!/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(raw.trim())) return undefined;
  const fee = Number(raw);
  return Number.isFinite(fee) ? fee : undefined;
}

/** A NodePool's catalog with its fee folded into every offering (see `withNodeCosts`). */
export function withNodePoolFee(
  instanceTypes: readonly InstanceType[],
  pool: Pick<NodePool, "annotations">,
  fallbackPerHour = 0,
): InstanceType[] {
  const fee = nodePoolFeePerHour(pool, fallbackPerHour);
  return fee > 0 ? withNodeCosts(instanceTypes, () => ({ feesPerHour: fee })) : [...instanceTypes];
}

/**
 * The breakdown of an existing node's price: the catalog offering of its type, zone and capacity type
 * (else any zone) when its price is that offering's, else its whole price as the instance's. Always
 * sums to the node's price: `pricePerHour` when the caller priced it (the disruption planner's price),
 * else the node's own, else the offering's (0 when unknown). `types` by name.
 */
export function costsOfNode(
  node: Node,
  types: ReadonlyMap<string, InstanceType>,
  pricePerHour?: number,
): Costs {
  const it = node.instanceType === undefined ? undefined : types.get(node.instanceType);
  const capacityType = node.capacityType ?? "on-demand";
  const offering =
    it?.offerings.find((o) => o.zone === node.zone && o.capacityType === capacityType) ??
    it?.offerings.find((o) => o.capacityType === capacityType);
  const price = pricePerHour ?? node.pricePerHour ?? offering?.pricePerHour;
  if (price === undefined) return { ...ZERO_COSTS };
  if (offering !== undefined && Math.abs(offering.pricePerHour - price) <= 1e-9 * Math.max(1, price))
    return offeringCosts(offering);
  return { ...ZERO_COSTS, instancePerHour: price };
}
