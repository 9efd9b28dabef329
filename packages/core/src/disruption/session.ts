import type { Kernel } from "@nodeplan/solver-wasm";
import { cmp } from "../compare.ts";
import { type Node, type NodePool, type Pod, podKey } from "../model.ts";
import type { DisruptionCommand, DisruptionPlan, PlannedNodeClaim } from "../plan.ts";
import type { KeptReason } from "../reasons.ts";
import { type AllowedDisruptions, allowedDisruptions, type BudgetReason } from "./budgets.ts";
import {
  type CandidateContext,
  consolidationBlocker,
  gracefulBlocker,
  reschedulableOn,
} from "./candidates.ts";
import { type DisruptionCatalog, nodePrice } from "./catalog.ts";
import { drainingNominations } from "./draining.ts";
import { DEFAULT_MIN_SAVINGS_PER_HOUR, DEFAULT_MIN_SAVINGS_PERCENT, type DisruptionInput } from "./input.ts";
import { desiredHealthyPods, type PdbEntry, type PdbIndex } from "./pdb.ts";
import { MIN_SAVING_PER_HOUR, spotToSpotDisabled } from "./replacements.ts";
import {
  isUninitialized,
  loadOf,
  passesFence,
  SIM_PREFIX,
  type SimulateOptions,
  type Simulation,
  type SimulationEffort,
  simulate,
  uninitializedNodes,
} from "./simulate.ts";
import { applyCommand, type ClusterView, podsByNode, replacementNode } from "./state.ts";
import { type DisruptionStatics, disruptionStatics } from "./statics.ts";

/** A disruption method's name, as commands carry it. */
export type MethodName = DisruptionCommand["method"];

/** Budget reasons by method; forceful methods ignore budgets and name their own reason. */
export const BUDGET_REASON: Readonly<Record<MethodName, string>> = {
  emptiness: "Empty",
  drift: "Drifted",
  consolidation: "Underutilized",
  expiration: "Expired",
  interruption: "Interrupted",
};

/** A command a method found, before it is committed. */
export interface Proposal {
  method: MethodName;
  /** Why, in words (the replacements' launch price and the saving are added by `commit`). */
  reason: string;
  candidates: readonly Node[];
  sim: Simulation;
  /** The replacements as they may launch (launch options cut), in the simulation's claim order. */
  replacements: readonly PlannedNodeClaim[];
}

/** Everything fixed for one plan, and the two things a plan accumulates (names handed out, warnings). */
export class PlanRun {
  readonly pools: ReadonlyMap<string, NodePool>;
  readonly catalog: DisruptionCatalog;
  readonly nowMillis: number;
  readonly karpenter: boolean;
  readonly minSavingsPerHour: number;
  readonly minSavingsPercent: number;
  readonly spotToSpot: boolean;
  readonly strictPdbs: boolean;
  readonly nominated: ReadonlyMap<string, string>;
  readonly pdbs: PdbIndex;
  readonly warnings: DisruptionPlan["warnings"] = [];
  /** The latest verdict on each node a method tried and left (its kept reason unless a blocker says more). */
  readonly verdicts = new Map<string, KeptReason>();
  private readonly counters = new Map<string, number>();
  private readonly taken: Set<string>;
  readonly kernel: Kernel;
  readonly input: DisruptionInput;

