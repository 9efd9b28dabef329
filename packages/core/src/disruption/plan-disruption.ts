import type { Kernel } from "@nodeplan/solver-wasm";
import { costsOfNode, sumCosts } from "../costs.ts";
import { parseDurationMillis } from "../duration.ts";
import type { InstanceType, Node, NodePool, Pod, PodDisruptionBudget } from "../model.ts";
import type { DisruptionCommand, DisruptionPlan, Plan, PlannedNodeClaim } from "../plan.ts";
import { provision } from "../provisioning/provision.ts";
import type { KeptReason } from "../reasons.ts";
import { renderKept } from "../render.ts";
import {
  LABEL_CAPACITY_TYPE,
  LABEL_HOSTNAME,
  LABEL_INSTANCE_TYPE,
  LABEL_NODEPOOL,
  LABEL_TOPOLOGY_ZONE,
} from "../well-known-labels.ts";
import { allowedDisruptions, type BudgetReason } from "./budgets.ts";
import {
  type CandidateContext,
  consolidationBlocker,
  gracefulBlocker,
  reschedulablePods,
  rescheduleCost,
} from "./candidates.ts";
import { driftReason, expiresAt, NODEPOOL_HASH, NODEPOOL_HASH_VERSION } from "./drift.ts";
import { DEFAULT_MIN_SAVINGS_PER_HOUR, DEFAULT_MIN_SAVINGS_PERCENT, type DisruptionInput } from "./input.ts";
import { pdbStatus, selectorMatches } from "./pdb.ts";

/**
 * The disruption planner (../shared/SEMANTICS.md "Disruption", CONTRACTS.md "DisruptionPlan").
 *
 * The cluster is simulated wave by wave until nothing more is worth doing: wave 1 holds what may start
 * now within every budget and PDB, wave k+1 what becomes allowed once waves <= k have completed. The
 * packing kernel (`provision`) is the simulator: a set S of nodes is "removed" by making their
 * reschedulable pods pending again against the rest of the cluster; the plan's new claims are S's
 * replacements, and a move is only taken when every evicted pod has a home.
 *
 * Order within a wave: forceful methods first (wave 1 only: expiration, interruption; budgets and
 * do-not-disrupt ignored, replacements planned before the nodes go), then emptiness, drift and
 * consolidation, each NodePool's budget shared by all of them. Pending pods take no part in a
 * simulation (they are the provisioner's). Replacements this plan launches absorb pods in later waves
 * but are not candidates again. Simulations use a catalog pruned of dominated instance types
 * (`pruneDominated`), so replacement claims list fewer instance type options than a provisioning plan.
 *
 * Strategy `nodeplan`: a consolidation round simulates removing all consolidatable nodes (lowest
 * utilisation first), half and a quarter of them, keeps the best saving that clears the anti-churn
 * threshold, and carries it out over as many waves as budgets need. Strategy `karpenter`: Karpenter's
 * loop, one command per wave (emptiness, then one drifted node, then multi-node prefix binary search
 * over <= 100 candidates ordered by price / RescheduleCost, then single-node first success, bounded at
 * SINGLE_NODE_ATTEMPTS simulations per loop where Karpenter has a 3-minute timeout).
 */

/** Forceful interruption kinds; rebalance recommendations only with the opt-in. */
const FORCEFUL_KINDS = new Set([
  "spot_interruption",
  "scheduled_change",
  "instance_stopping",
  "instance_terminating",
]);
/** Karpenter's multi-node consolidation looks at no more than this many candidates. */
const KARPENTER_MULTI_NODE_MAX = 100;
/** Spot-to-spot single-node consolidation needs this many cheaper instance types (Karpenter). */
const SPOT_TO_SPOT_MIN_TYPES = 15;
/** Single-node attempts per loop (Karpenter bounds them by a 3-minute timeout; we bound by count). */
const SINGLE_NODE_ATTEMPTS = 500;
/** nodeplan: prefix sizes tried per wave and per NodePool, and single-node attempts after them. */
const NODEPLAN_PREFIX_TRIES = 3;
const NODEPLAN_SINGLE_ATTEMPTS = 8;
/** Upper bound on waves when the caller sets none (a fixed point is normally reached long before). */
const MAX_WAVES = 1000;
/** Prefix of the names simulated claims get before a command is taken. */
const SIM_PREFIX = "\u0000sim:";

type Method = DisruptionCommand["method"];

/** The simulated cluster between waves. */
interface State {
  nodes: Map<string, Node>;
  pods: Pod[];
  /** Replacements this plan launched: they absorb pods but are not candidates again. */
  fresh: Set<string>;
}

/** What removing a set of nodes would do. */
interface Simulation {
  evicted: Pod[];
  claims: PlannedNodeClaim[];
  /** Evicted pod -> existing node or claim name. */
  placements: Map<string, string>;
  unschedulable: Plan["unschedulable"];
  removedPerHour: number;
  newPerHour: number;
  /** The kernel's proven bound on the new capacity it planned. */
  lowerBoundPerHour: number;
}

/** A consolidation round in progress: nodes still to remove, the simulation it follows, claims launched. */
interface Round {
  order: string[];
  sim: Simulation;
  /** Simulated claim name -> the real name it launched under. */
  launched: Map<string, string>;
}

/** Everything fixed for one plan. */
interface Env {
  kernel: Kernel;
  input: DisruptionInput;
  nowMillis: number;
  pools: Map<string, NodePool>;
  pdbs: PdbIndex;
  minSavingsPerHour: number;
  minSavingsPercent: number;
  spotToSpot: boolean;
  /** The catalog the simulations use: per NodePool, dominated instance types pruned. */
  simTypes: Record<string, InstanceType[]>;
  /** Each NodePool's full catalog by instance type name. */
  catalog: Map<string, Map<string, InstanceType>>;
  claimCounters: Map<string, number>;
  takenNames: Set<string>;
  warnings: DisruptionPlan["warnings"];
  /** Nodes pending pods are about to use: never candidates. */
  nominated: ReadonlyMap<string, string>;
  /** The consolidation round being carried out (nodeplan strategy). */
  round?: Round | undefined;
}

/** One wave's bookkeeping: budgets used per NodePool, PDB evictions left, nodes already touched. */
interface Wave {
  index: number;
  ctx: CandidateContext;
  poolNodes: Map<string, number>;
  disrupting: Map<string, number>;
  pdbLeft: Map<string, number>;
  touched: Set<string>;
  strictPdbs: boolean;
}

