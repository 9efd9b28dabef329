import { createHash } from "node:crypto";
import {
  type Action,
  type CatalogSource,
  type ClusterState,
  type CommandInProgress,
  type ControllerMemory,
  claimCharge,
  type DaemonSet,
  type DecideOptions,
  type Decision,
  type DecisionPod,
  type DecisionState,
  type DisruptionCommand,
  type DisruptionPlan,
  type DriftDetector,
  type DriftInput,
  type InstanceType,
  type InterruptionEvent,
  initialMemory,
  isLaunchFailed,
  isProvisionable,
  type Launcher,
  type LaunchFailure,
  type Node,
  type NodeClassObject,
  type NodePool,
  NodePoolLimits,
  nodeplanStrategy,
  type Plan,
  type PlannedNodeClaim,
  PlannedNodeClaimSchema,
  type Pod,
  type PodDisruptionBudget,
  type ResourceVector,
  type Solver,
  type Strategy,
  type UnavailableOffering,
  withCatalogPrice,
  withUnavailableOfferings,
} from "@nodeplan/core";
import { resourceList, toNodeClaimManifests } from "../nodeclaim-manifests.ts";
import { ClusterReader, describeRef, type ObjectError, objectError, refOf } from "./convert.ts";
import type { KubeObject } from "./informers.ts";
import { describe } from "./informers.ts";
import { culpritsAsync } from "./isolate.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { Publisher } from "./publisher.ts";
import { backoffMs, type RetryPolicy } from "./retry.ts";
import { type ClusterWriter, NotLeaderError, TERMINATION_FINALIZER } from "./writer.ts";

/** Labels and annotations the controller stamps on what it creates. */
export const OWNER_LABEL = "nodeplan.dev/owner";
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const PLANNED_CLAIM_ANNOTATION = "nodeplan.dev/planned-claim";
export const DISRUPTED_TAINT = { key: "karpenter.sh/disrupted", effect: "NoSchedule" } as const;
/** On a node being disrupted: the NodeClaims replacing it (comma-separated). */
export const REPLACEMENTS_ANNOTATION = "nodeplan.dev/disruption-replacements";
/**
 * On a node being disrupted: the command it belongs to (JSON: id, method, reason, savings, budget,
 * when it was decided and started), so that a restarted or new leader rebuilds the command in
 * progress from the cluster instead of losing or repeating it.
 */
export const COMMAND_ANNOTATION = "nodeplan.dev/disruption-command";

/** What the reconciler needs. */
export interface ReconcilerOptions {
  mode: "advisory" | "acting";
  /** Names what this controller owns (the `nodeplan.dev/owner` label). */
  owner: string;
  catalog: CatalogSource;
  launcher?: Launcher | undefined;
  solver: Solver;
  writer: ClusterWriter;
  metrics: ControllerMetrics;
  publisher: Publisher;
  now: () => number;
  log: (message: string) => void;
  /** Called when something should be solved again soon (a launch failed, a claim was made). */
  retrigger: () => void;
  /** Relaunch of a claim whose launch outcome was unknown: backoff (defaults 1 s doubling to 1 min). */
  launchRetry?: RetryPolicy;
  /** Plan disruption (default true). */
  disruption?: boolean;
  /** The provider's drift detector (node classes are passed by name). */
  drift?: DriftDetector | undefined;
  /**
   * The provider's node class for a loaded one (AWS: `ec2NodeClassOf`, validated with defaults), as the
   * catalog, launcher and drift detector receive it; default: the loaded object itself.
   */
  nodeClass?: ((loaded: NodeClassObject) => unknown) | undefined;
  /** Interruption events received so far (the provider's queue), read on every pass. */
  interruptions?: (() => readonly InterruptionEvent[]) | undefined;
  /** Orphaned instances found by garbage collection (reported in the status). */
  orphanedInstances?: () => readonly string[];
  /** The decision step's strategy in acting mode (default nodeplan's). */
  strategy?: Strategy;
  /** Options of the decision step (batch window, validation wait, timeouts; Karpenter's defaults). */
  decide?: DecideOptions;
}

/** The last solve, for the status object and tests. */
export interface Solved {
  at: string;
  cluster: ClusterState;
  /** Instance types per NodePool name, as planned with. */
  instanceTypes: Readonly<Record<string, readonly InstanceType[]>>;
  plan: Plan;
  disruption: DisruptionPlan | undefined;
}

/** How a pass went. */
export interface PassResult {
  /** `skipped`: the cache lagged behind this process's own writes; solved again shortly. */
  result: "ok" | "error" | "not_leader" | "skipped";
  solved?: Solved;
  /** The pass's own error (a catalog that cannot be read, a solve that failed on no object in particular). */
  error?: unknown;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
const hash = (text: string, n: number) => createHash("sha256").update(text).digest("hex").slice(0, n);
/** Gives the event loop a turn between the phases of a pass (Lease renewals, probes, watches). */
const yieldNow = () => new Promise<void>((r) => setImmediate(r));

/** What a solve is run on; `culprits` narrows it object by object. */
interface SolveState {
  pods: readonly Pod[];
  nodes: readonly Node[];
  nodePools: readonly NodePool[];
  daemonSets: readonly DaemonSet[];
  pdbs: readonly PodDisruptionBudget[];
}
type Suspect =
  | { kind: "NodePool"; value: NodePool }
  | { kind: "DaemonSet"; value: DaemonSet }
  | { kind: "PodDisruptionBudget"; value: PodDisruptionBudget }
  | { kind: "Node"; value: Node }
  | { kind: "Pod"; value: Pod };

/** A model object set aside because a solve threw on it, until its API object changes. */
interface Quarantined {
  version: string;
  error: ObjectError;
}

/**
 * One pass: read the cluster from the informer cache (object by object: what cannot be read is
 * skipped with an error about it), then, in acting mode, informers -> state -> decide -> writer: the
 * decision step's state is built from the cache and the commands in progress rebuilt from the
 * cluster, core's `decide` runs (a pass that throws is traced to the objects it throws on, which are
 * set aside), its actions are applied (claims within their NodePools' limits, launches, taints,
 * nominations, the ICE cache; drains and terminations by the termination loop, `Terminator`), and the
 * next pass is scheduled at its wake-up. In advisory mode the pass plans provisioning and disruption's
 * first wave and acts on nothing. Last, publish (Events, the status ConfigMap) in the background,
 * best effort.
 */
export class Reconciler {
  last: Solved | undefined;
  /** Objects skipped by the last pass. */
  lastErrors: ObjectError[] = [];
  private readonly o: ReconcilerOptions;
  private readonly launching = new Set<string>();
  /** Claims whose launch outcome was unknown: attempts and when to try again (same name, same uid). */
  private readonly relaunch = new Map<string, { attempts: number; nextAt: number }>();
  /** Claims this process created that the informer cache has not shown yet (name -> when). */
  private readonly unseen = new Map<string, number>();
  /** Model objects a solve threw on, by `kind/key`. */
  private readonly quarantine = new Map<string, Quarantined>();
  /** Object errors already counted in metrics, by object key -> version/code. */
  private readonly counted = new Map<string, string>();
  private types: Record<string, InstanceType[]> = {};
  private readonly reader = new ClusterReader();
  /**
   * The decision step's memory as of the last pass. Only what is safe to lose is taken from it
   * (validating commands, batch and disruption timing, the consolidated state, name counters):
   * commands past validation are rebuilt from the cluster's taints and annotations on every pass.
   */
  private memory: ControllerMemory = initialMemory();
  /** Pending pods this controller nominated to a node or claim (`ns/name` -> node). */
  private readonly nominations = new Map<string, string>();
  /** When this process first saw a pending pod without a creation time (`ns/name` -> ms). */
  private readonly firstSeen = new Map<string, number>();
  /** The unavailable-offerings cache (Karpenter's ICE cache): the decision step's `mark_unavailable`. */
  private readonly ice = new Map<string, UnavailableOffering>();
  /** Launches that failed since the last pass, for the decision step. */
  private launchFailures: LaunchFailure[] = [];
  /** What the cluster looked like at the last pass (object versions), and when that last changed. */
  private fingerprint = "";
  private changedAt: string | undefined;
  /** The last provisioning and disruption plans the decision step made (a pass may make neither). */
  private lastDisruption: DisruptionPlan | undefined;
  /** The pass the decision step asked for (`wakeAt`). */
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last decision (tests, the status). */
  lastDecision: Decision | undefined;