  /** `statics` may be prepared once for a series of plans over the same pods and catalog (the loop). */
  constructor(kernel: Kernel, input: DisruptionInput, statics: DisruptionStatics = disruptionStatics(input)) {
    this.kernel = kernel;
    this.input = input;
    const opts = input.options ?? {};
    this.pools = new Map(input.nodePools.map((p) => [p.name, p]));
    this.catalog = statics.catalog;
    this.nowMillis = Date.parse(input.now);
    this.karpenter = opts.strategy === "karpenter";
    this.minSavingsPerHour = opts.minSavingsPerHour ?? DEFAULT_MIN_SAVINGS_PER_HOUR;
    this.minSavingsPercent = opts.minSavingsPercent ?? DEFAULT_MIN_SAVINGS_PERCENT;
    this.spotToSpot = opts.spotToSpotConsolidation ?? false;
    this.strictPdbs = opts.pdbEvictions === "strict";
    // Nodes pending pods were nominated to, and nodes the pods of nodes being deleted are moving to.
    const nominated = drainingNominations(kernel, input, this.catalog);
    for (const [node, pod] of Object.entries(input.nominated ?? {})) nominated.set(node, pod);
    this.nominated = new Map([...nominated].sort((a, b) => cmp(a[0], b[0])));
    this.pdbs = statics.pdbs;
    this.taken = new Set(input.nodes.map((n) => n.name));
  }

  /** A node's $/h. */
  price(n: Node): number {
    return nodePrice(this.catalog, n);
  }

  /** The savings a consolidation of nodes costing `removedPerHour` must exceed (Karpenter: strictly cheaper). */
  thresholdPerHour(removedPerHour: number): number {
    if (this.karpenter) return 0;
    return Math.max(this.minSavingsPerHour, (this.minSavingsPercent / 100) * removedPerHour);
  }

  /** A NodeClaim name no node has: `<pool>-<n>`, counting per NodePool. */
  freshName(pool: string): string {
    for (;;) {
      const n = this.counters.get(pool) ?? 0;
      this.counters.set(pool, n + 1);
      const name = `${pool}-${n}`;
      if (!this.taken.has(name)) {
        this.taken.add(name);
        return name;
      }
    }
  }
}

/**
 * One wave: what may start together within every budget and PDB. Budgets and PDB allowances are taken
 * on the cluster the wave starts from; nodes a command of the wave removed, launched or moved pods to
 * are not candidates again in the same wave.
 */
export class WaveSession {
  readonly ctx: CandidateContext;
  private readonly poolNodes = new Map<string, number>();
  private readonly disrupting = new Map<string, number>();
  private readonly pdbLeft = new Map<string, number>();
  private readonly touched = new Set<string>();
  /** Each node's graceful blocker (null: none), as the wave started. */
  private readonly blockers = new Map<string, KeptReason | null>();
  /** Methods that found nothing more in a NodePool this wave. */
  private readonly exhausted = new Map<MethodName, Set<string>>();
  readonly commands: DisruptionCommand[] = [];
  readonly run: PlanRun;
  readonly index: number;
  /** The cluster as the wave's commands so far leave it. */
  view: ClusterView;

  constructor(run: PlanRun, view: ClusterView, index: number) {
    this.run = run;
    this.view = view;
    this.index = index;
    // Each PDB's disruptionsAllowed on this cluster: membership is static (labels never change), only
    // where its pods run and whether they are healthy moves.
    const { expected, healthy } = run.pdbs.count(view.pods);
    const covering = new Map<string, { name: string; disruptionsAllowed: number }>();
    const allowances = new Map<readonly PdbEntry[], { name: string; disruptionsAllowed: number }[]>();
    for (const [name, e] of run.pdbs.entries) {
      const allowed = Math.max(
        0,
        (healthy.get(name) ?? 0) - desiredHealthyPods(e.pdb, expected.get(name) ?? 0),
      );
      this.pdbLeft.set(name, allowed);
      covering.set(name, { name, disruptionsAllowed: allowed });
    }
    for (const n of view.nodes.values()) {
      if (n.nodePool === undefined) continue;
      inc(this.poolNodes, n.nodePool, 1);
      if (n.deleting || !n.ready) inc(this.disrupting, n.nodePool, 1);
    }
    this.ctx = {
      nowMillis: run.nowMillis,
      pools: run.pools,
      podsByNode: podsByNode(view),
      pdbsOf: (pod) => {
        // Pods of one workload share one list of PDBs: its allowances are looked up once per wave.
        const entries = run.pdbs.of(pod);
        if (entries.length === 0) return [];
        let out = allowances.get(entries);
        if (out === undefined)
          allowances.set(
            entries,
            (out = entries.map((e) => covering.get(e.name) as { name: string; disruptionsAllowed: number })),
          );
        return out;
      },
      nominated: run.nominated,
    };
  }