/** Plans disruption for `input` with `kernel` (see `createSolver`). Pure: same input, same plan. */
export function planDisruption(kernel: Kernel, input: DisruptionInput): DisruptionPlan {
  const nowMillis = Date.parse(input.now);
  const errors: DisruptionPlan["errors"] = [];
  if (!Number.isFinite(nowMillis)) {
    errors.push({
      source: "DisruptionInput",
      path: "now",
      code: "invalid_schema",
      message: `now must be an RFC 3339 timestamp, got ${JSON.stringify(input.now)}`,
    });
    return {
      commands: [],
      kept: [],
      cost: { currentPerHour: 0, afterPerHour: 0, lowerBoundPerHour: 0 },
      warnings: [],
      errors,
    };
  }
  const opts = input.options ?? {};
  const env: Env = {
    kernel,
    input,
    nowMillis,
    pools: new Map(input.nodePools.map((p) => [p.name, p])),
    pdbs: pdbMembership(input.pdbs ?? [], input.pods),
    minSavingsPerHour: opts.minSavingsPerHour ?? DEFAULT_MIN_SAVINGS_PER_HOUR,
    minSavingsPercent: opts.minSavingsPercent ?? DEFAULT_MIN_SAVINGS_PERCENT,
    spotToSpot: opts.spotToSpotConsolidation ?? false,
    simTypes: {},
    catalog: new Map(),
    claimCounters: new Map(),
    takenNames: new Set(input.nodes.map((n) => n.name)),
    warnings: [],
    nominated: new Map(Object.entries(input.nominated ?? {}).sort((a, b) => cmp(a[0], b[0]))),
  };
  for (const pool of input.nodePools) {
    env.simTypes[pool.name] = pruneDominated(input, pool, typesFor(env, pool.name));
    env.catalog.set(pool.name, new Map(typesFor(env, pool.name).map((t) => [t.name, t])));
  }
  // Unmanaged nodes are priced from a catalog shared by all NodePools, when there is one.
  env.catalog.set("", new Map(typesFor(env, "").map((t) => [t.name, t])));
  const state: State = {
    nodes: new Map([...input.nodes].sort((a, b) => cmp(a.name, b.name)).map((n) => [n.name, n])),
    pods: [...input.pods],
    fresh: new Set(),
  };
  const kept = new Map<string, KeptReason>();
  const commands: DisruptionCommand[] = [];
  const maxWaves = opts.maxWaves ?? MAX_WAVES;
  const karpenter = opts.strategy === "karpenter";

  for (let index = 1; index <= maxWaves; index++) {
    const wave = startWave(env, state, index);
    const before = commands.length;
    if (index === 1) commands.push(...forceful(env, state, wave, opts.rebalanceRecommendations ?? false));
    const graceful = karpenter ? karpenterLoop(env, state, wave, kept) : nodeplanWave(env, state, wave, kept);
    commands.push(...graceful);
    // A wave with only forceful commands is followed by one more, on the cluster after them.
    if (commands.length === before) break;
  }

  const currentPerHour = sum(input.nodes.map((n) => priceOf(env, n)));
  const afterPerHour = sum([...state.nodes.values()].map((n) => priceOf(env, n)));
  const keptOut: DisruptionPlan["kept"] = [];
  for (const n of state.nodes.values()) {
    if (state.fresh.has(n.name)) continue;
    const reason = kept.get(n.name) ?? { code: "no_cheaper_replacement", pricePerHour: priceOf(env, n) };
    keptOut.push({ node: n.name, reason, message: renderKept(reason) });
  }
  // Each node's price split by what is paid for (instance, volumes, addresses, credits, fees).
  const costsOf = (n: Node) =>
    costsOfNode(n, env.catalog.get(n.nodePool ?? "") ?? env.catalog.get("") ?? new Map(), priceOf(env, n));
  const breakdown = {
    current: sumCosts(input.nodes.map(costsOf)),
    after: sumCosts([...state.nodes.values()].map(costsOf)),
  };
  return {
    commands,
    kept: keptOut,
    cost: {
      currentPerHour,
      afterPerHour,
      lowerBoundPerHour: lowerBound(env, state, afterPerHour),
      breakdown,
    },
    warnings: env.warnings,
    errors,
  };
}

// ---------------------------------------------------------------------------------------------------
// Waves, budgets and PDBs

function startWave(env: Env, state: State, index: number): Wave {
  const podsByNode = new Map<string, Pod[]>();
  // PDB membership is static (labels never change); only each PDB's disruptionsAllowed moves.
  const { byPod, entries } = env.pdbs;
  const selected = new Map<string, Pod[]>();
  for (const p of state.pods) {
    if (p.nodeName !== undefined) {
      const list = podsByNode.get(p.nodeName);
      if (list === undefined) podsByNode.set(p.nodeName, [p]);
      else list.push(p);
    }
    for (const e of byPod.get(podKey(p)) ?? []) {
      const list = selected.get(e.name);
      if (list === undefined) selected.set(e.name, [p]);
      else list.push(p);
    }
  }
  const pdbLeft = new Map<string, number>();
  for (const [name, e] of entries) {
    e.disruptionsAllowed = pdbStatus(e.pdb, selected.get(name) ?? []).disruptionsAllowed;
    pdbLeft.set(name, e.disruptionsAllowed);
  }
  const poolNodes = new Map<string, number>();
  const disrupting = new Map<string, number>();
  for (const n of state.nodes.values()) {
    if (n.nodePool === undefined) continue;
    inc(poolNodes, n.nodePool, 1);
    if (n.deleting || !n.ready) inc(disrupting, n.nodePool, 1);
  }
  return {
    index,
    ctx: {
      nowMillis: env.nowMillis,
      pools: env.pools,
      podsByNode,
      pdbsByPod: byPod,
      nominated: env.nominated,
    },
    poolNodes,
    disrupting,
    pdbLeft,
    touched: new Set(),
    strictPdbs: env.input.options?.pdbEvictions === "strict",
  };
}

/** Nodes of `pool` the wave may still disrupt for `reason`, and the budget that decides it. */
function budgetLeft(env: Env, wave: Wave, pool: string, reason: BudgetReason) {
  const np = env.pools.get(pool) as NodePool;
  return allowedDisruptions(
    np,
    reason,
    env.nowMillis,
    wave.poolNodes.get(pool) ?? 0,
    wave.disrupting.get(pool) ?? 0,
  );
}

function budgetKept(env: Env, wave: Wave, pool: string, reason: BudgetReason): KeptReason {
  const left = budgetLeft(env, wave, pool, reason);
  const out: KeptReason = { code: "budget_exhausted", nodePool: pool, reason, allowed: 0 };
  if (left.budget?.schedule !== undefined) out.schedule = left.budget.schedule;
  if (left.until !== undefined) out.until = left.until;
  return out;
}