  constructor(options: ReconcilerOptions) {
    this.o = options;
  }

  /** A claim this process is launching right now. */
  isLaunching(name: string): boolean {
    return this.launching.has(name);
  }

  /**
   * Solves on the cluster as the cache shows it. While a claim this process created is not in the
   * cache yet, the pass is skipped (and retried): solving on a cache that lags behind our own writes
   * would plan capacity for the same pods twice.
   */
  async reconcile(objects: readonly KubeObject[]): Promise<PassResult> {
    const { o } = this;
    for (const obj of objects) if (obj.kind === "NodeClaim") this.unseen.delete(obj.metadata.name);
    for (const [name, at] of this.unseen) if (o.now() - at > 30_000) this.unseen.delete(name);
    if (this.unseen.size > 0) {
      setTimeout(() => o.retrigger(), 50);
      return { result: "skipped" };
    }
    let solved: Solved;
    let nodePoolUids: Record<string, string>;
    let decision: Decision | undefined;
    try {
      ({ solved, nodePoolUids, decision } =
        o.mode === "acting" ? await this.decidePass(objects) : await this.solve(objects));
    } catch (error) {
      o.metrics.reconciles.inc({ result: "error" });
      o.log(`pass failed: ${describe(error)}`);
      return { result: "error", error };
    }
    let result: PassResult["result"] = "ok";
    if (decision !== undefined) {
      const started = performance.now();
      try {
        if (!(await this.apply(decision, solved, nodePoolUids))) result = "error";
        o.metrics.phaseSeconds.set((performance.now() - started) / 1000, { phase: "act" });
      } catch (err) {
        if (!(err instanceof NotLeaderError)) throw err;
        result = "not_leader";
      }
      this.scheduleWake(decision.wakeAt);
    }
    o.metrics.reconciles.inc({ result });
    if (result === "ok") o.metrics.lastSuccess.set(Math.floor(o.now() / 1000));
    o.publisher.offer({
      solved,
      objectErrors: this.lastErrors,
      orphanedInstances: o.orphanedInstances?.() ?? [],
    });
    return { result, solved };
  }

  /**
   * Advisory mode: reads the cluster and plans what a pass would do now, provisioning then
   * disruption's first wave (with nominated nodes kept), without the decision step's waits: nothing
   * is acted on, so there is no command to carry between passes.
   */
  private async solve(
    objects: readonly KubeObject[],
  ): Promise<{ solved: Solved; nodePoolUids: Record<string, string>; decision?: Decision }> {
    const { o } = this;
    const nowMillis = o.now();
    const now = iso(nowMillis);
    let mark = performance.now();
    const phase = (name: string) => {
      const t = performance.now();
      o.metrics.phaseSeconds.set((t - mark) / 1000, { phase: name });
      mark = t;
    };
    const raw = rawIndex(objects);
    const read = await this.reader.read(objects, now);
    const cluster = this.withoutQuarantined(read.cluster, raw);
    phase("read");
    await yieldNow();
    mark = performance.now();
    const instanceTypes = await this.instanceTypes(cluster);
    this.types = instanceTypes;
    phase("catalog");
    const byName = new Map(
      Object.values(instanceTypes).flatMap((types) => types.map((t) => [t.name, t] as const)),
    );
    const nodes = cluster.nodes.map((n) => withCatalogPrice(n, byName));
    const state: SolveState = {
      pods: cluster.pods,
      nodes,
      nodePools: cluster.nodePools,
      daemonSets: cluster.daemonSets,
      pdbs: cluster.podDisruptionBudgets,
    };
    const started = performance.now();
    const provisioned = await this.provisionIsolated(state, raw, instanceTypes, cluster, now);
    const plan = renameClaims(provisioned.value);
    phase("provision");
    let disruption: DisruptionPlan | undefined;
    if (o.disruption ?? true) {
      await yieldNow();
      mark = performance.now();
      const nominated = nominatedNodes(plan, objects);
      // Nodes already being disrupted (tainted, replacements on the way) count as leaving: they are
      // not candidates again and use their NodePool's budget, so commands may run side by side.
      const drift = this.driftInput(cluster);
      const leaving = (s: SolveState) =>
        s.nodes.map((n) => (isBeingDisrupted(n) ? { ...n, deleting: true } : n));
      disruption = (
        await this.isolated("disruption", provisioned.state, raw, (s) =>
          o.solver.planDisruption({
            nodes: leaving(s),
            pods: s.pods,
            nodePools: s.nodePools,
            instanceTypes,
            daemonSets: s.daemonSets,
            pdbs: s.pdbs,
            interruptions: o.interruptions?.() ?? [],
            nominated,
            ...(drift === undefined ? {} : { drift }),
            now,
            options: { maxWaves: 1 },
          }),
        )
      ).value;
      phase("disruption");
    }
    o.metrics.solveDuration.observe((performance.now() - started) / 1000);
    const errors = [...read.errors, ...[...this.quarantine.values()].map((q) => q.error)];
    this.report(errors);
    const solved: Solved = { at: now, cluster: { ...cluster, nodes }, instanceTypes, plan, disruption };
    this.last = solved;
    this.updateMetrics(solved);
    return { solved, nodePoolUids: read.nodePoolUids };
  }

