import type { Node, NodePool, ResourceVector } from "./model.ts";

/**
 * NodePool limit accounting in one place (Karpenter: pkg/controllers/provisioning/scheduling and the
 * NodePool counter). A NodePool's limits (`cpu`, `memory`, any resource, and `nodes`) are compared
 * with the summed capacity of every node and in-flight claim it owns, each node counting 1 toward
 * `nodes`; a claim about to be made is charged pessimistically with the largest capacity among its
 * remaining instance type options, since any of them may be what launches.
 */

/** The limit key counting nodes (Karpenter's `limits.nodes`). */
export const NODES_LIMIT = "nodes";

/** Where a claim or node would take a NodePool past one of its limits. */
export interface LimitExceeded {
  nodePool: string;
  /** The model resource key (`cpuMillis`, `memoryBytes`, `nodes`, ...). */
  resource: string;
  limit: number;
  /** Charged to the NodePool before this claim. */
  used: number;
  /** What this claim would add. */
  adding: number;
}

const add = (into: Record<string, number>, v: Readonly<ResourceVector>) => {
  for (const [k, x] of Object.entries(v)) into[k] = (into[k] ?? 0) + x;
};

/**
 * What each NodePool's limits are charged with now: per NodePool name, the capacity of its nodes and
 * in-flight claims plus `nodes: 1` each. `chargeOf` may give a node's charge instead of its capacity
 * (a claim that has not launched yet: its largest option, see `claimCharge`); nodes of no NodePool
 * are not counted.
 */
export function nodePoolUsage(
  nodes: readonly Node[],
  chargeOf?: (node: Node) => Readonly<ResourceVector> | undefined,
): Map<string, ResourceVector> {
  const usage = new Map<string, Record<string, number>>();
  for (const node of nodes) {
    if (node.nodePool === undefined) continue;
    let used = usage.get(node.nodePool);
    if (used === undefined) usage.set(node.nodePool, (used = {}));
    const charge = chargeOf?.(node);
    if (charge !== undefined) add(used, charge);
    else {
      add(used, node.capacity);
      used[NODES_LIMIT] = (used[NODES_LIMIT] ?? 0) + 1;
    }
  }
  return usage;
}

/**
 * The charge of a claim to be made (Karpenter's pessimistic rule): per resource, the largest capacity
 * among its instance type options, and `nodes: 1`. An option `capacityOf` does not know adds nothing.
 */
export function claimCharge(
  instanceTypeOptions: readonly string[],
  capacityOf: (instanceType: string) => Readonly<ResourceVector> | undefined,
): ResourceVector {
  const out: Record<string, number> = {};
  for (const name of instanceTypeOptions)
    for (const [k, v] of Object.entries(capacityOf(name) ?? {})) out[k] = Math.max(out[k] ?? 0, v);
  out[NODES_LIMIT] = 1;
  return out;
}

/**
 * The first limit (in key order, so the answer is reproducible) that `charge` on top of `used` would
 * exceed, or undefined when the NodePool has room. A limit is exceeded when used + charge > limit: a
 * NodePool exactly at its limit is full, as in Karpenter.
 */
export function exceedsLimits(
  pool: Pick<NodePool, "name" | "limits">,
  used: Readonly<ResourceVector>,
  charge: Readonly<ResourceVector>,
): LimitExceeded | undefined {
  for (const resource of Object.keys(pool.limits).sort()) {
    const limit = pool.limits[resource] as number;
    const adding = charge[resource] ?? 0;
    const before = used[resource] ?? 0;
    if (adding > 0 && before + adding > limit)
      return { nodePool: pool.name, resource, limit, used: before, adding };
  }
  return undefined;
}

/**
 * Limit accounting across several claims made one after another (a pass creating claims, a
 * disruption command's replacements): each claim that fits is charged, so the next one sees it.
 */
export class NodePoolLimits {
  private readonly usage: Map<string, ResourceVector>;
  private readonly pools: ReadonlyMap<string, Pick<NodePool, "name" | "limits">>;

  constructor(
    pools: readonly Pick<NodePool, "name" | "limits">[],
    nodes: readonly Node[],
    chargeOf?: (node: Node) => Readonly<ResourceVector> | undefined,
  ) {
    this.pools = new Map(pools.map((p) => [p.name, p]));
    this.usage = nodePoolUsage(nodes, chargeOf);
  }

  /** What the NodePool is charged with so far. */
  used(nodePool: string): ResourceVector {
    return { ...(this.usage.get(nodePool) ?? {}) };
  }

  /** The limit `charge` would exceed, without charging it. An unknown NodePool has no limits. */
  check(nodePool: string, charge: Readonly<ResourceVector>): LimitExceeded | undefined {
    const pool = this.pools.get(nodePool);
    return pool === undefined ? undefined : exceedsLimits(pool, this.usage.get(nodePool) ?? {}, charge);
  }

  /** Charges `charge` when it fits (returns undefined), else returns the limit it would exceed. */
  tryCharge(nodePool: string, charge: Readonly<ResourceVector>): LimitExceeded | undefined {
    const over = this.check(nodePool, charge);
    if (over !== undefined) return over;
    const used = { ...(this.usage.get(nodePool) ?? {}) };
    add(used, charge);
    this.usage.set(nodePool, used);
    return undefined;
  }

  /** Several claims that must all fit together (a command's replacements): all charged, or none. */
  tryChargeAll(
    charges: readonly { nodePool: string; charge: Readonly<ResourceVector> }[],
  ): LimitExceeded | undefined {
    const before = new Map([...this.usage].map(([k, v]) => [k, { ...v }]));
    for (const { nodePool, charge } of charges) {
      const over = this.tryCharge(nodePool, charge);
      if (over !== undefined) {
        this.usage.clear();
        for (const [k, v] of before) this.usage.set(k, v);
        return over;
      }
    }
    return undefined;
  }
}