/** Evictions a node's pods would take from each PDB; undefined when they fit what the wave has left. */
function pdbBlocker(wave: Wave, node: string, taken: Map<string, number>): KeptReason | undefined {
  // Serial: the eviction API lets one PDB's evictions through one at a time; a PDB allowing >= 1 (the
  // candidate check) suffices. Strict: the wave's evictions per PDB stay within disruptionsAllowed.
  if (!wave.strictPdbs) return undefined;
  const need = new Map<string, number>();
  for (const p of reschedulablePods(wave.ctx.podsByNode.get(node) ?? [])) {
    for (const { name } of wave.ctx.pdbsByPod.get(podKey(p)) ?? []) {
      inc(need, name, 1);
      if ((need.get(name) ?? 0) + (taken.get(name) ?? 0) > (wave.pdbLeft.get(name) ?? 0))
        return { code: "pdb_blocks_eviction", pdb: name, pod: podKey(p) };
    }
  }
  for (const [name, n] of need) inc(taken, name, n);
  return undefined;
}

/** Commits evictions against the wave's PDB allowances. */
function takePdbs(wave: Wave, evicted: readonly Pod[]): void {
  if (!wave.strictPdbs) return;
  for (const p of evicted)
    for (const { name } of wave.ctx.pdbsByPod.get(podKey(p)) ?? []) inc(wave.pdbLeft, name, -1);
}

/**
 * Orders candidates and admits them greedily within the NodePool's budget for `reason` and the wave's
 * PDB allowances; the rest get their kept reason.
 */