  /**
   * Acting mode: informers -> state -> decide. Builds the decision step's state from the cache (pods
   * with when they became pending and where they are nominated, nodes and claims, NodePools, the
   * catalog, DaemonSets, PDBs, namespaces, the ICE cache, interruptions, drift, launches that failed
   * since the last pass, when the cluster last changed) and its memory (commands past validation
   * rebuilt from the cluster), and runs one pass of core's `decide` (a pass that throws is traced to
   * the objects it throws on, which are set aside). The actions are applied by `apply`.
   */
  private async decidePass(
    objects: readonly KubeObject[],
  ): Promise<{ solved: Solved; nodePoolUids: Record<string, string>; decision: Decision }> {
    const { o } = this;
    const nowMillis = o.now();
    // The decision step's clock keeps milliseconds: its waits (a batch window, a validation) are
    // compared with it.
    const now = new Date(nowMillis).toISOString();
    let mark = performance.now();
    const phase = (name: string) => {
      const t = performance.now();
      o.metrics.phaseSeconds.set((t - mark) / 1000, { phase: name });
      mark = t;
    };
    const raw = rawIndex(objects);
    const read = await this.reader.read(objects, iso(nowMillis));
    const cluster = this.withoutQuarantined(read.cluster, raw);
    phase("read");
    await yieldNow();
    mark = performance.now();
    const catalogTypes = await this.catalogTypes(cluster);
    this.types = catalogTypes;
    const unavailable = this.unavailable(nowMillis);
    const instanceTypes: Record<string, InstanceType[]> = {};
    for (const [pool, types] of Object.entries(catalogTypes))
      instanceTypes[pool] = withUnavailableOfferings(types, unavailable);
    phase("catalog");
    const byName = new Map(
      Object.values(catalogTypes).flatMap((types) => types.map((t) => [t.name, t] as const)),
    );
    const nodes = cluster.nodes.map((n) => withCatalogPrice(n, byName));
    const pods = this.decisionPods(cluster.pods, raw, nowMillis);
    this.observeChange(objects, now);
    const memory = this.rebuildMemory(nodes, now);
    const failures = this.launchFailures;
    const drift = this.driftInput(cluster);
    const base: Omit<DecisionState, "nodes" | "pods" | "nodePools" | "daemonSets" | "pdbs"> = {
      instanceTypes: catalogTypes,
      namespaces: cluster.namespaces,
      unavailableOfferings: unavailable,
      interruptions: o.interruptions?.() ?? [],
      ...(drift === undefined ? {} : { drift }),
      launchFailures: failures,
      changedAt: this.changedAt ?? now,
      memory,
    };
    const options: DecideOptions = { disruption: o.disruption ?? true, ...o.decide };
    const strategy = o.strategy ?? nodeplanStrategy;
    const state: SolveState = {
      pods,
      nodes,
      nodePools: cluster.nodePools,
      daemonSets: cluster.daemonSets,
      pdbs: cluster.podDisruptionBudgets,
    };
    const started = performance.now();
    const decided = await this.isolated("decide", state, raw, (s) =>
      o.solver.decide(
        {
          ...base,
          nodes: s.nodes,
          pods: s.pods as readonly DecisionPod[],
          nodePools: s.nodePools,
          daemonSets: s.daemonSets,
          pdbs: s.pdbs,
        },
        now,
        strategy,
        options,
      ),
    );
    // Handed over: failures that came in while deciding wait for the next pass.
    this.launchFailures = this.launchFailures.filter((f) => !failures.includes(f));
    const decision = renameDecision(decided.value);
    this.memory = decision.memory;
    this.lastDecision = decision;
    phase("decide");
    // A pass that did not provision (no batch window closed) still reports what provisioning would
    // do now, named as it would be launched.
    const plan =
      decision.plan ??
      renameClaims((await this.provisionIsolated(decided.state, raw, instanceTypes, cluster, now)).value);
    if (decision.disruption !== undefined) this.lastDisruption = decision.disruption;
    phase("provision");
    o.metrics.solveDuration.observe((performance.now() - started) / 1000);
    const errors = [...read.errors, ...[...this.quarantine.values()].map((q) => q.error)];
    this.report(errors);
    const solved: Solved = {
      at: iso(nowMillis),
      cluster: { ...cluster, nodes },
      instanceTypes,
      plan,
      disruption: this.lastDisruption,
    };
    this.last = solved;
    this.updateMetrics(solved);
    return { solved, nodePoolUids: read.nodePoolUids, decision };
  }

  /** The ICE cache: the launcher's unavailable offerings and the decision step's, not yet expired. */
  private unavailable(nowMillis: number): UnavailableOffering[] {
    const out = new Map<string, UnavailableOffering>();
    const key = (u: UnavailableOffering) => `${u.instanceType}/${u.zone}/${u.capacityType}`;
    for (const [k, u] of this.ice) if (Date.parse(u.until) <= nowMillis) this.ice.delete(k);
    for (const u of [...(this.o.launcher?.unavailableOfferings() ?? []), ...this.ice.values()]) {
      if (Date.parse(u.until) <= nowMillis) continue;
      const had = out.get(key(u));
      if (had === undefined || Date.parse(had.until) < Date.parse(u.until)) out.set(key(u), u);
    }
    return [...out.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  /**
   * Pods as the decision step sees them: a pending pod's `pendingSince` is its PodScheduled=False
   * condition's lastTransitionTime, else its creationTimestamp, else when this process first saw it;
   * `nominatedNode` is kube-scheduler's status.nominatedNodeName, else where this controller's last
   * provisioning pass put it.
   */
  private decisionPods(pods: readonly Pod[], raw: RawIndex, nowMillis: number): DecisionPod[] {
    const pending = new Set<string>();
    const out = pods.map((p): DecisionPod => {
      if (p.nodeName !== undefined) return p;
      const key = `${p.namespace}/${p.name}`;
      pending.add(key);
      const api = raw.get(`Pod/${p.namespace}/${p.name}`);
      const meta = api?.metadata as { creationTimestamp?: string } | undefined;
      const status = api?.status as
        | {
            nominatedNodeName?: string;
            conditions?: { type?: string; status?: string; lastTransitionTime?: string }[];
          }
        | undefined;
      const unscheduled = status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
      let since = unscheduled?.lastTransitionTime ?? meta?.creationTimestamp;
      if (since === undefined || !Number.isFinite(Date.parse(since))) {
        let first = this.firstSeen.get(key);
        if (first === undefined) this.firstSeen.set(key, (first = nowMillis));
        since = iso(first);
      }
      const nominated =
        status?.nominatedNodeName !== undefined && status.nominatedNodeName !== ""
          ? status.nominatedNodeName
          : this.nominations.get(key);
      return { ...p, pendingSince: since, ...(nominated === undefined ? {} : { nominatedNode: nominated }) };
    });
    for (const key of this.firstSeen.keys()) if (!pending.has(key)) this.firstSeen.delete(key);
    for (const key of this.nominations.keys()) if (!pending.has(key)) this.nominations.delete(key);
    return out;
  }

  /**
   * Advances `changedAt` when an object disruption depends on changed since the last pass (Karpenter's
   * consolidation state): any version of a Node, NodeClaim, Pod, NodePool, DaemonSet, PDB or node
   * class, or the interruptions received.
   */
  private observeChange(objects: readonly KubeObject[], now: string): void {
    const parts: string[] = [];
    for (const obj of objects) {
      if (obj.kind === "Event" || obj.kind === "ConfigMap" || obj.kind === "Lease") continue;
      const m = obj.metadata;
      parts.push(`${obj.kind}/${m.namespace ?? ""}/${m.name}@${m.resourceVersion ?? m.uid ?? ""}`);
    }
    parts.push(`interruptions:${this.o.interruptions?.().length ?? 0}`);
    const fingerprint = hash(parts.join("\n"), 16);
    if (fingerprint !== this.fingerprint || this.changedAt === undefined) this.changedAt = now;
    this.fingerprint = fingerprint;
  }

  /**
   * The decision step's memory for this pass. Commands past validation live in the cluster: every
   * node this controller tainted `karpenter.sh/disrupted` carries the command (COMMAND_ANNOTATION) and
   * its replacements (REPLACEMENTS_ANNOTATION), so they are rebuilt here on every pass, and a restarted
   * or new leader carries on with them instead of planning them again or launching their replacements
   * twice. A command whose candidates are being deleted is draining; one still waiting for its
   * replacements is launching. From this process's memory: validating commands (lost on a restart: the
   * next pass finds them again), timing, and commands whose candidates are all gone (the pass reports
   * them completed).
   */
  private rebuildMemory(nodes: readonly Node[], now: string): ControllerMemory {
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const byClaim = new Map(
      nodes.flatMap((n) => (n.nodeClaim === undefined ? [] : [[n.nodeClaim, n] as const])),
    );
    const groups = new Map<string, { meta: CommandMeta | undefined; names: string[]; nodes: Node[] }>();
    for (const n of nodes) {
      if (n.inFlight || !n.taints.some((t) => t.key === DISRUPTED_TAINT.key)) continue;
      const text = n.annotations[REPLACEMENTS_ANNOTATION];
      if (text === undefined) continue;
      const meta = commandMetaOf(n.annotations[COMMAND_ANNOTATION]);
      const key = meta?.id ?? `restored-${hash(text, 8)}`;
      let g = groups.get(key);
      if (g === undefined)
        groups.set(key, (g = { meta, names: text.split(",").filter((r) => r !== ""), nodes: [] }));
      g.nodes.push(n);
    }
    const commands: CommandInProgress[] = [];
    let next = this.memory.nextCommand;
    for (const [id, g] of groups) {
      const number = /^cmd-(\d+)$/.exec(id)?.[1];
      if (number !== undefined) next = Math.max(next, Number(number) + 1);
      const replacements = g.names.map((r) => replacementOf(r, byClaim.get(r) ?? byName.get(r)));
      const method = g.meta?.method ?? "consolidation";
      const startedAt =
        g.meta?.startedAt ??
        replacements
          .map((r) => (byClaim.get(r.name) ?? byName.get(r.name))?.createdAt)
          .filter((t): t is string => t !== undefined)
          .sort()[0] ??
        now;
      const draining =
        method === "expiration" ||
        method === "interruption" ||
        replacements.length === 0 ||
        g.nodes.some((n) => n.deleting);
      const candidates = g.nodes.map((n) => n.name).sort();
      const pool = g.nodes[0]?.nodePool ?? "";
      const command: DisruptionCommand = {
        wave: 1,
        method,
        reason: g.meta?.reason ?? "restored from the cluster",
        candidates,
        replacements,
        evictions: [],
        savingsPerHour: g.meta?.savingsPerHour ?? 0,
        budget: g.meta?.budget ?? {
          nodePool: pool,
          reason: method === "emptiness" ? "Empty" : method === "drift" ? "Drifted" : "Underutilized",
          consumed: candidates.length,
        },
      };
      commands.push({
        id,
        phase: draining ? "draining" : "launching",
        command,
        replacements,
        decidedAt: g.meta?.decidedAt ?? startedAt,
        startedAt,
        ...(draining ? { drainingSince: startedAt } : {}),
      });
    }
    // This process's commands the cache does not show yet (it lags behind our own writes) are kept;
    // so are commands whose candidates are all gone (the pass reports them completed).
    const rebuilt = new Set(commands.map((c) => c.id));
    for (const c of this.memory.commands) {
      if (rebuilt.has(c.id)) continue;
      if (c.phase !== "validating" && c.command.candidates.every((n) => !byName.has(n)))
        commands.push({ ...c, phase: "draining" });
      else commands.push(c);
    }
    return { ...this.memory, commands, nextCommand: next };
  }

  /** Runs a pass at `wakeAt` (the decision step's wake-up), besides the informers' events. */
  private scheduleWake(wakeAt: string | undefined): void {
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (wakeAt === undefined) return;
    const delay = Math.max(0, Date.parse(wakeAt) - this.o.now());
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.o.retrigger();
    }, delay);
    this.wakeTimer.unref?.();
  }