  /** Graceful candidates by NodePool (pools in name order, nodes in name order); blocked nodes get a verdict. */
  candidatesByPool(): Map<string, Node[]> {
    const byPool = new Map<string, Node[]>();
    for (const n of this.view.nodes.values()) {
      if (this.touched.has(n.name)) continue;
      // Untouched nodes keep their pods for the whole wave: their blocker is computed once.
      const blocked = this.gracefulBlocker(n);
      if (blocked !== undefined) {
        this.run.verdicts.set(n.name, blocked);
        continue;
      }
      const list = byPool.get(n.nodePool as string);
      if (list === undefined) byPool.set(n.nodePool as string, [n]);
      else list.push(n);
    }
    return new Map([...byPool].sort((a, b) => cmp(a[0], b[0])));
  }

  /** A node's graceful blocker on the cluster as the wave started (remembered per node). */
  gracefulBlocker(n: Node): KeptReason | undefined {
    let blocked = this.blockers.get(n.name);
    if (blocked === undefined) this.blockers.set(n.name, (blocked = gracefulBlocker(n, this.ctx) ?? null));
    return blocked ?? undefined;
  }

  /** Did a command of this wave remove, launch or move pods to this node? */
  isTouched(name: string): boolean {
    return this.touched.has(name);
  }

  /** Pods on a node now that would need a new home. */
  reschedulable(n: Node): readonly Pod[] {
    return reschedulableOn(this.ctx, n.name);
  }

  /** Karpenter's and nodeplan's "empty": no reschedulable pods. */
  isEmpty(n: Node): boolean {
    return this.reschedulable(n).length === 0;
  }

  /** Why a graceful candidate may not be consolidated now, or undefined. */
  consolidationBlocker(n: Node): KeptReason | undefined {
    return consolidationBlocker(n, this.ctx);
  }

  /** Nodes of `pool` the wave may still disrupt for `reason`. */
  budget(pool: string, reason: BudgetReason): AllowedDisruptions {
    return allowedDisruptions(
      this.run.pools.get(pool) as NodePool,
      reason,
      this.run.nowMillis,
      this.poolNodes.get(pool) ?? 0,
      this.disrupting.get(pool) ?? 0,
    );
  }

  /** The kept reason of a node its NodePool's budget does not let go now. */
  budgetKept(pool: string, reason: BudgetReason): KeptReason {
    const left = this.budget(pool, reason);
    const out: KeptReason = { code: "budget_exhausted", nodePool: pool, reason, allowed: 0 };
    if (left.budget?.schedule !== undefined) out.schedule = left.budget.schedule;
    if (left.until !== undefined) out.until = left.until;
    return out;
  }

  /**
   * The ordered candidates the wave may take for `reason`: each NodePool's budget (what is left of it)
   * and, with strict PDBs, the wave's evictions per PDB. The rest get their kept reason. This runs
   * before any simulation (Karpenter drops what the budget forbids before it simulates). With `alone`,
   * each node is for a command of its own: a budget with room for one admits every node.
   */
  admit(ordered: readonly Node[], reason: BudgetReason, opts: { alone?: boolean } = {}): Node[] {
    const left = new Map<string, number>();
    const taken = new Map<string, number>();
    const out: Node[] = [];
    for (const n of ordered) {
      const pool = n.nodePool as string;
      if (!left.has(pool)) left.set(pool, this.budget(pool, reason).allowed);
      if ((left.get(pool) as number) <= 0) {
        this.run.verdicts.set(n.name, this.budgetKept(pool, reason));
        continue;
      }
      const blocked = this.pdbBlocker(n, opts.alone === true ? new Map() : taken);
      if (blocked !== undefined) {
        this.run.verdicts.set(n.name, blocked);
        continue;
      }
      out.push(n);
      if (opts.alone !== true) inc(left, pool, -1);
    }
    return out;
  }