function admit(
  env: Env,
  wave: Wave,
  pool: string,
  ordered: readonly Node[],
  reason: BudgetReason,
  kept: Map<string, KeptReason>,
): Node[] {
  const { allowed } = budgetLeft(env, wave, pool, reason);
  const taken = new Map<string, number>();
  const out: Node[] = [];
  for (const n of ordered) {
    if (out.length >= allowed) {
      kept.set(n.name, budgetKept(env, wave, pool, reason));
      continue;
    }
    const blocked = pdbBlocker(wave, n.name, taken);
    if (blocked !== undefined) kept.set(n.name, blocked);
    else out.push(n);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Forceful methods: expiration and interruption (wave 1, budgets ignored, do-not-disrupt ignored)

function forceful(env: Env, state: State, wave: Wave, rebalance: boolean): DisruptionCommand[] {
  const interrupted = new Map<string, string>();
  for (const e of env.input.interruptions ?? []) {
    if (!FORCEFUL_KINDS.has(e.kind) && !(rebalance && e.kind === "rebalance_recommendation")) continue;
    for (const n of state.nodes.values()) {
      if (
        n.providerID !== undefined &&
        (n.providerID === e.instanceId || n.providerID.endsWith(`/${e.instanceId}`))
      )
        interrupted.set(
          n.name,
          `${e.kind} ${e.id}${e.deadline === undefined ? "" : ` before ${e.deadline}`}`,
        );
    }
  }
  const groups = new Map<string, { method: Method; reason: string; nodes: Node[] }>();
  for (const n of state.nodes.values()) {
    const pool = n.nodePool === undefined ? undefined : env.pools.get(n.nodePool);
    if (pool === undefined || n.deleting || n.inFlight) continue;
    const expiry = expiresAt(n, pool, parseDurationMillis);
    let method: Method | undefined;
    let why = "";
    if (expiry !== undefined && expiry <= env.nowMillis) {
      method = "expiration";
      why = `expired at ${new Date(expiry).toISOString()}`;
    } else if (interrupted.has(n.name)) {
      method = "interruption";
      why = interrupted.get(n.name) as string;
    }
    if (method === undefined) continue;
    const key = `${method}\0${pool.name}`;
    const g = groups.get(key) ?? { method, reason: "", nodes: [] };
    g.nodes.push(n);
    g.reason = g.reason === "" ? `${n.name}: ${why}` : `${g.reason}; ${n.name}: ${why}`;
    groups.set(key, g);
  }
  const out: DisruptionCommand[] = [];
  for (const [key, g] of [...groups].sort((a, b) => cmp(a[0], b[0]))) {
    const pool = key.split("\0")[1] as string;
    const sim = simulate(env, state, new Set(g.nodes.map((n) => n.name)));
    if (sim.unschedulable.length > 0) {
      env.warnings.push({
        code: "evicted_pods_unschedulable",
        nodePool: pool,
        message: `${g.method} of ${g.nodes.map((n) => n.name).join(", ")} leaves ${sim.unschedulable.length} pod(s) pending: ${sim.unschedulable
          .slice(0, 5)
          .map((u) => `${u.pod} (${u.message})`)
          .join("; ")}`,
      });
    }
    inc(wave.disrupting, pool, g.nodes.length);
    out.push(
      apply(
        env,
        state,
        wave,
        sim,
        g.nodes,
        g.method,
        g.reason,
        pool,
        g.method === "expiration" ? "Expired" : "Interrupted",
      ),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Graceful methods, nodeplan strategy: every method in every wave, N->M consolidation

function nodeplanWave(
  env: Env,
  state: State,
  wave: Wave,
  kept: Map<string, KeptReason>,
): DisruptionCommand[] {
  const out: DisruptionCommand[] = [];
  const byPool = gracefulCandidates(state, wave, kept);
  let drifted = false;
  for (const [pool, nodes] of byPool) {
    // Emptiness.
    const empty = nodes.filter((n) => isEmpty(wave, n) && consolidatable(wave, n, kept));
    const emptyOk = admit(env, wave, pool, empty, "Empty", kept);
    if (emptyOk.length > 0) {
      const sim = simulate(env, state, new Set(emptyOk.map((n) => n.name)));
      out.push(apply(env, state, wave, sim, emptyOk, "emptiness", "no reschedulable pods", pool, "Empty"));
    }
    // Drift: as many drifted nodes as the budget allows, replaced together.
    const drift = drifting(env, state, wave, nodes, kept);
    const driftOk = admit(
      env,
      wave,
      pool,
      drift.map((d) => d.node),
      "Drifted",
      kept,
    );
    if (driftOk.length > 0) {
      const found = largestFeasiblePrefix(env, state, driftOk, kept);
      if (found !== undefined) {
        const reasons = drift
          .filter((d) => found.nodes.includes(d.node))
          .map((d) => `${d.node.name}: ${d.why}`);
        out.push(
          apply(env, state, wave, found.sim, found.nodes, "drift", reasons.join("; "), pool, "Drifted"),
        );
        drifted = true;
      }
    }
  }
  // Consolidation follows a round plan made on one cluster state; drift moving pods invalidates it.
  if (drifted) env.round = undefined;
  env.round ??= planRound(env, state, wave, byPool, kept);
  const round = env.round;
  if (round === undefined) return out;
  for (const [pool, nodes] of byPool) {
    // Round nodes still candidates this wave, in round order.
    const open = new Set(nodes.filter((n) => !wave.touched.has(n.name)).map((n) => n.name));
    const ordered = round.order.filter((name) => open.has(name)).map((name) => state.nodes.get(name) as Node);
    if (ordered.length === 0) continue;
    const chosen = admit(env, wave, pool, ordered, "Underutilized", kept);
    if (chosen.length > 0) out.push(applyRound(env, state, wave, round, chosen, pool));
  }
  round.order = round.order.filter((name) => state.nodes.has(name));
  if (round.order.length === 0) env.round = undefined;
  return out;
}

/**
 * One round of global consolidation: the consolidatable nodes by utilisation (lowest first), and the
 * prefix (all, half, a quarter) whose removal saves most when the kernel re-packs their pods onto the
 * rest of the cluster and new claims (N->M). The round is then carried out over as many waves as the
 * budgets need, each wave's claims launched when its pods first need them.
 */
function planRound(
  env: Env,
  state: State,
  wave: Wave,
  byPool: ReadonlyMap<string, Node[]>,
  kept: Map<string, KeptReason>,
): Round | undefined {
  const under = [...byPool.values()]
    .flat()
    .filter((n) => !wave.touched.has(n.name) && !isEmpty(wave, n) && consolidatable(wave, n, kept))
    .map((n) => ({ n, u: utilisation(wave, n), p: priceOf(env, n) }))
    .sort((a, b) => a.u - b.u || b.p - a.p || cmp(a.n.name, b.n.name))
    .map((x) => x.n);
  // Nodes no budget lets go now are not worth simulating.
  // Nodes no budget lets go now are not worth simulating, nor (strict PDBs) nodes whose own pods need
  // more evictions from a PDB than it allows: no wave could ever take them.
  const open: Node[] = [];
  for (const n of under) {
    const pool = n.nodePool as string;
    const pdb = pdbBlocker(wave, n.name, new Map());
    if (budgetLeft(env, wave, pool, "Underutilized").allowed <= 0)
      kept.set(n.name, budgetKept(env, wave, pool, "Underutilized"));
    else if (pdb !== undefined) kept.set(n.name, pdb);
    else open.push(n);
  }

  if (open.length === 0) return undefined;
  let best: { nodes: Node[]; sim: Simulation; savings: number } | undefined;
  const sizes = new Set<number>();
  for (let k = open.length, i = 0; k >= 1 && i < NODEPLAN_PREFIX_TRIES; k = Math.floor(k / 2), i++)
    sizes.add(k);
  for (const k of sizes) {
    const nodes = open.slice(0, k);
    const sim = simulate(env, state, new Set(nodes.map((n) => n.name)));
    const verdict = judge(env, sim, nodes, false);
    if (verdict.kept === undefined) {
      // Sets are tried largest first: on a tie the smaller set wins (less churn for the same saving).
      const savings = sim.removedPerHour - sim.newPerHour;
      if (best === undefined || savings >= best.savings - 1e-9) best = { nodes, sim, savings };
    } else {
      // Smaller sets are tried later: each node ends with the reason of the smallest set it was in.
      for (const n of nodes) kept.set(n.name, verdict.kept);
    }
  }
  // No prefix worked: single nodes, the first that does.
  for (const n of best === undefined ? open.slice(0, NODEPLAN_SINGLE_ATTEMPTS) : []) {
    const sim = simulate(env, state, new Set([n.name]));
    const verdict = judge(env, sim, [n], false);
    if (verdict.kept === undefined) {
      best = { nodes: [n], sim, savings: sim.removedPerHour - sim.newPerHour };
      break;
    }
    kept.set(n.name, verdict.kept);
  }
  if (best === undefined) return undefined;
  return { order: best.nodes.map((n) => n.name), sim: best.sim, launched: new Map() };
}

/** Carries out the part of a round the wave admitted: its nodes go, the claims their pods need launch. */
function applyRound(env: Env, state: State, wave: Wave, round: Round, nodes: readonly Node[], pool: string) {
  const names = new Set(nodes.map((n) => n.name));
  const evicted = round.sim.evicted.filter((p) => names.has(p.nodeName as string));
  const keys = new Set(evicted.map(podKey));
  const needed = new Set([...keys].map((k) => round.sim.placements.get(k)));
  const claims = round.sim.claims
    .filter((c) => needed.has(c.name) && !round.launched.has(c.name))
    .map((c) => ({ ...c, pods: c.pods.filter((k) => keys.has(k)) }));
  let removedPerHour = 0;
  for (const n of nodes) removedPerHour += priceOf(env, n);
  const sim: Simulation = {
    evicted,
    claims,
    placements: new Map(
      evicted.map((p) => {
        const to = round.sim.placements.get(podKey(p)) as string;
        return [podKey(p), round.launched.get(to) ?? to];
      }),
    ),
    unschedulable: [],
    removedPerHour,
    newPerHour: sum(claims.map((c) => c.pricePerHour)),
    lowerBoundPerHour: 0,
  };
  const cmd = apply(env, state, wave, sim, nodes, "consolidation", "", pool, "Underutilized");
  for (const [i, c] of claims.entries())
    round.launched.set(c.name, (cmd.replacements[i] as PlannedNodeClaim).name);
  cmd.reason = `${nodes.length}->${claims.length} of a ${round.order.length}-node round: ${
    claims.length === 0
      ? "pods move to remaining nodes"
      : `launch ${claims.map((c) => c.instanceType).join(", ")}`
  }, saving $${cmd.savingsPerHour.toFixed(4)}/h`;
  return cmd;
}

// ---------------------------------------------------------------------------------------------------
// Graceful methods, karpenter strategy: one command per loop (= per wave)

function karpenterLoop(
  env: Env,
  state: State,
  wave: Wave,
  kept: Map<string, KeptReason>,
): DisruptionCommand[] {
  const byPool = gracefulCandidates(state, wave, kept);
  // Emptiness: every empty candidate within budget, one NodePool per command.
  for (const [pool, nodes] of byPool) {
    const empty = admit(
      env,
      wave,
      pool,
      nodes.filter((n) => isEmpty(wave, n) && consolidatable(wave, n, kept)),
      "Empty",
      kept,
    );
    if (empty.length > 0) {
      const sim = simulate(env, state, new Set(empty.map((n) => n.name)));
      return [apply(env, state, wave, sim, empty, "emptiness", "no reschedulable pods", pool, "Empty")];
    }
  }
  // Drift: the first drifted candidate whose pods all fit.
  for (const [pool, nodes] of byPool) {
    const drifted = drifting(env, state, wave, nodes, kept);
    for (const d of admit(
      env,
      wave,
      pool,
      drifted.map((x) => x.node),
      "Drifted",
      kept,
    )) {
      const sim = simulate(env, state, new Set([d.name]));
      if (sim.unschedulable.length > 0) {
        kept.set(d.name, wouldNotFit(sim));
        continue;
      }
      const why = drifted.find((x) => x.node === d)?.why ?? "drifted";
      return [apply(env, state, wave, sim, [d], "drift", `${d.name}: ${why}`, pool, "Drifted")];
    }
  }
  // Consolidation candidates by price / RescheduleCost, descending (core v1.14).
  const ordered = (nodes: readonly Node[]) =>
    nodes
      .filter((n) => !isEmpty(wave, n) && consolidatable(wave, n, kept))
      .map((n) => ({ n, score: priceOf(env, n) / rescheduleCost(wave.ctx.podsByNode.get(n.name) ?? []) }))
      .sort((a, b) => b.score - a.score || cmp(a.n.name, b.n.name))
      .map((x) => x.n);
  const admitted = [...byPool].map(([pool, nodes]) => ({
    pool,
    nodes: admit(env, wave, pool, ordered(nodes), "Underutilized", kept),
  }));
  // Multi-node: binary search over prefixes of at most 100 candidates, N->0 or N->1.
  for (const { pool, nodes } of admitted) {
    const list = nodes.slice(0, KARPENTER_MULTI_NODE_MAX);
    if (list.length < 2) continue;
    let lo = 2;
    let hi = list.length;
    let found: { nodes: Node[]; sim: Simulation } | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const prefix = list.slice(0, mid);
      const sim = oneClaim(env, simulate(env, state, new Set(prefix.map((n) => n.name))));
      if (judge(env, sim, prefix, true).kept === undefined) {
        found = { nodes: prefix, sim };
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found !== undefined)
      return [
        apply(
          env,
          state,
          wave,
          found.sim,
          found.nodes,
          "consolidation",
          consolidationReason(found.nodes, found.sim),
          pool,
          "Underutilized",
        ),
      ];
  }
  // Single-node: the first candidate that works.
  let attempts = 0;
  for (const { pool, nodes } of admitted) {
    for (const n of nodes) {
      if (attempts++ >= SINGLE_NODE_ATTEMPTS) return [];
      const sim = oneClaim(env, simulate(env, state, new Set([n.name])));
      const verdict = judge(env, sim, [n], true);
      if (verdict.kept === undefined)
        return [
          apply(
            env,
            state,
            wave,
            sim,
            [n],
            "consolidation",
            consolidationReason([n], sim),
            pool,
            "Underutilized",
          ),
        ];
      kept.set(n.name, verdict.kept);
    }
  }
  return [];
}

// ---------------------------------------------------------------------------------------------------
// Shared pieces

/** Graceful candidates by NodePool (name order); every other node gets its kept reason. */
function gracefulCandidates(state: State, wave: Wave, kept: Map<string, KeptReason>): Map<string, Node[]> {
  const byPool = new Map<string, Node[]>();
  for (const n of state.nodes.values()) {
    // Replacements are not candidates; nodes that took pods this wave are looked at again next wave.
    if (state.fresh.has(n.name) || wave.touched.has(n.name)) continue;
    const blocked = gracefulBlocker(n, wave.ctx);
    if (blocked !== undefined) {
      kept.set(n.name, blocked);
      continue;
    }
    kept.delete(n.name);
    const list = byPool.get(n.nodePool as string);
    if (list === undefined) byPool.set(n.nodePool as string, [n]);
    else list.push(n);
  }
  return new Map([...byPool].sort((a, b) => cmp(a[0], b[0])));
}

function consolidatable(wave: Wave, n: Node, kept: Map<string, KeptReason>): boolean {
  const blocked = consolidationBlocker(n, wave.ctx);
  if (blocked !== undefined) kept.set(n.name, blocked);
  return blocked === undefined;
}

function drifting(env: Env, state: State, wave: Wave, nodes: readonly Node[], kept: Map<string, KeptReason>) {
  const out: { node: Node; why: string }[] = [];
  for (const n of nodes) {
    if (wave.touched.has(n.name) || !state.nodes.has(n.name)) continue;
    const pool = env.pools.get(n.nodePool as string) as NodePool;
    const d = driftReason(n, pool, env.catalog.get(pool.name) ?? new Map(), env.input.drift);
    if (d !== undefined) {
      out.push({ node: n, why: `${d.code}: ${d.message}` });
      kept.delete(n.name);
    }
  }
  return out;
}

/**
 * Is a simulated removal a valid consolidation? Every evicted pod placed; Karpenter's rules on
 * replacements (N->0 or N->1, strictly cheaper, spot-to-spot behind the gate) when `karpenter`;
 * nodeplan's savings threshold otherwise.
 */
function judge(env: Env, sim: Simulation, nodes: readonly Node[], karpenter: boolean): { kept?: KeptReason } {
  if (sim.unschedulable.length > 0) return { kept: wouldNotFit(sim) };
  const savings = sim.removedPerHour - sim.newPerHour;
  const cheapest = {
    code: "no_cheaper_replacement" as const,
    pricePerHour: sim.removedPerHour,
    cheapestPerHour: sim.newPerHour,
  };
  if (sim.claims.length > 0) {
    if (karpenter && sim.claims.length > 1) return { kept: cheapest };
    if (nodes.some((n) => n.capacityType === "spot")) {
      if (!env.spotToSpot) return { kept: cheapest };
      if (sim.claims.some((c) => c.capacityType !== "spot")) return { kept: cheapest };
      if (nodes.length === 1 && sim.claims.some((c) => c.instanceTypeOptions.length < SPOT_TO_SPOT_MIN_TYPES))
        return { kept: cheapest };
    }
  }
  if (savings <= 0) return { kept: cheapest };
  if (karpenter) return {};
  const threshold = Math.max(env.minSavingsPerHour, (env.minSavingsPercent / 100) * sim.removedPerHour);
  if (sim.claims.length > 0 && savings < threshold)
    return {
      kept: { code: "savings_below_threshold", savingsPerHour: savings, thresholdPerHour: threshold },
    };
  return {};
}

function wouldNotFit(sim: Simulation): KeptReason {
  return {
    code: "pods_would_not_fit",
    pods: sim.unschedulable.slice(0, 10).map((u) => ({ pod: u.pod, reason: u.reason })),
  };
}

/**
 * Karpenter's scheduler puts pods on as few new NodeClaims as it can; our kernel may prefer several
 * cheaper ones. For the karpenter strategy, several claims of one NodePool are merged into one when an
 * instance type every claim could use, in a zone and capacity type they all allow, holds all their
 * pods: the cheapest such offering prices it. Otherwise the simulation is returned unchanged.
 */
function oneClaim(env: Env, sim: Simulation): Simulation {
  const [first, ...rest] = sim.claims;
  if (first === undefined || rest.length === 0 || rest.some((c) => c.nodePool !== first.nodePool)) return sim;
  const allowed = (c: PlannedNodeClaim, key: string) =>
    new Set(c.requirements.find((r) => r.key === key && r.operator === "In")?.values ?? []);
  const common = (key: string) =>
    [...allowed(first, key)].filter((v) => rest.every((c) => allowed(c, key).has(v)));
  const zones = new Set(common(LABEL_TOPOLOGY_ZONE));
  const capacityTypes = new Set(common(LABEL_CAPACITY_TYPE));
  const names = new Set(common(LABEL_INSTANCE_TYPE));
  const need: Record<string, number> = {};
  const overhead: Record<string, number> = {};
  const onClaims = new Set(sim.claims.flatMap((c) => c.pods));
  for (const p of sim.evicted)
    if (onClaims.has(podKey(p)))
      for (const [k, v] of Object.entries(p.requests)) need[k] = (need[k] ?? 0) + v;
  for (const c of sim.claims)
    for (const [k, v] of Object.entries(c.daemonSetOverhead)) overhead[k] = Math.max(overhead[k] ?? 0, v);
  const fitting: { t: InstanceType; zone: string; capacityType: string; price: number }[] = [];
  for (const t of env.simTypes[first.nodePool] ?? []) {
    if (!names.has(t.name)) continue;
    if (Object.entries(need).some(([k, v]) => v > (t.allocatable[k] ?? 0) - (overhead[k] ?? 0))) continue;
    for (const o of t.offerings)
      if (o.available && zones.has(o.zone) && capacityTypes.has(o.capacityType))
        fitting.push({ t, zone: o.zone, capacityType: o.capacityType, price: o.pricePerHour });
  }
  fitting.sort((a, b) => a.price - b.price || cmp(a.t.name, b.t.name));
  const best = fitting[0];
  if (best === undefined) return sim;
  const options = [...new Set(fitting.map((f) => f.t.name))];
  const merged: PlannedNodeClaim = {
    ...first,
    instanceType: best.t.name,
    instanceTypeOptions: options,
    zone: best.zone,
    capacityType: best.capacityType as PlannedNodeClaim["capacityType"],
    pricePerHour: best.price,
    worstPricePerHour: Math.max(...fitting.map((f) => f.price)),
    requirements: first.requirements.map((r) =>
      r.key === LABEL_INSTANCE_TYPE
        ? { ...r, values: options }
        : r.key === LABEL_TOPOLOGY_ZONE
          ? { ...r, values: [...zones].sort() }
          : r.key === LABEL_CAPACITY_TYPE
            ? { ...r, values: [...capacityTypes].sort() }
            : r,
    ),

    daemonSetOverhead: overhead,
    pods: sim.claims.flatMap((c) => c.pods).sort(),
  };
  const renamed = new Set(rest.map((c) => c.name));
  return {
    ...sim,
    claims: [merged],
    placements: new Map([...sim.placements].map(([k, v]) => [k, renamed.has(v) ? first.name : v])),
    newPerHour: best.price,
  };
}

/** The largest prefix of `nodes` whose pods all fit (bisection), or undefined. */
function largestFeasiblePrefix(
  env: Env,
  state: State,
  nodes: Node[],
  kept: Map<string, KeptReason>,
): { nodes: Node[]; sim: Simulation } | undefined {
  let lo = 1;
  let hi = nodes.length;
  let found: { nodes: Node[]; sim: Simulation } | undefined;
  while (lo <= hi) {
    const mid = found === undefined && hi === nodes.length ? hi : (lo + hi) >> 1;
    const prefix = nodes.slice(0, mid);
    const sim = simulate(env, state, new Set(prefix.map((n) => n.name)));
    if (sim.unschedulable.length === 0) {
      found = { nodes: prefix, sim };
      lo = mid + 1;
    } else {
      if (mid === 1) for (const n of prefix) kept.set(n.name, wouldNotFit(sim));
      hi = mid - 1;
    }
  }
  return found;
}

/** Removes `remove` in simulation: their reschedulable pods become pending against the rest. */
function simulate(env: Env, state: State, remove: ReadonlySet<string>, improve = true): Simulation {
  const evicted: Pod[] = [];
  const pods: Pod[] = [];
  for (const p of state.pods) {
    if (p.nodeName === undefined) {
      // Pending pods are the provisioner's; they take no part in a disruption simulation.
      if (p.provisionable) pods.push({ ...p, provisionable: false });
      else pods.push(p);
    } else if (remove.has(p.nodeName)) {
      if (reschedulablePods([p]).length === 1) {
        evicted.push(p);
        pods.push({ ...p, nodeName: undefined, provisionable: true, phase: "Pending" });
      }
    } else pods.push(p);
  }
  const nodes = [...state.nodes.values()].filter((n) => !remove.has(n.name));
  let removedPerHour = 0;
  for (const name of remove) removedPerHour += priceOf(env, state.nodes.get(name) as Node);
  if (evicted.length === 0)
    return {
      evicted,
      claims: [],
      placements: new Map(),
      unschedulable: [],
      removedPerHour,
      newPerHour: 0,
      lowerBoundPerHour: 0,
    };
  const plan = provision(env.kernel, {
    pods,
    nodes,
    nodePools: env.input.nodePools,
    ...(env.input.daemonSets === undefined ? {} : { daemonSets: env.input.daemonSets }),
    instanceTypes: env.simTypes,
    now: env.input.now,
    // Names no node can have; `apply` gives the claims their real names.
    options: { improve, claimName: (pool, i) => `${SIM_PREFIX}${pool}-${i}`, exactBound: false },
  });
  return {
    evicted,
    claims: plan.nodeClaims,
    placements: new Map(plan.placements.map((p) => [p.pod, p.node])),
    unschedulable: plan.unschedulable,
    removedPerHour,
    newPerHour: plan.cost.newPerHour,
    lowerBoundPerHour: plan.cost.lowerBoundPerHour,
  };
}

/** Applies a simulated removal to the state and records it as a command of the wave. */
function apply(
  env: Env,
  state: State,
  wave: Wave,
  sim: Simulation,
  nodes: readonly Node[],
  method: Method,
  reason: string,
  pool: string,
  budgetReason: string,
): DisruptionCommand {
  const rename = new Map<string, string>();
  const replacements = sim.claims.map((c) => {
    const name = freshName(env, c.nodePool);
    rename.set(c.name, name);
    return { ...c, name };
  });
  const removed = new Set(nodes.map((n) => n.name));
  for (const c of replacements) {
    state.nodes.set(c.name, claimNode(env, c));
    state.fresh.add(c.name);
    wave.touched.add(c.name);
  }
  for (const name of removed) {
    state.nodes.delete(name);
    wave.touched.add(name);
  }
  const placed = new Map<string, string>();
  for (const p of sim.evicted) {
    const target = sim.placements.get(podKey(p));
    if (target !== undefined) placed.set(podKey(p), rename.get(target) ?? target);
  }
  state.pods = state.pods.flatMap((p) => {
    if (p.nodeName === undefined || !removed.has(p.nodeName)) return [p];
    const target = placed.get(podKey(p));
    if (target === undefined)
      return reschedulablePods([p]).length === 1 ? [{ ...p, nodeName: undefined }] : [];
    return [
      { ...p, nodeName: target, phase: "Running" as const, provisionable: false, startTime: env.input.now },
    ];
  });
  for (const target of new Set(placed.values())) {
    wave.touched.add(target);
    const n = state.nodes.get(target);
    if (n !== undefined && !state.fresh.has(target))
      state.nodes.set(target, { ...n, lastPodEventAt: env.input.now });
  }
  takePdbs(wave, sim.evicted);
  if (method !== "expiration" && method !== "interruption") inc(wave.disrupting, pool, nodes.length);
  return {
    wave: wave.index,
    method,
    reason,
    candidates: [...removed],
    replacements,
    evictions: sim.evicted.map(podKey).sort(),
    savingsPerHour: sim.removedPerHour - sim.newPerHour,
    budget: { nodePool: pool, reason: budgetReason, consumed: nodes.length },
    placements: [...placed].map(([pod, node]) => ({ pod, node })).sort((a, b) => cmp(a.pod, b.pod)),
  };
}

/** A replacement claim as the node it becomes once launched (so later waves can use it). */
function claimNode(env: Env, c: PlannedNodeClaim): Node {
  const pool = env.pools.get(c.nodePool) as NodePool;
  const it = env.catalog.get(c.nodePool)?.get(c.instanceType);
  const labels: Record<string, string> = { ...it?.labels, ...pool.template.labels };
  for (const r of c.requirements)
    if (r.operator === "In" && r.values.length === 1) labels[r.key] = r.values[0] as string;
  Object.assign(labels, {
    [LABEL_INSTANCE_TYPE]: c.instanceType,
    [LABEL_TOPOLOGY_ZONE]: c.zone,
    [LABEL_CAPACITY_TYPE]: c.capacityType,
    [LABEL_NODEPOOL]: c.nodePool,
    [LABEL_HOSTNAME]: c.name,
  });
  const allocatable: Record<string, number> = {};
  for (const [k, v] of Object.entries(it?.allocatable ?? {}))
    allocatable[k] = Math.max(0, v - (c.daemonSetOverhead[k] ?? 0));
  const annotations: Record<string, string> = {};
  for (const k of [NODEPOOL_HASH, NODEPOOL_HASH_VERSION]) {
    const v = pool.annotations[k];
    if (v !== undefined) annotations[k] = v;
  }
  return {
    name: c.name,
    nodeClaim: c.name,
    labels,
    annotations,
    taints: pool.template.taints,
    capacity: it?.capacity ?? {},
    allocatable,
    instanceType: c.instanceType,
    zone: c.zone,
    capacityType: c.capacityType,
    nodePool: c.nodePool,
    pricePerHour: c.pricePerHour,
    createdAt: env.input.now,
    initialized: true,
    ready: true,
    deleting: false,
    unschedulable: false,
    inFlight: false,
    lastPodEventAt: env.input.now,
    expireAfter: pool.template.expireAfter,
  };
}

function freshName(env: Env, pool: string): string {
  for (;;) {
    const n = env.claimCounters.get(pool) ?? 0;
    env.claimCounters.set(pool, n + 1);
    const name = `${pool}-${n}`;
    if (!env.takenNames.has(name)) {
      env.takenNames.add(name);
      return name;
    }
  }
}

function consolidationReason(nodes: readonly Node[], sim: Simulation): string {
  const to =
    sim.claims.length === 0 ? "delete" : `replace with ${sim.claims.map((c) => c.instanceType).join(", ")}`;
  return `${nodes.length}->${sim.claims.length}: ${to}, saving $${(sim.removedPerHour - sim.newPerHour).toFixed(4)}/h`;
}

/**
 * A lower bound on the cluster after disruption: nodes that cannot move are fixed; the pods of every
 * other managed node are re-planned onto the fixed nodes and new capacity, and the kernel's proven LP
 * bound on that new capacity is added. It is a bound given where the kernel put pods on fixed nodes
 * (the LP covers the pods it put on new capacity), capped by the plan's own result.
 */
function lowerBound(env: Env, state: State, afterPerHour: number): number {
  const wave = startWave(env, state, 0);
  const movable = new Set<string>();
  for (const n of state.nodes.values())
    if (n.nodePool !== undefined && gracefulBlocker(n, wave.ctx) === undefined) movable.add(n.name);
  if (movable.size === 0) return afterPerHour;
  const sim = simulate(env, state, movable, false);
  if (sim.unschedulable.length > 0) return afterPerHour;
  let fixed = 0;
  for (const n of state.nodes.values()) if (!movable.has(n.name)) fixed += priceOf(env, n);
  return Math.min(afterPerHour, fixed + sim.lowerBoundPerHour);
}

function isEmpty(wave: Wave, n: Node): boolean {
  return reschedulablePods(wave.ctx.podsByNode.get(n.name) ?? []).length === 0;
}

/** The larger of cpu and memory requested over allocatable. */
function utilisation(wave: Wave, n: Node): number {
  let cpu = 0;
  let mem = 0;
  for (const p of wave.ctx.podsByNode.get(n.name) ?? []) {
    cpu += p.requests.cpuMillis ?? 0;
    mem += p.requests.memoryBytes ?? 0;
  }
  return Math.max(
    cpu / Math.max(1, n.allocatable.cpuMillis ?? 0),
    mem / Math.max(1, n.allocatable.memoryBytes ?? 0),
  );
}

function typesFor(env: Env, pool: string): readonly InstanceType[] {
  const its = env.input.instanceTypes;
  return Array.isArray(its) ? its : ((its as Readonly<Record<string, readonly InstanceType[]>>)[pool] ?? []);
}

/** A node's price: its own, else its offering's in the catalog, else 0. */
function priceOf(env: Env, n: Node): number {
  if (n.pricePerHour !== undefined) return n.pricePerHour;
  const it = (env.catalog.get(n.nodePool ?? "") ?? env.catalog.get(""))?.get(n.instanceType ?? "");
  return it?.offerings.find((o) => o.zone === n.zone && o.capacityType === n.capacityType)?.pricePerHour ?? 0;
}

/** A PDB and its disruptionsAllowed at the start of the current wave (shared by every pod it covers). */
interface PdbEntry {
  name: string;
  disruptionsAllowed: number;
  pdb: PodDisruptionBudget;
}

/** PDBs by name, and the PDBs covering each pod key. */
interface PdbIndex {
  entries: Map<string, PdbEntry>;
  byPod: Map<string, PdbEntry[]>;
}

/** Which pods each PDB selects (same namespace, selector, not finished), indexed by a label to stay fast. */
function pdbMembership(pdbs: readonly PodDisruptionBudget[], pods: readonly Pod[]): PdbIndex {
  const byLabel = new Map<string, Pod[]>();
  const byNamespace = new Map<string, Pod[]>();
  for (const p of pods) {
    if (p.phase === "Succeeded" || p.phase === "Failed") continue;
    const ns = byNamespace.get(p.namespace);
    if (ns === undefined) byNamespace.set(p.namespace, [p]);
    else ns.push(p);
    for (const [k, v] of Object.entries(p.labels)) {
      const key = `${p.namespace}\0${k}\0${v}`;
      const list = byLabel.get(key);
      if (list === undefined) byLabel.set(key, [p]);
      else list.push(p);
    }
  }
  const entries = new Map<string, PdbEntry>();
  const byPod = new Map<string, PdbEntry[]>();
  for (const pdb of pdbs) {
    const first = Object.entries(pdb.selector.matchLabels)[0];
    const candidates =
      first === undefined
        ? (byNamespace.get(pdb.namespace) ?? [])
        : (byLabel.get(`${pdb.namespace}\0${first[0]}\0${first[1]}`) ?? []);
    const entry: PdbEntry = { name: `${pdb.namespace}/${pdb.name}`, disruptionsAllowed: 0, pdb };
    entries.set(entry.name, entry);
    for (const p of candidates) {
      if (!selectorMatches(pdb.selector, p.labels)) continue;
      const list = byPod.get(podKey(p));
      if (list === undefined) byPod.set(podKey(p), [entry]);
      else list.push(entry);
    }
  }
  return { entries, byPod };
}

function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

function inc(m: Map<string, number>, k: string, by: number): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The catalog a simulation needs: an instance type is dropped when another one is at least as large
 * in every allocatable resource, carries the same value on every label key anything in the cluster
 * can select on, and has an offering at most as expensive in every zone and capacity type it has.
 * Any node of the dropped type can then be swapped for the other at no extra cost, so the cheapest
 * replacement is unchanged; what shrinks is the list of instance type options a replacement claim
 * carries. NodePools with limits or minValues keep their whole catalog.
 */
export function pruneDominated(
  input: DisruptionInput,
  pool: NodePool,
  types: readonly InstanceType[],
): InstanceType[] {
  if (
    Object.keys(pool.limits).length > 0 ||
    pool.template.requirements.some((r) => r.minValues !== undefined)
  )
    return [...types];
  const keys = new Set<string>([
    ...pool.template.requirements.map((r) => r.key),
    ...Object.keys(pool.template.labels),
  ]);
  const addTerms = (terms: readonly { matchExpressions: readonly { key: string }[] }[]) => {
    for (const t of terms) for (const e of t.matchExpressions) keys.add(e.key);
  };
  for (const p of input.pods) {
    for (const k of Object.keys(p.nodeSelector)) keys.add(k);
    addTerms(p.requiredNodeAffinity);
    addTerms(p.preferredNodeAffinity.map((x) => x.preference));
    for (const r of p.volumeRequirements) keys.add(r.key);
    for (const c of p.topologySpreadConstraints) keys.add(c.topologyKey);
    for (const t of [...p.podAffinity.required, ...p.podAntiAffinity.required]) keys.add(t.topologyKey);
    for (const t of [...p.podAffinity.preferred, ...p.podAntiAffinity.preferred])
      keys.add(t.term.topologyKey);
  }
  for (const d of input.daemonSets ?? []) {
    for (const k of Object.keys(d.nodeSelector)) keys.add(k);
    addTerms(d.requiredNodeAffinity);
  }
  // Only resources something requests can make one type better than another.
  const resources = new Set<string>(["pods"]);
  for (const x of [...input.pods, ...(input.daemonSets ?? [])])
    for (const [k, v] of Object.entries(x.requests)) if (v > 0) resources.add(k);
  const info = types.map((t) => {
    const offers = new Map<string, number>();
    for (const o of t.offerings) {
      const at = `${o.zone}/${o.capacityType}`;
      if (o.available) offers.set(at, Math.min(offers.get(at) ?? Number.POSITIVE_INFINITY, o.pricePerHour));
    }
    return {
      t,
      sig: [...keys].map((k) => `${k}=${t.labels[k] ?? ""}`).join("\0"),
      alloc: [...resources].map((r) => t.allocatable[r] ?? 0),
      offers,
      cheapest: Math.min(...offers.values()),
    };
  });
  const dominates = (a: (typeof info)[number], b: (typeof info)[number]) => {
    if (a.sig !== b.sig) return false;
    for (let r = 0; r < a.alloc.length; r++)
      if ((a.alloc[r] as number) < (b.alloc[r] as number)) return false;
    for (const [at, price] of b.offers) {
      const other = a.offers.get(at);
      if (other === undefined || other > price) return false;
    }
    return true;
  };
  // Cheapest first against the types kept so far (dominance is transitive); a type with no available
  // offering is kept as it is (the simulation skips it anyway).
  info.sort((a, b) => a.cheapest - b.cheapest || cmp(a.t.name, b.t.name));
  const kept: (typeof info)[number][] = [];
  for (const b of info) if (b.offers.size === 0 || !kept.some((a) => dominates(a, b))) kept.push(b);
  return kept.map((x) => x.t).sort((a, b) => cmp(a.name, b.name));
}