  /** The disruption commands in progress as of the last pass. */
  commandsInProgress(): readonly CommandInProgress[] {
    return this.memory.commands;
  }

  /** Stops the wake-up timer (the controller is stopping). */
  stop(): void {
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  /** Counts each object's error once per object version, and keeps the list for the status and Events. */
  private report(errors: ObjectError[]): void {
    const seen = new Set<string>();
    for (const e of errors) {
      const key = `${e.kind}/${e.namespace ?? ""}/${e.name}`;
      const mark = `${e.code}/${e.message}`;
      seen.add(key);
      if (this.counted.get(key) === mark) continue;
      this.counted.set(key, mark);
      this.o.metrics.objectErrors.inc({ kind: e.kind, code: e.code });
      this.o.log(`skipped ${describeRef(e)}: ${e.message}`);
    }
    for (const key of this.counted.keys()) if (!seen.has(key)) this.counted.delete(key);
    this.lastErrors = errors;
  }

  /**
   * Runs a solve; when it throws, finds the objects it throws on (bisection over NodePools,
   * DaemonSets, PDBs, nodes, then pods: the last-ordered object a failure needs is the one named),
   * sets them aside until they change, and solves without them. Throws when the failure needs no
   * object at all.
   */
  /** Provisioning over `state`, a poison object isolated (see `isolated`). */
  private provisionIsolated(
    state: SolveState,
    raw: RawIndex,
    instanceTypes: Record<string, InstanceType[]>,
    cluster: ClusterState,
    now: string,
  ): Promise<{ value: Plan; state: SolveState }> {
    return this.isolated("provision", state, raw, (s) =>
      this.o.solver.provision({
        pods: s.pods,
        nodes: s.nodes,
        nodePools: s.nodePools,
        instanceTypes,
        daemonSets: s.daemonSets,
        namespaces: cluster.namespaces,
        now,
      }),
    );
  }

  /** The provider's drift detector with the node classes it reads, when there is one. */
  private driftInput(cluster: ClusterState): DriftInput | undefined {
    const { drift } = this.o;
    if (drift === undefined) return undefined;
    return {
      detector: drift,
      nodeClasses: Object.fromEntries(cluster.nodeClasses.map((c) => [c.name, this.provided(c)])),
    };
  }

  private async isolated<T>(
    what: string,
    state: SolveState,
    raw: RawIndex,
    solve: (s: SolveState) => T,
  ): Promise<{ value: T; state: SolveState }> {
    try {
      return { value: solve(state), state };
    } catch (first) {
      this.o.log(`${what} failed (${describe(first)}); isolating the objects it fails on`);
      const suspects: Suspect[] = [
        ...state.nodePools.map((value) => ({ kind: "NodePool" as const, value })),
        ...state.daemonSets.map((value) => ({ kind: "DaemonSet" as const, value })),
        ...state.pdbs.map((value) => ({ kind: "PodDisruptionBudget" as const, value })),
        ...state.nodes.map((value) => ({ kind: "Node" as const, value })),
        ...state.pods.map((value) => ({ kind: "Pod" as const, value })),
      ];
      const fails = (kept: readonly Suspect[]) => {
        try {
          solve(stateOf(kept));
          return false;
        } catch {
          return true;
        }
      };
      const found = await culpritsAsync(suspects, fails, { max: 20 });
      if (!found.resolved) throw first;
      for (const s of found.culprits) {
        const { key, ref, version } = identify(s, raw);
        const message = `${describeRef(ref)}: the ${what} solve fails on it (${describe(first)}); skipped until it changes`;
        this.quarantine.set(key, { version, error: objectError(ref, "solver_error", message) });
      }
      const bad = new Set(found.culprits);
      const rest = stateOf(suspects.filter((s) => !bad.has(s)));
      await yieldNow();
      return { value: solve(rest), state: rest };
    }
  }

  /** The cluster without the model objects a solve threw on (while their API objects are unchanged). */
  private withoutQuarantined(cluster: ClusterState, raw: RawIndex): ClusterState {
    if (this.quarantine.size === 0) return cluster;
    const keep = (s: Suspect) => {
      const { key, version } = identify(s, raw);
      const q = this.quarantine.get(key);
      if (q === undefined) return true;
      if (q.version === version) return false;
      this.quarantine.delete(key);
      return true;
    };
    const present = new Set<string>();
    const filter = <K extends Suspect["kind"], V>(kind: K, values: readonly V[]) =>
      values.filter((value) => {
        const s = { kind, value } as unknown as Suspect;
        present.add(identify(s, raw).key);
        return keep(s);
      });
    const nodes = filter("Node", cluster.nodes);
    const names = new Set(nodes.map((n) => n.name));
    const out = {
      ...cluster,
      nodePools: filter("NodePool", cluster.nodePools),
      daemonSets: filter("DaemonSet", cluster.daemonSets),
      podDisruptionBudgets: filter("PodDisruptionBudget", cluster.podDisruptionBudgets),
      nodes,
      pods: filter("Pod", cluster.pods).filter((p) => p.nodeName === undefined || names.has(p.nodeName)),
    };
    for (const key of this.quarantine.keys()) if (!present.has(key)) this.quarantine.delete(key);
    return out;
  }

  /** A loaded node class as the provider takes it. */
  private provided(loaded: NodeClassObject): unknown {
    return this.o.nodeClass === undefined ? loaded : this.o.nodeClass(loaded);
  }

  /** The provider's node class a NodePool refers to, if it exists. */
  private nodeClassOf(cluster: ClusterState, pool: NodePool): unknown {
    const ref = pool.template.nodeClassRef;
    const loaded =
      ref === undefined
        ? undefined
        : cluster.nodeClasses.find((c) => c.kind === ref.kind && c.name === ref.name);
    return loaded === undefined ? undefined : this.provided(loaded);
  }

  /** Instance types per NodePool as the catalog source gives them (the decision step removes unavailable offerings). */
  private async catalogTypes(cluster: ClusterState): Promise<Record<string, InstanceType[]>> {
    const out: Record<string, InstanceType[]> = {};
    for (const pool of cluster.nodePools)
      out[pool.name] = await this.o.catalog.instanceTypes(pool, this.nodeClassOf(cluster, pool));
    return out;
  }

  /** Instance types per NodePool from the catalog source, minus offerings the launcher found unavailable. */
  private async instanceTypes(cluster: ClusterState): Promise<Record<string, InstanceType[]>> {
    const unavailable = (this.o.launcher?.unavailableOfferings() ?? []).filter(
      (u) => Date.parse(u.until) > this.o.now(),
    );
    const out: Record<string, InstanceType[]> = {};
    for (const pool of cluster.nodePools) {
      const types = await this.o.catalog.instanceTypes(pool, this.nodeClassOf(cluster, pool));
      out[pool.name] = withUnavailableOfferings(types, unavailable);
    }
    return out;
  }

  private updateMetrics({ cluster, plan, disruption }: Solved): void {
    const m = this.o.metrics;
    m.pendingPods.set(cluster.pods.filter(isProvisionable).length);
    m.plannedClaims.set(plan.nodeClaims.length);
    m.unschedulablePods.reset();
    for (const u of plan.unschedulable) m.unschedulablePods.inc({ reason: u.reason.code });
    m.costPerHour.set(plan.cost.currentPerHour, { kind: "now" });
    m.costPerHour.set(plan.cost.plannedPerHour, { kind: "planned" });
    m.costPerHour.set(plan.cost.lowerBoundPerHour, { kind: "lower_bound" });
    m.disruptionCandidates.reset();
    if (disruption !== undefined) {
      m.costPerHour.set(disruption.cost.afterPerHour, { kind: "after_disruption" });
      for (const k of disruption.kept) m.disruptionCandidates.inc({ blocker: k.reason.code });
      for (const c of disruption.commands)
        m.disruptionCandidates.inc({ blocker: "none", method: c.method }, c.candidates.length);
      m.disruptionSavings.set(disruption.commands.reduce((s, c) => s + c.savingsPerHour, 0));
    }
  }

  /**
   * Acting: applies a decision's actions through the writer, the launcher and the termination loop.
   * `launch`: NodeClaims created within their NodePools' limits (a command's replacements all or none)
   * and launched, with any claim of ours a previous leader left unlaunched; `nominate`: remembered for
   * the next pass; `taint`: the disruption taint with the command and its replacements annotated on the
   * candidate (what a restarted leader rebuilds the command from); `untaint`; `evict` and `delete` of a
   * disrupted node: its NodeClaim deleted, the termination loop drains it (PDBs, terminationGracePeriod)
   * and terminates it; `delete` of a failed or unregistered claim; `mark_unavailable`: the ICE cache;
   * `event`: an Event. Each step fails on its own (logged, counted, tried again next pass); returns
   * false when any did.
   */
  private async apply(
    decision: Decision,
    solved: Solved,
    nodePoolUids: Record<string, string>,
  ): Promise<boolean> {
    const { o } = this;
    const { cluster } = solved;
    const now = solved.at;
    const limits = new NodePoolLimits(cluster.nodePools, cluster.nodes, (n) => this.pendingCharge(n));
    const byName = new Map(cluster.nodes.map((n) => [n.name, n]));
    let ok = true;
    const step = async (action: string, what: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (err) {
        if (err instanceof NotLeaderError) throw err;
        ok = false;
        o.metrics.actionErrors.inc({ action });
        o.log(`${what} failed: ${describe(err)}; the next pass tries again`);
      }
    };
    for (const a of decision.actions) {
      if (a.type === "mark_unavailable")
        this.ice.set(`${a.offering.instanceType}/${a.offering.zone}/${a.offering.capacityType}`, a.offering);
      else if (a.type === "nominate") this.nominations.set(a.pod, a.node);
    }

    // Provisioning.
    const provisioning = decision.actions.flatMap((a) =>
      a.type === "launch" && a.command === undefined ? [a.claim] : [],
    );
    const made = await this.createClaims(provisioning, cluster, nodePoolUids, limits);
    ok &&= made.ok;
    // Launch every claim of ours without an instance: the ones just created, and any a previous
    // leader created (or a lost launch response left) without one; the planned claim is kept in an
    // annotation.
    ok &&= await this.launchAll(
      this.ourUnlaunchedClaims(cluster, new Map(made.claims.map((c) => [c.name, c]))),
      cluster,
    );

    // Commands dropped this pass: their candidates untainted first, as the decision orders it (a node
    // a dropped command leaves may be a candidate of a command started in the same pass).
    for (const a of decision.actions)
      if (a.type === "untaint")
        await step("disrupt", `untainting ${a.node}`, async () => {
          await o.writer.untaintNode(a.node, a.key, [REPLACEMENTS_ANNOTATION, COMMAND_ANNOTATION]);
        });

    // Disruption commands started this pass: taint (naming the command and its replacements), then
    // create and launch the replacements, all of a command's or none.
    const aborted = new Set<string>();
    const started = new Set<string>();
    for (const a of decision.actions) {
      if (a.type !== "taint" || started.has(a.command)) continue;
      started.add(a.command);
      const command = decision.memory.commands.find((c) => c.id === a.command);
      const candidates = decision.actions.flatMap((x) =>
        x.type === "taint" && x.command === a.command ? [x.node] : [],
      );
      const replacements = decision.actions.flatMap((x) =>
        x.type === "launch" && x.command === a.command ? [x.claim] : [],
      );
      const abort = (why: string) => {
        o.log(`not disrupting ${candidates.join(", ")} (${command?.command.method ?? a.command}): ${why}`);
        aborted.add(a.command);
      };
      const over = limits.tryChargeAll(
        replacements.map((c) => ({
          nodePool: c.nodePool,
          charge: claimCharge(c.instanceTypeOptions, (name) => this.capacityOf(name)),
        })),
      );
      if (over !== undefined) {
        abort(
          `NodePool ${over.nodePool} limit on ${over.resource} would be exceeded by its replacements (${over.used} + ${over.adding} > ${over.limit})`,
        );
        continue;
      }
      const meta: CommandMeta | undefined =
        command === undefined
          ? undefined
          : {
              id: command.id,
              method: command.command.method,
              reason: command.command.reason,
              savingsPerHour: command.command.savingsPerHour,
              budget: command.command.budget,
              decidedAt: command.decidedAt,
              startedAt: command.startedAt ?? now,
            };
      const annotations = {
        [REPLACEMENTS_ANNOTATION]: replacements.map((c) => c.name).join(","),
        ...(meta === undefined ? {} : { [COMMAND_ANNOTATION]: JSON.stringify(meta) }),
      };
      const marked: string[] = [];
      await step("disrupt", `tainting ${candidates.join(", ")}`, async () => {
        for (const node of candidates)
          if (await o.writer.taintNode(node, DISRUPTED_TAINT, annotations)) marked.push(node);
      });
      const untaint = async () => {
        for (const node of marked)
          await step("disrupt", `untainting ${node}`, async () => {
            await o.writer.untaintNode(node, DISRUPTED_TAINT.key, [
              REPLACEMENTS_ANNOTATION,
              COMMAND_ANNOTATION,
            ]);
          });
      };
      if (marked.length < candidates.length) {
        await untaint();
        abort("a candidate could not be tainted");
        continue;
      }
      if (replacements.length === 0) continue;
      const created = await this.createClaims(replacements, cluster, nodePoolUids, limits, true);
      ok &&= created.ok;
      if (created.claims.length < replacements.length) {
        await untaint();
        abort("its replacements could not all be created");
        continue;
      }
      ok &&= await this.launchAll(created.claims, cluster);
    }
    if (aborted.size > 0)
      this.memory = { ...this.memory, commands: this.memory.commands.filter((c) => !aborted.has(c.id)) };

    // Drains and deletions: a disrupted node goes to the termination loop (its NodeClaim deleted);
    // a claim that failed to launch or register is deleted.
    const handed = new Set<string>();
    for (const a of decision.actions) {
      if (a.type !== "evict" && a.type !== "delete") continue;
      if (a.command !== undefined && aborted.has(a.command)) continue;
      if (handed.has(a.node)) continue;
      handed.add(a.node);
      const node = byName.get(a.node);
      if (node === undefined || node.deleting) continue;
      if (a.type === "delete" && a.reason !== "disrupted") {
        const claim = node.nodeClaim ?? (node.inFlight ? node.name : undefined);
        if (claim === undefined) continue;
        o.log(`deleting NodeClaim ${claim}: ${a.reason.replace("_", " ")}`);
        await step("delete_nodeclaim", `deleting NodeClaim ${claim}`, () => o.writer.deleteNodeClaim(claim));
        continue;
      }
      await step("disrupt", `terminating ${node.name}`, () => this.terminate(node));
    }

    // Events of the decision step (the plan's own are the publisher's).
    for (const a of decision.actions) {
      if (a.type !== "event" || !FORWARDED_EVENTS.has(a.reason)) continue;
      const ref =
        a.object.kind === "Pod"
          ? {
              apiVersion: "v1",
              kind: "Pod",
              namespace: a.object.name.split("/")[0] as string,
              name: a.object.name.slice(a.object.name.indexOf("/") + 1),
            }
          : {
              apiVersion: a.object.kind === "Node" ? "v1" : "karpenter.sh/v1",
              kind: a.object.kind,
              name: a.object.name,
            };
      try {
        await o.writer.event(
          ref,
          `Nodeplan${a.reason}`,
          a.message,
          a.warning === true ? "Warning" : "Normal",
        );
      } catch (err) {
        if (err instanceof NotLeaderError) throw err;
        o.metrics.publishErrors.inc({ kind: "Event" });
      }
    }
    return ok;
  }

  /** What an unlaunched claim of ours is charged to its NodePool: its largest option (Karpenter's rule). */
  private pendingCharge(node: Node): ResourceVector | undefined {
    if (!node.inFlight || node.providerID !== undefined) return undefined;
    const planned = plannedClaimOf(node);
    if (planned === undefined) return undefined;
    return claimCharge(planned.instanceTypeOptions, (name) => this.capacityOf(name));
  }

  private capacityOf(name: string): ResourceVector | undefined {
    for (const types of Object.values(this.types)) {
      const t = types.find((x) => x.name === name);
      if (t !== undefined) return t.capacity;
    }
    return undefined;
  }

  /**
   * Creates NodeClaims (with the termination finalizer) within their NodePools' limits, charging
   * each; `charged`: the caller already charged them (a disruption's replacements, all or none).
   */
  private async createClaims(
    claims: readonly PlannedNodeClaim[],
    cluster: ClusterState,
    nodePoolUids: Record<string, string>,
    limits: NodePoolLimits,
    charged = false,
  ): Promise<{ claims: PlannedNodeClaim[]; ok: boolean }> {
    const { o } = this;
    const manifests = toNodeClaimManifests(claims, {
      nodePools: cluster.nodePools,
      pods: cluster.pods,
      nodeClasses: cluster.nodeClasses,
      nodePoolUids,
    });
    const made: PlannedNodeClaim[] = [];
    let ok = true;
    for (const [i, claim] of claims.entries()) {
      const manifest = manifests[i] as {
        metadata: {
          labels?: Record<string, string>;
          annotations?: Record<string, string>;
          finalizers?: string[];
        };
      };
      manifest.metadata.labels = {
        ...manifest.metadata.labels,
        [OWNER_LABEL]: o.owner,
        [MANAGED_BY_LABEL]: "nodeplan",
      };
      manifest.metadata.annotations = {
        ...manifest.metadata.annotations,
        [PLANNED_CLAIM_ANNOTATION]: JSON.stringify(claim),
      };
      // The finalizer from the start: a claim deleted at any point still has its instance terminated.
      manifest.metadata.finalizers = [TERMINATION_FINALIZER];
      if (!charged) {
        const over = limits.tryCharge(
          claim.nodePool,
          claimCharge(claim.instanceTypeOptions, (name) => this.capacityOf(name)),
        );
        if (over !== undefined) {
          o.log(
            `not creating ${claim.name}: NodePool ${over.nodePool} limit on ${over.resource} would be exceeded (${over.used} + ${over.adding} > ${over.limit})`,
          );
          continue;
        }
      }
      try {
        const result = await o.writer.createNodeClaim(manifest as Record<string, unknown>);
        if (result === "created") {
          o.metrics.claimsCreated.inc({ nodePool: claim.nodePool });
          this.unseen.set(claim.name, o.now());
        }
        made.push(claim);
      } catch (err) {
        if (err instanceof NotLeaderError) throw err;
        ok = false;
        o.metrics.actionErrors.inc({ action: "create_nodeclaim" });
        o.log(`creating NodeClaim ${claim.name} failed: ${describe(err)}; the next pass tries again`);
        setTimeout(() => o.retrigger(), 1000);
      }
    }
    return { claims: made, ok };
  }

  private async launchAll(claims: readonly PlannedNodeClaim[], cluster: ClusterState): Promise<boolean> {
    let ok = true;
    for (const claim of claims) {
      if (this.launching.has(claim.name)) continue;
      if ((this.relaunch.get(claim.name)?.nextAt ?? 0) > this.o.now()) continue;
      this.launching.add(claim.name);
      try {
        await this.launch(claim, cluster);
      } catch (err) {
        if (err instanceof NotLeaderError) throw err;
        ok = false;
        this.o.metrics.actionErrors.inc({ action: "launch" });
        this.o.log(`launching ${claim.name} failed: ${describe(err)}; the next pass tries again`);
      } finally {
        this.launching.delete(claim.name);
      }
    }
    return ok;
  }

  private ourUnlaunchedClaims(
    cluster: ClusterState,
    created: Map<string, PlannedNodeClaim>,
  ): PlannedNodeClaim[] {
    const out: PlannedNodeClaim[] = [...created.values()];
    for (const node of cluster.nodes) {
      if (!node.inFlight || node.providerID !== undefined || created.has(node.name)) continue;
      if (node.labels[OWNER_LABEL] !== this.o.owner || node.deleting) continue;
      const planned = plannedClaimOf(node);
      if (planned !== undefined) out.push(planned);
    }
    return out;
  }

  /**
   * Launches a claim and records the instance on it. A definite failure (LaunchFailedError) deletes
   * the claim and solves again (the offering is now unavailable); an unknown outcome (a lost response)
   * keeps the claim, and with it its uid and so the launch's client token: the retry returns the
   * instance the lost call may have started.
   */
  private async launch(claim: PlannedNodeClaim, cluster: ClusterState) {
    const { o } = this;
    const launcher = o.launcher as Launcher;
    const pool = cluster.nodePools.find((p) => p.name === claim.nodePool);
    if (pool === undefined) return;
    const nodeClass = this.nodeClassOf(cluster, pool);
    if (cluster.nodes.some((n) => n.name === claim.name && n.providerID !== undefined)) return;
    // The cache can lag behind this process's own writes: read the claim live before launching.
    const live = await o.writer.readNodeClaim(claim.name);
    const meta = live?.metadata as { uid?: string; deletionTimestamp?: string } | undefined;
    if (
      live === undefined ||
      meta?.deletionTimestamp !== undefined ||
      (live.status as { providerID?: string } | undefined)?.providerID !== undefined
    )
      return;
    let launched: Awaited<ReturnType<Launcher["create"]>>;
    const offeringKey = (u: UnavailableOffering) => `${u.instanceType}/${u.zone}/${u.capacityType}`;
    const knownUnavailable = new Set(launcher.unavailableOfferings().map(offeringKey));
    try {
      const uid = meta?.uid;
      await o.writer.assertCanWrite();
      launched = await launcher.create(uid === undefined ? claim : { ...claim, uid }, pool, nodeClass);
    } catch (err) {
      if (err instanceof NotLeaderError) throw err;
      if (isLaunchFailed(err)) {
        o.metrics.launches.inc({ result: "failed" });
        this.relaunch.delete(claim.name);
        // For the next pass: the offerings the launcher found unavailable go into the ICE cache.
        const message = describe(err);
        this.launchFailures.push({
          claim: claim.name,
          code: /^([A-Za-z.]+):/.exec(message)?.[1] ?? "LaunchFailed",
          message,
          unavailable: launcher
            .unavailableOfferings()
            .filter((u) => !knownUnavailable.has(offeringKey(u)))
            .map(({ instanceType, zone, capacityType }) => ({ instanceType, zone, capacityType })),
          at: iso(o.now()),
        });
        o.log(`launch of ${claim.name} failed: ${describe(err)}; deleting the claim and solving again`);
        try {
          await o.writer.event(
            { apiVersion: "karpenter.sh/v1", kind: "NodeClaim", name: claim.name },
            "NodeplanLaunchFailed",
            describe(err),
            "Warning",
          );
        } catch (e) {
          if (e instanceof NotLeaderError) throw e;
          o.metrics.publishErrors.inc({ kind: "Event" });
        }
        await o.writer.deleteNodeClaim(claim.name);
        this.unseen.delete(claim.name);
        o.retrigger();
        return;
      }
      o.metrics.launches.inc({ result: "unknown" });
      const attempts = (this.relaunch.get(claim.name)?.attempts ?? 0) + 1;
      const policy = { baseMs: 1000, maxMs: 60_000, ...o.launchRetry };
      const delay = Math.max(policy.baseMs / 2, backoffMs(attempts - 1, policy));
      this.relaunch.set(claim.name, { attempts, nextAt: o.now() + delay });
      o.log(
        `launch of ${claim.name}: outcome unknown (${describe(err)}); keeping the claim, retrying in ${delay} ms with the same client token`,
      );
      setTimeout(() => o.retrigger(), delay);
      return;
    }
    this.relaunch.delete(claim.name);
    o.metrics.launches.inc({ result: "launched" });
    const it = (this.types[claim.nodePool] ?? []).find((t) => t.name === launched.instanceType);
    await o.writer.recordLaunch(
      claim.name,
      {
        "node.kubernetes.io/instance-type": launched.instanceType,
        "topology.kubernetes.io/zone": launched.zone,
        "karpenter.sh/capacity-type": launched.capacityType,
        ...launched.labels,
      },
      {
        providerID: launched.providerID,
        ...(launched.imageID === undefined ? {} : { imageID: launched.imageID }),
        ...(it === undefined
          ? {}
          : { capacity: resourceList(it.capacity), allocatable: resourceList(it.allocatable) }),
        conditions: [
          {
            type: "Launched",
            status: "True",
            reason: "Launched",
            message: "",
            lastTransitionTime: iso(o.now()),
          },
        ],
      },
      launched.annotations ?? {},
    );
  }

  /** Hands a node to the termination loop: its NodeClaim (with the finalizer) is deleted. */
  private async terminate(node: Node): Promise<void> {
    const { o } = this;
    if (node.nodeClaim === undefined) {
      o.log(`${node.name} has no NodeClaim: it cannot be terminated safely; untainting it`);
      await o.writer.untaintNode(node.name, DISRUPTED_TAINT.key, [
        REPLACEMENTS_ANNOTATION,
        COMMAND_ANNOTATION,
      ]);
      return;
    }
    await o.writer.addNodeClaimFinalizer(node.nodeClaim, TERMINATION_FINALIZER);
    await o.writer.deleteNodeClaim(node.nodeClaim);
    o.log(`disrupting ${node.name}: deleted NodeClaim ${node.nodeClaim}; draining`);
  }
}

/** What COMMAND_ANNOTATION records of a command in progress. */
interface CommandMeta {
  id: string;
  method: DisruptionCommand["method"];
  reason: string;
  savingsPerHour: number;
  budget?: DisruptionCommand["budget"];
  decidedAt: string;
  startedAt: string;
}

const METHODS = new Set<string>(["emptiness", "consolidation", "drift", "expiration", "interruption"]);

/** The command a node's annotation records; undefined when absent or unreadable (a legacy taint). */
function commandMetaOf(text: string | undefined): CommandMeta | undefined {
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as Partial<CommandMeta>;
    if (typeof m.id !== "string" || typeof m.method !== "string" || !METHODS.has(m.method)) return undefined;
    const time = (t: unknown) => (typeof t === "string" && Number.isFinite(Date.parse(t)) ? t : undefined);
    const startedAt = time(m.startedAt);
    if (startedAt === undefined) return undefined;
    return {
      id: m.id,
      method: m.method,
      reason: typeof m.reason === "string" ? m.reason : "",
      savingsPerHour: typeof m.savingsPerHour === "number" ? m.savingsPerHour : 0,
      ...(m.budget === undefined ? {} : { budget: m.budget }),
      decidedAt: time(m.decidedAt) ?? startedAt,
      startedAt,
    };
  } catch {
    return undefined;
  }
}

/**
 * A command's replacement as rebuilt from the cluster: the planned claim its NodeClaim carries, else
 * what its node says it is. The decision step reads a replacement's name (is it there, initialized);
 * one that is gone is only a name (the step then aborts the command).
 */
function replacementOf(name: string, node: Node | undefined): PlannedNodeClaim {
  const planned = node === undefined ? undefined : plannedClaimOf(node);
  if (planned !== undefined) return { ...planned, name: node?.inFlight ? name : (node as Node).name };
  return {
    name: node?.name ?? name,
    nodePool: node?.nodePool ?? "",
    instanceType: node?.instanceType ?? "",
    instanceTypeOptions: node?.instanceType === undefined ? [] : [node.instanceType],
    zone: node?.zone ?? "",
    capacityType: node?.capacityType ?? "on-demand",
    pricePerHour: node?.pricePerHour ?? 0,
    worstPricePerHour: node?.pricePerHour ?? 0,
    requirements: [],
    daemonSetOverhead: {},
    pods: [],
  };
}

/** The decision step's Events written to the cluster (provisioning's come from the publisher's plan Events). */
const FORWARDED_EVENTS = new Set([
  "DisruptionValidating",
  "DisruptionStarted",
  "DisruptionCompleted",
  "DisruptionDropped",
  "RegistrationTimeout",
]);

/** Tainted by this controller's disruption (the replacements annotation names what it waits for). */
function isBeingDisrupted(n: Node): boolean {
  return (
    !n.inFlight &&
    !n.deleting &&
    n.annotations[REPLACEMENTS_ANNOTATION] !== undefined &&
    n.taints.some((t) => t.key === DISRUPTED_TAINT.key)
  );
}

/** The planned claim an unlaunched claim of ours carries, named as the claim. */
function plannedClaimOf(node: Node): PlannedNodeClaim | undefined {
  const text = node.annotations[PLANNED_CLAIM_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    const parsed = PlannedNodeClaimSchema.safeParse(JSON.parse(text));
    return parsed.success ? { ...parsed.data, name: node.name } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Nodes pending pods are about to use, node -> pod (`ns/name`): existing and in-flight nodes the plan
 * placed pending pods on, and kube-scheduler's nominations (status.nominatedNodeName). The first pod
 * by name per node, so the input is reproducible.
 */
export function nominatedNodes(plan: Plan, objects: readonly KubeObject[]): Record<string, string> {
  const claims = new Set(plan.nodeClaims.map((c) => c.name));
  const out = new Map<string, string>();
  const add = (node: string, pod: string) => {
    const had = out.get(node);
    if (had === undefined || pod < had) out.set(node, pod);
  };
  for (const p of plan.placements) if (!claims.has(p.node)) add(p.node, p.pod);
  for (const o of objects) {
    if (o.kind !== "Pod") continue;
    const status = o.status as { nominatedNodeName?: string; phase?: string } | undefined;
    const nominated = status?.nominatedNodeName;
    const meta = o.metadata as { deletionTimestamp?: string };
    if (nominated === undefined || nominated === "" || meta.deletionTimestamp !== undefined) continue;
    if ((o.spec as { nodeName?: string } | undefined)?.nodeName) continue;
    if (status?.phase === "Succeeded" || status?.phase === "Failed") continue;
    add(nominated, `${o.metadata.namespace ?? "default"}/${o.metadata.name}`);
  }
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** API objects by kind and `namespace/name`, for naming model objects in errors. */
type RawIndex = Map<string, KubeObject>;
function rawIndex(objects: readonly KubeObject[]): RawIndex {
  const out: RawIndex = new Map();
  for (const o of objects) out.set(`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o);
  return out;
}

/** A model object's quarantine key, its API object (for Events) and that object's version. */
function identify(
  s: Suspect,
  raw: RawIndex,
): { key: string; ref: ReturnType<typeof refOf>; version: string } {
  const find = (kind: string, namespace: string, name: string) => raw.get(`${kind}/${namespace}/${name}`);
  const version = (...os: (KubeObject | undefined)[]) =>
    os.map((o) => o?.metadata.resourceVersion ?? o?.metadata.uid ?? "").join("/");
  const fallback = (kind: string, name: string, namespace?: string) => ({
    apiVersion: kind === "NodePool" || kind === "NodeClaim" ? "karpenter.sh/v1" : "v1",
    kind,
    name,
    ...(namespace === undefined ? {} : { namespace }),
  });
  switch (s.kind) {
    case "Pod": {
      const o = find("Pod", s.value.namespace, s.value.name);
      return {
        key: `Pod/${s.value.namespace}/${s.value.name}`,
        ref: o === undefined ? fallback("Pod", s.value.name, s.value.namespace) : refOf(o),
        version: version(o),
      };
    }
    case "Node": {
      const node = find("Node", "", s.value.name);
      const claim = s.value.nodeClaim === undefined ? undefined : find("NodeClaim", "", s.value.nodeClaim);
      const o = node ?? claim;
      return {
        key: `Node/${s.value.name}`,
        ref: o === undefined ? fallback("Node", s.value.name) : refOf(o),
        version: version(node, claim),
      };
    }
    case "NodePool": {
      const o = find("NodePool", "", s.value.name);
      return {
        key: `NodePool/${s.value.name}`,
        ref: o === undefined ? fallback("NodePool", s.value.name) : refOf(o),
        version: version(o),
      };
    }
    case "DaemonSet":
    case "PodDisruptionBudget": {
      const o = find(s.kind, s.value.namespace, s.value.name);
      return {
        key: `${s.kind}/${s.value.namespace}/${s.value.name}`,
        ref: o === undefined ? fallback(s.kind, s.value.name, s.value.namespace) : refOf(o),
        version: version(o),
      };
    }
  }
}

/** The solve input made of some suspects; pods bound to a node left out are left out too. */
function stateOf(kept: readonly Suspect[]): SolveState {
  const state = {
    pods: [] as Pod[],
    nodes: [] as Node[],
    nodePools: [] as NodePool[],
    daemonSets: [] as DaemonSet[],
    pdbs: [] as PodDisruptionBudget[],
  };
  for (const s of kept) {
    if (s.kind === "Pod") state.pods.push(s.value);
    else if (s.kind === "Node") state.nodes.push(s.value);
    else if (s.kind === "NodePool") state.nodePools.push(s.value);
    else if (s.kind === "DaemonSet") state.daemonSets.push(s.value);
    else state.pdbs.push(s.value);
  }
  const names = new Set(state.nodes.map((n) => n.name));
  state.pods = state.pods.filter((p) => p.nodeName === undefined || names.has(p.nodeName));
  return state;
}

const emptyPlan: Plan = {
  nodeClaims: [],
  placements: [],
  unschedulable: [],
  cost: { currentPerHour: 0, newPerHour: 0, plannedPerHour: 0, lowerBoundPerHour: 0, ratio: null },
  lowerBound: { method: "none", certificate: null },
  warnings: [],
  errors: [],
};

/**
 * A decision with its new claims named as `renameClaims` names them (content hashes, so the same
 * launch after a restart is the same NodeClaim): the launch actions, the nominations, the plan and the
 * commands' replacements.
 */
function renameDecision(decision: Decision): Decision {
  const launches = decision.actions.flatMap((a) => (a.type === "launch" ? [a.claim] : []));
  if (launches.length === 0) return decision;
  const renamed = renameClaims({ ...emptyPlan, nodeClaims: launches }).nodeClaims;
  const names = new Map(launches.map((c, i) => [c.name, (renamed[i] as PlannedNodeClaim).name]));
  const rename = (n: string) => names.get(n) ?? n;
  const actions = decision.actions.map((a): Action => {
    if (a.type === "launch") return { ...a, claim: { ...a.claim, name: rename(a.claim.name) } };
    if (a.type === "nominate") return { ...a, node: rename(a.node) };
    if (a.type === "event" && a.object.kind === "NodeClaim")
      return { ...a, object: { ...a.object, name: rename(a.object.name) } };
    return a;
  });
  const out: Decision = {
    ...decision,
    actions,
    memory: {
      ...decision.memory,
      commands: decision.memory.commands.map((c) => ({
        ...c,
        replacements: c.replacements.map((r) => ({ ...r, name: rename(r.name) })),
      })),
    },
  };
  if (decision.plan !== undefined)
    out.plan = {
      ...decision.plan,
      nodeClaims: decision.plan.nodeClaims.map((c) => ({ ...c, name: rename(c.name) })),
      placements: decision.plan.placements.map((p) => ({ ...p, node: rename(p.node) })),
    };
  return out;
}

/**
 * Claim names that cannot collide across restarts: the NodePool and a hash of the claim's content
 * (pods, instance type options, zone, capacity type). The same solve after a restart names the same
 * claim (create answers 409), and a different solve a different one.
 */
function renameClaims(plan: Plan): Plan {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const c of plan.nodeClaims) {
    const key = JSON.stringify([
      c.nodePool,
      [...c.pods].sort(),
      c.instanceTypeOptions,
      c.zone,
      c.capacityType,
    ]);
    let name = `${c.nodePool}-${hash(key, 10)}`;
    for (let i = 1; taken.has(name); i++) name = `${c.nodePool}-${hash(`${key}/${i}`, 10)}`;
    taken.add(name);
    names.set(c.name, name);
  }
  const rename = (n: string) => names.get(n) ?? n;
  return {
    ...plan,
    nodeClaims: plan.nodeClaims.map((c) => ({ ...c, name: rename(c.name) })),
    placements: plan.placements.map((p) => ({ ...p, node: rename(p.node) })),
  };
}