  /** With strict PDBs: the first PDB a node's evictions would overdraw this wave (counting `taken`, then adding to it). */
  private pdbBlocker(n: Node, taken: Map<string, number>): KeptReason | undefined {
    // Serial (default): the eviction API lets a PDB's evictions through one at a time, so a PDB allowing
    // >= 1 (the candidate rule) suffices. Strict: a wave's evictions per PDB stay within disruptionsAllowed.
    if (!this.run.strictPdbs) return undefined;
    const need = new Map<string, number>();
    for (const p of this.reschedulable(n))
      for (const { name } of this.run.pdbs.of(p)) {
        inc(need, name, 1);
        if ((need.get(name) as number) + (taken.get(name) ?? 0) > (this.pdbLeft.get(name) ?? 0))
          return { code: "pdb_blocks_eviction", pdb: name, pod: podKey(p) };
      }
    for (const [name, k] of need) inc(taken, name, k);
    return undefined;
  }

  /**
   * Why removing `n` alone cannot pay, proven without a simulation, or undefined when it might. Its
   * pods need what they request; what the other nodes have free takes some of it at no cost, and new
   * capacity costs at least the catalog's cheapest rate per millicore and per byte for the rest. When
   * that least cost is already more than the node's price less the threshold, no command removing it
   * alone saves anything. A relaxation (free capacity anywhere counts, pods split freely), so it only
   * ever skips what the simulation would refuse.
   */
  cannotPayAlone(n: Node): KeptReason | undefined {
    const free = this.freeCapacity();
    const rates = this.run.catalog.cheapestRates;
    let least = 0;
    for (const r of ["cpuMillis", "memoryBytes"] as const) {
      let need = 0;
      for (const p of this.reschedulable(n)) need += p.requests[r] ?? 0;
      const elsewhere = free.total[r] - (free.byNode.get(n.name)?.[r] ?? 0);
      const rate = Number.isFinite(rates[r]) ? rates[r] : 0;
      least = Math.max(least, Math.max(0, need - elsewhere) * rate);
    }
    const price = this.run.price(n);
    return price - least > this.run.thresholdPerHour(price) + MIN_SAVING_PER_HOUR
      ? undefined
      : { code: "no_cheaper_replacement", pricePerHour: price, cheapestPerHour: least };
  }

  /**
   * Why removing `nodes` is refused whatever a simulation would find, proven without one, or undefined.
   * With every candidate on spot and spot-to-spot consolidation disabled, a command with a replacement
   * that may launch as spot is refused (`launchable`). When the evicted pods cannot all be placed on the
   * nodes that remain (`overflow`), the simulation opens claims for what is left or leaves it
   * unschedulable: a claim that may launch as spot refuses the command; claims that may not cost at least
   * the catalog's on-demand floor (`DisruptionCatalog.onDemandFloor`) for what they hold, and when that
   * leaves no saving above the threshold, they refuse it too. In a spot cluster most consolidation
   * attempts end here.
   */
  spotGate(nodes: readonly Node[]): KeptReason | undefined {
    if (this.run.spotToSpot || nodes.length === 0) return undefined;
    for (const n of nodes) if (n.capacityType !== "spot") return undefined;
    const floor = this.run.catalog.onDemandFloor();
    if (floor === undefined) return undefined;
    const left = this.overflow(nodes);
    if (left === undefined) return undefined;
    // The simulation's sum, in the same order.
    let removedPerHour = 0;
    for (const n of nodes) removedPerHour += this.run.price(n);
    const onDemand = Math.max(
      floor.pricePerHour,
      floor.perCpuMilli * left.cpu,
      floor.perMemoryByte * left.mem,
    );
    // Without the simulation's micro-dollar of tolerance: a rounding at the edge must not decide.
    if (removedPerHour - onDemand > this.run.thresholdPerHour(removedPerHour)) return undefined;
    return spotToSpotDisabled(removedPerHour);
  }

