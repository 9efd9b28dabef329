import { createHash } from "node:crypto";
import {
  type CatalogSource,
  type ClusterState,
  claimCharge,
  type DaemonSet,
  type DisruptionPlan,
  type DriftDetector,
  type InstanceType,
  type InterruptionEvent,
  isLaunchFailed,
  isProvisionable,
  type Launcher,
  type Node,
  type NodeClassObject,
  type NodePool,
  NodePoolLimits,
  type Plan,
  type PlannedNodeClaim,
  PlannedNodeClaimSchema,
  type Pod,
  type PodDisruptionBudget,
  type ResourceVector,
  type Solver,
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
 * skipped with an error about it), plan new capacity and disruption (a solve that throws is traced to
 * the objects it throws on, which are set aside), then, in acting mode, act: create NodeClaims within
 * their NodePools' limits, launch them, and carry out wave 1 of the disruption plan; last, publish
 * (Events, the status ConfigMap) in the background, best effort. Draining and terminating belong to
 * the termination loop (`Terminator`): a disruption only taints, pre-spins replacements and deletes
 * the candidates' NodeClaims.
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
    try {
      ({ solved, nodePoolUids } = await this.solve(objects));
    } catch (error) {
      o.metrics.reconciles.inc({ result: "error" });
      o.log(`pass failed: ${describe(error)}`);
      return { result: "error", error };
    }
    let result: PassResult["result"] = "ok";
    if (o.mode === "acting") {
      const started = performance.now();
      try {
        if (!(await this.act(solved, nodePoolUids))) result = "error";
        o.metrics.phaseSeconds.set((performance.now() - started) / 1000, { phase: "act" });
      } catch (err) {
        if (!(err instanceof NotLeaderError)) throw err;
        result = "not_leader";
      }
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

  /** Reads the cluster and plans: provisioning, then disruption (with nominated nodes kept). */
  private async solve(
    objects: readonly KubeObject[],
  ): Promise<{ solved: Solved; nodePoolUids: Record<string, string> }> {
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
    const provisioned = await this.isolated("provision", state, raw, (s) =>
      o.solver.provision({
        pods: s.pods,
        nodes: s.nodes,
        nodePools: s.nodePools,
        instanceTypes,
        daemonSets: s.daemonSets,
        namespaces: cluster.namespaces,
        now,
      }),
    );
    const plan = renameClaims(provisioned.value);
    phase("provision");
    let disruption: DisruptionPlan | undefined;
    if (o.disruption ?? true) {
      await yieldNow();
      mark = performance.now();
      const nominated = nominatedNodes(plan, objects);
      // Nodes already being disrupted (tainted, replacements on the way) count as leaving: they are
      // not candidates again and use their NodePool's budget, so commands may run side by side.
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
            ...(o.drift === undefined
              ? {}
              : {
                  drift: {
                    detector: o.drift,
                    nodeClasses: Object.fromEntries(
                      cluster.nodeClasses.map((c) => [c.name, this.provided(c)]),
                    ),
                  },
                }),
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
   * Acting: claims for the plan (within limits), launches, disruption. Each step fails on its own
   * (logged, counted, tried again next pass); returns false when any did.
   */
  private async act(solved: Solved, nodePoolUids: Record<string, string>): Promise<boolean> {
    const { cluster, plan, disruption } = solved;
    const limits = new NodePoolLimits(cluster.nodePools, cluster.nodes, (n) => this.pendingCharge(n));
    let ok = true;
    const made = await this.createClaims(plan.nodeClaims, cluster, nodePoolUids, limits);
    ok &&= made.ok;
    // Launch every claim of ours without an instance: the ones just created, and any a previous
    // leader created (or a lost launch response left) without one; the planned claim is kept in an
    // annotation.
    ok &&= await this.launchAll(
      this.ourUnlaunchedClaims(cluster, new Map(made.claims.map((c) => [c.name, c]))),
      cluster,
    );
    if (disruption !== undefined && plan.nodeClaims.length === 0)
      ok &&= await this.disrupt(solved, nodePoolUids, limits);
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
    try {
      const uid = meta?.uid;
      await o.writer.assertCanWrite();
      launched = await launcher.create(uid === undefined ? claim : { ...claim, uid }, pool, nodeClass);
    } catch (err) {
      if (err instanceof NotLeaderError) throw err;
      if (isLaunchFailed(err)) {
        o.metrics.launches.inc({ result: "failed" });
        this.relaunch.delete(claim.name);
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

  /**
   * Wave 1 of the disruption plan, as Karpenter: candidates are tainted (naming their replacements),
   * replacements created (within limits: all of a command's or none) and launched; once every
   * replacement has a Ready (or Initialized) Node the candidates' NodeClaims are deleted and the
   * termination loop drains them. A replacement that is gone (its launch failed, or its node did not
   * register in time) aborts the command: the taint is removed. Commands run side by side: nodes being
   * disrupted count against their NodePool's budget in the plan.
   */
  private async disrupt(
    solved: Solved,
    nodePoolUids: Record<string, string>,
    limits: NodePoolLimits,
  ): Promise<boolean> {
    const { o } = this;
    const { cluster, disruption } = solved;
    let ok = true;
    const step = async (what: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (err) {
        if (err instanceof NotLeaderError) throw err;
        ok = false;
        o.metrics.actionErrors.inc({ action: "disrupt" });
        o.log(`${what} failed: ${describe(err)}; the next pass tries again`);
      }
    };
    const byName = new Map(cluster.nodes.map((n) => [n.name, n]));
    const byClaim = new Map(
      cluster.nodes.flatMap((n) => (n.nodeClaim === undefined ? [] : [[n.nodeClaim, n] as const])),
    );
    // The candidates of one command share its replacements (often many): judged once per command.
    const progress = new Map<string, "gone" | "ready" | "waiting">();
    const progressOf = (annotation: string) => {
      let verdict = progress.get(annotation);
      if (verdict === undefined) {
        const found = annotation
          .split(",")
          .filter((r) => r !== "")
          .map((r) => byClaim.get(r) ?? byName.get(r));
        verdict = found.some((n) => n === undefined || n.deleting)
          ? "gone"
          : found.every((n) => n !== undefined && !n.inFlight && (n.initialized || n.ready))
            ? "ready"
            : "waiting";
        progress.set(annotation, verdict);
      }
      return verdict;
    };
    for (const node of cluster.nodes.filter(isBeingDisrupted)) {
      const verdict = progressOf(node.annotations[REPLACEMENTS_ANNOTATION] ?? "");
      if (verdict === "gone") {
        o.log(`replacement of ${node.name} is gone; aborting its disruption`);
        await step(`untainting ${node.name}`, async () => {
          await o.writer.untaintNode(node.name, DISRUPTED_TAINT.key, REPLACEMENTS_ANNOTATION);
        });
      } else if (verdict === "ready") await step(`terminating ${node.name}`, () => this.terminate(node));
    }
    for (const command of disruption?.commands.filter((c) => c.wave === 1) ?? []) {
      const candidates = command.candidates.map((name) => byName.get(name));
      if (candidates.some((n) => n === undefined || n.inFlight || n.deleting || isBeingDisrupted(n)))
        continue;
      const nodes = candidates as Node[];
      const replacements = renameClaims({ ...emptyPlan, nodeClaims: command.replacements }).nodeClaims;
      const over = limits.tryChargeAll(
        replacements.map((c) => ({
          nodePool: c.nodePool,
          charge: claimCharge(c.instanceTypeOptions, (name) => this.capacityOf(name)),
        })),
      );
      if (over !== undefined) {
        o.log(
          `not disrupting ${command.candidates.join(", ")} (${command.method}): NodePool ${over.nodePool} limit on ${over.resource} would be exceeded by its replacements (${over.used} + ${over.adding} > ${over.limit})`,
        );
        continue;
      }
      // Taint first (nothing new schedules onto the candidates), naming the replacements on the node,
      // so a later leader knows what this disruption waits for.
      const names = replacements.map((c) => c.name).join(",");
      const marked: Node[] = [];
      await step(`tainting ${command.candidates.join(", ")}`, async () => {
        for (const node of nodes)
          if (await o.writer.taintNode(node.name, DISRUPTED_TAINT, { [REPLACEMENTS_ANNOTATION]: names }))
            marked.push(node);
      });
      if (replacements.length === 0) {
        for (const node of marked) await step(`terminating ${node.name}`, () => this.terminate(node));
        continue;
      }
      const made = await this.createClaims(replacements, cluster, nodePoolUids, limits, true);
      ok &&= made.ok;
      if (made.claims.length < replacements.length) {
        for (const node of marked)
          await step(`untainting ${node.name}`, async () => {
            await o.writer.untaintNode(node.name, DISRUPTED_TAINT.key, REPLACEMENTS_ANNOTATION);
          });
        continue;
      }
      ok &&= await this.launchAll(made.claims, cluster);
    }
    return ok;
  }

  /** Hands a node to the termination loop: its NodeClaim (with the finalizer) is deleted. */
  private async terminate(node: Node): Promise<void> {
    const { o } = this;
    if (node.nodeClaim === undefined) {
      o.log(`${node.name} has no NodeClaim: it cannot be terminated safely; untainting it`);
      await o.writer.untaintNode(node.name, DISRUPTED_TAINT.key, REPLACEMENTS_ANNOTATION);
      return;
    }
    await o.writer.addNodeClaimFinalizer(node.nodeClaim, TERMINATION_FINALIZER);
    await o.writer.deleteNodeClaim(node.nodeClaim);
    o.log(`disrupting ${node.name}: deleted NodeClaim ${node.nodeClaim}; draining`);
  }
}

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