  /**
   * What of the pods evicted from `nodes` certainly cannot be placed on the nodes that remain (cpu and
   * memory, at least one of them above zero), or undefined when they might all be. A simulation places
   * them on schedulable nodes not being deleted, initialized unless a pod tolerates the fence
   * (`passesFence`), within what those nodes have left (`freeCapacity`). Left over: the pods that fit no
   * such node, and what the pods together request beyond what the nodes with room for at least one of
   * them can give (a node gives at most its free cpu, and no more cpu than its free memory times the
   * pods' largest cpu per byte; memory alike).
   */
  private overflow(nodes: readonly Node[]): Shape | undefined {
    const room = this.settledRoom();
    const removed = new Set<string>();
    for (const n of nodes) removed.add(n.name);
    // The evicted pods by requests (a workload's pods share one object), their least shapes (none
    // smaller in both), totals and largest ratios.
    const shapes = new Map<Pod["requests"], { shape: Shape; count: number }>();
    const least: Shape[] = [];
    const need = { cpu: 0, mem: 0 };
    let cpuPerByte = 0;
    let bytesPerCpu = 0;
    for (const n of nodes)
      for (const p of this.reschedulable(n)) {
        if (room.fenced && passesFence(p)) return undefined;
        const known = shapes.get(p.requests);
        if (known !== undefined) {
          known.count++;
          continue;
        }
        const shape = { cpu: p.requests.cpuMillis ?? 0, mem: p.requests.memoryBytes ?? 0 };
        shapes.set(p.requests, { shape, count: 1 });
        cpuPerByte = Math.max(cpuPerByte, shape.mem > 0 ? shape.cpu / shape.mem : Number.POSITIVE_INFINITY);
        bytesPerCpu = Math.max(bytesPerCpu, shape.cpu > 0 ? shape.mem / shape.cpu : Number.POSITIVE_INFINITY);
        addLeast(least, shape);
      }
    const homeless = { cpu: 0, mem: 0 };
    for (const { shape, count } of shapes.values()) {
      need.cpu += shape.cpu * count;
      need.mem += shape.mem * count;
      if (fitsNowhere(room, removed, shape)) {
        homeless.cpu += shape.cpu * count;
        homeless.mem += shape.mem * count;
      }
    }
    let cpuRoom = 0;
    let memRoom = 0;
    for (const r of room.nodes) {
      if (removed.has(r.name) || !least.some((q) => r.cpu >= q.cpu && r.mem >= q.mem)) continue;
      cpuRoom += cpuPerByte === Number.POSITIVE_INFINITY ? r.cpu : Math.min(r.cpu, r.mem * cpuPerByte);
      memRoom += bytesPerCpu === Number.POSITIVE_INFINITY ? r.mem : Math.min(r.mem, r.cpu * bytesPerCpu);
    }
    const certain = homeless.cpu > 0 || homeless.mem > 0 || need.cpu > cpuRoom || need.mem > memRoom;
    if (!certain) return undefined;
    return {
      cpu: Math.max(homeless.cpu, need.cpu - cpuRoom),
      mem: Math.max(homeless.mem, need.mem - memRoom),
    };
  }

  /**
   * What the nodes evicted pods may land on have free (`freeCapacity`, without nodes not yet initialized
   * when there are any: `fenced`), and its frontier: the nodes no other beats in both cpu and memory.
   */
  private settledRoom(): SettledRoom {
    if (this.room !== undefined) return this.room;
    // The simulation's own test for a fence (remembered per view).
    const fenced = uninitializedNodes(this.view).length > 0;
    const nodes: RoomLeft[] = [];
    for (const [name, left] of this.freeCapacity().byNode) {
      if (fenced && isUninitialized(this.view.nodes.get(name) as Node)) continue;
      nodes.push({ name, cpu: left.cpuMillis, mem: left.memoryBytes });
    }
    const frontier: RoomLeft[] = [];
    let mem = Number.NEGATIVE_INFINITY;
    for (const r of [...nodes].sort((a, b) => b.cpu - a.cpu || b.mem - a.mem))
      if (r.mem > mem) {
        frontier.push(r);
        mem = r.mem;
      }
    this.room = { fenced, nodes, frontier };
    return this.room;
  }

  private room?: SettledRoom;

  /** Requested capacity left on schedulable nodes, on the cluster as the wave's commands leave it: per node and in total. */
  private freeCapacity(): {
    byNode: Map<string, { cpuMillis: number; memoryBytes: number }>;
    total: { cpuMillis: number; memoryBytes: number };
  } {
    if (this.free !== undefined) return this.free;
    const byNode = new Map<string, { cpuMillis: number; memoryBytes: number }>();
    const total = { cpuMillis: 0, memoryBytes: 0 };
    for (const n of this.view.nodes.values()) {
      if (n.deleting || n.unschedulable) continue;
      // Allocatable less what the node's active pods request (the simulations' load, kept across views).
      const { less } = loadOf(this.view, n);
      const left = {
        cpuMillis: Math.max(0, less.cpuMillis ?? 0),
        memoryBytes: Math.max(0, less.memoryBytes ?? 0),
      };
      byNode.set(n.name, left);
      total.cpuMillis += left.cpuMillis;
      total.memoryBytes += left.memoryBytes;
    }
    this.free = { byNode, total };
    return this.free;
  }

  private free?: ReturnType<WaveSession["freeCapacity"]>;

  /** Has `method` already found nothing more in `pool` this wave? */
  isExhausted(method: MethodName, pool: string): boolean {
    return this.exhausted.get(method)?.has(pool) ?? false;
  }

  markExhausted(method: MethodName, pool: string): void {
    const set = this.exhausted.get(method) ?? new Set<string>();
    set.add(pool);
    this.exhausted.set(method, set);
  }

  /** Simulates removing `nodes` from the cluster as it is now. */
  simulate(nodes: readonly Node[], effort: SimulationEffort = "search", opts?: SimulateOptions): Simulation {
    return simulate(this.run.kernel, this.run.input, this.run.catalog, this.view, nodes, effort, opts);
  }

  /**
   * Carries a proposal out: the replacements get their names, the cluster moves on to the state after
   * the command, budgets and PDB allowances are charged, and the command is recorded in this wave.
   */
  commit(p: Proposal): DisruptionCommand {
    const rename = new Map<string, string>();
    const replacements = p.replacements.map((c) => {
      const name = this.run.freshName(c.nodePool);
      rename.set(c.name, name);
      return { ...c, name };
    });
    const placements: { pod: string; node: string }[] = [];
    for (const pod of p.sim.evicted) {
      const key = podKey(pod);
      const to = p.sim.placements.get(key);
      if (to !== undefined) placements.push({ pod: key, node: rename.get(to) ?? to });
    }
    placements.sort((a, b) => cmp(a.pod, b.pod));
    const perPool = new Map<string, number>();
    for (const n of p.candidates) inc(perPool, n.nodePool as string, 1);
    const budgets = [...perPool.keys()].sort(cmp).map((nodePool) => ({
      nodePool,
      reason: BUDGET_REASON[p.method],
      consumed: perPool.get(nodePool) as number,
    }));
    const addedPerHour = replacements.reduce((s, c) => s + c.pricePerHour, 0);
    const savingsPerHour = p.sim.removedPerHour - addedPerHour;
    const command: DisruptionCommand = {
      wave: this.index,
      method: p.method,
      reason: `${p.reason}${describeCost(p.method, replacements, savingsPerHour, p.sim.removedPerHour)}`,
      candidates: p.candidates.map((n) => n.name),
      replacements,
      evictions: p.sim.evicted.map(podKey).sort(cmp),
      savingsPerHour,
      budget: budgets[0] as DisruptionCommand["budget"],
      ...(budgets.length > 1 ? { budgets } : {}),
      placements,
    };
    const nodes = replacements.map((c) =>
      replacementNode(this.run.catalog, this.run.pools.get(c.nodePool) as NodePool, c, this.run.input.now),
    );
    this.view = applyCommand(this.view, command, nodes, this.run.input.now);
    // Replacements add room, moved pods take some: the relaxation must see the cluster as it now is.
    this.free = undefined;
    this.room = undefined;
    for (const name of command.candidates) this.touched.add(name);
    for (const n of nodes) this.touched.add(n.name);
    for (const { node } of placements) this.touched.add(node);
    // Forceful commands ignore budgets but their nodes, going away, count against them (Karpenter).
    for (const [pool, k] of perPool) inc(this.disrupting, pool, k);
    if (this.run.strictPdbs)
      for (const pod of p.sim.evicted)
        for (const { name } of this.run.pdbs.of(pod)) inc(this.pdbLeft, name, -1);
    for (const name of command.candidates) this.run.verdicts.delete(name);
    this.commands.push(command);
    return command;
  }
}

/** A node's free cpu (millicores) and memory (bytes). */
interface RoomLeft {
  name: string;
  cpu: number;
  mem: number;
}

interface SettledRoom {
  fenced: boolean;
  nodes: RoomLeft[];
  frontier: RoomLeft[];
}

/** A pod's cpu (millicores) and memory (bytes) requests. */
interface Shape {
  cpu: number;
  mem: number;
}

/** Adds `s` to the shapes none of which is smaller than another in both, unless one already is than it. */
function addLeast(list: Shape[], s: Shape): void {
  if (list.some((q) => q.cpu <= s.cpu && q.mem <= s.mem)) return;
  for (let i = list.length - 1; i >= 0; i--) {
    const q = list[i] as Shape;
    if (s.cpu <= q.cpu && s.mem <= q.mem) list.splice(i, 1);
  }
  list.push(s);
}

/**
 * Does a pod of shape `q` fit none of the remaining nodes? Every node is beaten by a frontier node, so
 * when no frontier node has room, none has; when only removed ones do, the others are looked at.
 */
function fitsNowhere(room: SettledRoom, removed: ReadonlySet<string>, q: Shape): boolean {
  let onlyRemoved = false;
  for (const r of room.frontier) {
    // The frontier is by cpu, most first: past the nodes with enough cpu none has room.
    if (r.cpu < q.cpu) break;
    if (r.mem < q.mem) continue;
    if (!removed.has(r.name)) return false;
    onlyRemoved = true;
  }
  if (!onlyRemoved) return true;
  for (const r of room.nodes) if (!removed.has(r.name) && r.cpu >= q.cpu && r.mem >= q.mem) return false;
  return true;
}

/** The launch price and saving in words: worst case for consolidation, the extra cost said plainly. */
function describeCost(
  method: MethodName,
  replacements: readonly PlannedNodeClaim[],
  savingsPerHour: number,
  removedPerHour: number,
): string {
  const money = (x: number) => `$${x.toFixed(4)}/h`;
  if (replacements.length === 0) return `, saving ${money(savingsPerHour)}`;
  const worst = replacements.reduce((s, c) => s + c.worstPricePerHour, 0);
  const launch = `; launch ${replacements.map((c) => `${c.instanceType} (${c.instanceTypeOptions.length} option${c.instanceTypeOptions.length === 1 ? "" : "s"})`).join(", ")}`;
  if (method === "consolidation")
    return `${launch}, saving ${money(savingsPerHour)} (at least ${money(removedPerHour - worst)} at the worst launch price)`;
  return savingsPerHour >= 0
    ? `${launch}, saving ${money(savingsPerHour)}`
    : `${launch}, costing ${money(-savingsPerHour)} more (${method} goes ahead whatever it costs)`;
}

export function inc(m: Map<string, number>, k: string, by: number): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

export { SIM_PREFIX };
