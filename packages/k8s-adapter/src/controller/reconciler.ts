import { createHash } from "node:crypto";
import {
  type CatalogSource,
  type ClusterState,
  type DisruptionPlan,
  type DriftDetector,
  type InstanceType,
  type InterruptionEvent,
  isProvisionable,
  type Launcher,
  type Node,
  type NodeClassObject,
  type NodePool,
  type Plan,
  type PlannedNodeClaim,
  PlannedNodeClaimSchema,
  podKey,
  renderKept,
  type Solver,
  withCatalogPrice,
  withUnavailableOfferings,
} from "@nodeplan/core";
import { loadManifests } from "../load-manifests.ts";
import { resourceList, toNodeClaimManifests } from "../nodeclaim-manifests.ts";
import type { KubeObject } from "./informers.ts";
import { describe } from "./informers.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { type ClusterWriter, NotLeaderError } from "./writer.ts";

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
  namespace: string;
  statusConfigMap: string;
  catalog: CatalogSource;
  launcher?: Launcher | undefined;
  solver: Solver;
  writer: ClusterWriter;
  metrics: ControllerMetrics;
  now: () => number;
  log: (message: string) => void;
  /** Pods on a node now (read fresh from the informer cache). */
  podsOn: (node: string) => KubeObject[];
  /** Called when something should be solved again soon (a launch failed, a drain finished). */
  retrigger: () => void;
  /** Eviction retry after a 429: first delay, doubling up to the max (defaults 1 s and 30 s). */
  evictionBackoffMs?: number;
  maxEvictionBackoffMs?: number;
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
}

/** The last solve, for the status object and tests. */
export interface Solved {
  at: string;
  cluster: ClusterState;
  plan: Plan;
  disruption: DisruptionPlan | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
const hash = (text: string, n: number) => createHash("sha256").update(text).digest("hex").slice(0, n);
const money = (x: number) => `$${x.toFixed(4)}/h`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One pass: read the cluster from the informer cache through the adapter's converters, plan new
 * capacity (and disruption), publish what it would do (Events, status ConfigMap, metrics) and, in
 * acting mode, do it: create NodeClaims with names derived from their content, launch them through
 * the Launcher, drain and remove the nodes of wave-1 disruption commands.
 */
export class Reconciler {
  last: Solved | undefined;
  private readonly o: ReconcilerOptions;
  private readonly launching = new Set<string>();
  private readonly draining = new Map<string, Promise<void>>();
  /** Claims this process created that the informer cache has not shown yet (name -> when). */
  private readonly unseen = new Map<string, number>();
  /** Nodes this process finished disrupting (the cache may still show them for a moment). */
  private readonly drained = new Set<string>();
  private lastStatus = "";
  private types: Record<string, InstanceType[]> = {};
  private stopped = false;

  constructor(options: ReconcilerOptions) {
    this.o = options;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Drains in progress (tests wait on them). */
  async drains(): Promise<void> {
    await Promise.all(this.draining.values());
  }

  /**
   * Solves on the cluster as the cache shows it. While a claim this process created is not in the
   * cache yet, the pass is skipped (and retried): solving on a cache that lags behind our own writes
   * would plan capacity for the same pods twice.
   */
  async reconcile(objects: readonly KubeObject[]): Promise<Solved | undefined> {
    const { o } = this;
    for (const obj of objects) if (obj.kind === "NodeClaim") this.unseen.delete(obj.metadata.name);
    for (const [name, at] of this.unseen) if (o.now() - at > 30_000) this.unseen.delete(name);
    if (this.unseen.size > 0) {
      setTimeout(() => o.retrigger(), 50);
      return undefined;
    }
    const now = iso(o.now());
    const loaded = loadManifests(
      [{ source: "cluster", text: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) }],
      {
        now,
      },
    );
    for (const e of loaded.errors.slice(0, 20))
      o.log(`skipped invalid input: ${e.object ?? ""} ${e.path.join(".")}: ${e.code}`);
    const cluster = loaded.cluster;
    const instanceTypes = await this.instanceTypes(cluster);
    this.types = instanceTypes;
    const byName = new Map(
      Object.values(instanceTypes).flatMap((types) => types.map((t) => [t.name, t] as const)),
    );
    const nodes = cluster.nodes.map((n) => withCatalogPrice(n, byName));

    const started = performance.now();
    const raw = o.solver.provision({
      pods: cluster.pods,
      nodes,
      nodePools: cluster.nodePools,
      instanceTypes,
      daemonSets: cluster.daemonSets,
      now,
    });
    const plan = renameClaims(raw);
    let disruption: DisruptionPlan | undefined;
    if (o.disruption ?? true) {
      disruption = o.solver.planDisruption({
        nodes,
        pods: cluster.pods,
        nodePools: cluster.nodePools,
        instanceTypes,
        daemonSets: cluster.daemonSets,
        pdbs: cluster.podDisruptionBudgets,
        interruptions: o.interruptions?.() ?? [],
        ...(o.drift === undefined
          ? {}
          : {
              drift: {
                detector: o.drift,
                nodeClasses: Object.fromEntries(cluster.nodeClasses.map((c) => [c.name, this.provided(c)])),
              },
            }),
        now,
        options: { maxWaves: 1 },
      });
    }
    o.metrics.solveDuration.observe((performance.now() - started) / 1000);
    const solved: Solved = { at: now, cluster: { ...cluster, nodes }, plan, disruption };
    this.last = solved;
    this.updateMetrics(solved);
    try {
      await this.publish(solved);
      if (o.mode === "acting") await this.act(solved, loaded.nodePoolUids);
      o.metrics.reconciles.inc({ result: "ok" });
    } catch (err) {
      o.metrics.reconciles.inc({ result: err instanceof NotLeaderError ? "not_leader" : "error" });
      if (!(err instanceof NotLeaderError)) throw err;
    }
    return solved;
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

  /** Events on pods and nodes, and the status ConfigMap (only when its content changed). */
  private async publish({ at, cluster, plan, disruption }: Solved): Promise<void> {
    const { o } = this;
    const acting = o.mode === "acting";
    const pods = new Map(cluster.pods.map((p) => [podKey(p), p]));
    const podRef = (key: string) => {
      const p = pods.get(key);
      return p === undefined
        ? undefined
        : { apiVersion: "v1", kind: "Pod", name: p.name, namespace: p.namespace, uid: p.uid };
    };
    for (const claim of plan.nodeClaims) {
      const what = `NodeClaim ${claim.name} (${claim.instanceType} in ${claim.zone}, ${claim.capacityType}, ${money(claim.pricePerHour)}; ${claim.instanceTypeOptions.length} instance type options) for ${claim.pods.length} pod(s)`;
      for (const key of claim.pods) {
        const ref = podRef(key);
        if (ref !== undefined)
          await o.writer.event(
            ref,
            acting ? "NodeplanLaunching" : "NodeplanWouldLaunch",
            `${acting ? "launching" : "would launch"} ${what}`,
          );
      }
    }
    const claimNames = new Set(plan.nodeClaims.map((c) => c.name));
    for (const p of plan.placements) {
      const ref = podRef(p.pod);
      if (ref !== undefined && !claimNames.has(p.node))
        await o.writer.event(ref, "NodeplanFitsExisting", `fits on existing or in-flight node ${p.node}`);
    }
    for (const u of plan.unschedulable) {
      const ref = podRef(u.pod);
      if (ref !== undefined) await o.writer.event(ref, "NodeplanUnschedulable", u.message, "Warning");
    }
    const nodeRef = (name: string) => {
      const n = cluster.nodes.find((x) => x.name === name);
      return n === undefined || n.inFlight ? undefined : { apiVersion: "v1", kind: "Node", name };
    };
    for (const c of disruption?.commands ?? []) {
      const replaced =
        c.replacements.length === 0
          ? "no replacement"
          : `${c.replacements.length} replacement(s): ${c.replacements.map((r) => r.instanceType).join(", ")}`;
      for (const name of c.candidates) {
        const ref = nodeRef(name);
        if (ref !== undefined)
          await o.writer.event(
            ref,
            acting ? "NodeplanDisrupting" : "NodeplanWouldDisrupt",
            `${acting ? "disrupting" : "would disrupt"} (${c.method}: ${c.reason}) with ${replaced}, saving ${money(c.savingsPerHour)}`,
          );
      }
    }
    const data = statusData(plan, disruption, o.mode);
    const content = JSON.stringify(data);
    if (content !== this.lastStatus) {
      await o.writer.configMap(o.namespace, o.statusConfigMap, { ...data, observedAt: at });
      this.lastStatus = content;
    }
  }

  private async act(solved: Solved, nodePoolUids: Record<string, string>): Promise<void> {
    const { cluster, plan, disruption } = solved;
    const made = await this.createClaims(plan.nodeClaims, cluster, nodePoolUids);
    // Launch every claim of ours without an instance: the ones just created, and any a previous
    // leader created but did not launch (the planned claim is kept in an annotation).
    await this.launchAll(
      await this.ourUnlaunchedClaims(cluster, new Map(made.map((c) => [c.name, c]))),
      cluster,
    );
    if (disruption !== undefined && plan.nodeClaims.length === 0) await this.disrupt(solved, nodePoolUids);
  }

  /** Creates NodeClaims within their NodePools' limits; returns those that now exist. */
  private async createClaims(
    claims: readonly PlannedNodeClaim[],
    cluster: ClusterState,
    nodePoolUids: Record<string, string>,
  ): Promise<PlannedNodeClaim[]> {
    const { o } = this;
    const manifests = toNodeClaimManifests(claims, {
      nodePools: cluster.nodePools,
      pods: cluster.pods,
      nodeClasses: cluster.nodeClasses,
      nodePoolUids,
    });
    const usage = poolUsage(cluster.nodes);
    // Capacity by instance type name (a type's capacity is the same in every NodePool).
    const capacities = new Map<string, Vector>();
    for (const t of Object.values(this.types).flat())
      if (!capacities.has(t.name)) capacities.set(t.name, t.capacity as Vector);
    const made: PlannedNodeClaim[] = [];
    for (const [i, claim] of claims.entries()) {
      const manifest = manifests[i] as {
        metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
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
      const pool = cluster.nodePools.find((p) => p.name === claim.nodePool) as NodePool;
      const worst = worstCapacity(claim, capacities);
      const over = exceedsLimits(pool, usage.get(pool.name) ?? {}, worst);
      if (over !== undefined) {
        o.log(`not creating ${claim.name}: NodePool ${pool.name} limit on ${over} would be exceeded`);
        continue;
      }
      const result = await o.writer.createNodeClaim(manifest as Record<string, unknown>);
      if (result === "created") {
        o.metrics.claimsCreated.inc({ nodePool: claim.nodePool });
        this.unseen.set(claim.name, o.now());
      }
      usage.set(pool.name, addVector(usage.get(pool.name) ?? {}, worst));
      made.push(claim);
    }
    return made;
  }

  private async launchAll(claims: readonly PlannedNodeClaim[], cluster: ClusterState): Promise<void> {
    for (const claim of claims) {
      if (this.launching.has(claim.name)) continue;
      this.launching.add(claim.name);
      try {
        await this.launch(claim, cluster, this.types);
      } finally {
        this.launching.delete(claim.name);
      }
    }
  }

  private async ourUnlaunchedClaims(
    cluster: ClusterState,
    created: Map<string, PlannedNodeClaim>,
  ): Promise<PlannedNodeClaim[]> {
    const out: PlannedNodeClaim[] = [...created.values()];
    for (const node of cluster.nodes) {
      if (!node.inFlight || node.providerID !== undefined || created.has(node.name)) continue;
      if (node.labels[OWNER_LABEL] !== this.o.owner || node.deleting) continue;
      const text = node.annotations[PLANNED_CLAIM_ANNOTATION];
      const parsed = text === undefined ? undefined : PlannedNodeClaimSchema.safeParse(JSON.parse(text));
      if (parsed?.success) out.push({ ...parsed.data, name: node.name });
    }
    return out;
  }

  private async launch(
    claim: PlannedNodeClaim,
    cluster: ClusterState,
    types: Record<string, InstanceType[]>,
  ) {
    const { o } = this;
    const launcher = o.launcher as Launcher;
    const pool = cluster.nodePools.find((p) => p.name === claim.nodePool);
    if (pool === undefined) return;
    const nodeClass = this.nodeClassOf(cluster, pool);
    if (cluster.nodes.some((n) => n.name === claim.name && n.providerID !== undefined)) return;
    // The cache can lag behind this process's own writes: read the claim live before launching.
    const live = await o.writer.readNodeClaim(claim.name);
    if (live === undefined || (live.status as { providerID?: string } | undefined)?.providerID !== undefined)
      return;
    let launched: Awaited<ReturnType<Launcher["create"]>>;
    try {
      const uid = (live.metadata as { uid?: string } | undefined)?.uid;
      launched = await guarded(o, () =>
        launcher.create(uid === undefined ? claim : { ...claim, uid }, pool, nodeClass),
      );
    } catch (err) {
      if (err instanceof NotLeaderError) throw err;
      o.log(`launch of ${claim.name} failed: ${describe(err)}; deleting the claim and solving again`);
      await o.writer.event(
        { apiVersion: "karpenter.sh/v1", kind: "NodeClaim", name: claim.name },
        "NodeplanLaunchFailed",
        describe(err),
        "Warning",
      );
      await o.writer.deleteNodeClaim(claim.name);
      this.unseen.delete(claim.name);
      o.retrigger();
      return;
    }
    const it = (types[claim.nodePool] ?? []).find((t) => t.name === launched.instanceType);
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
    );
  }

  /**
   * Wave 1 of the disruption plan, one wave at a time: while a node of ours is still being disrupted
   * (it carries the disrupted taint), no new command starts, so budgets are never exceeded. As
   * Karpenter does: candidates are tainted, replacements created and launched; once every
   * replacement has a Ready (or Initialized) Node the candidates are drained; a replacement that vanished (launch
   * failed) aborts the command and the taint is removed.
   */
  private async disrupt(solved: Solved, nodePoolUids: Record<string, string>): Promise<void> {
    const { o } = this;
    const { cluster, disruption } = solved;
    const tainted = cluster.nodes.filter(
      (n) => !n.inFlight && n.taints.some((t) => t.key === DISRUPTED_TAINT.key),
    );
    for (const node of tainted) {
      const replacements = (node.annotations[REPLACEMENTS_ANNOTATION] ?? "")
        .split(",")
        .filter((r) => r !== "");
      const found = replacements.map((r) => cluster.nodes.find((n) => n.nodeClaim === r || n.name === r));
      if (found.some((n) => n === undefined)) {
        o.log(`replacement of ${node.name} is gone; aborting its disruption`);
        await o.writer.untaintNode(node.name, DISRUPTED_TAINT.key, REPLACEMENTS_ANNOTATION);
      } else if (found.every((n) => n !== undefined && !n.inFlight && (n.initialized || n.ready)))
        this.drain(node);
    }
    if (tainted.length > 0 || disruption === undefined) return;
    for (const command of disruption.commands.filter((c) => c.wave === 1)) {
      const candidates = command.candidates
        .map((name) => cluster.nodes.find((n) => n.name === name))
        .filter((n): n is Node => n !== undefined && !n.inFlight);
      if (candidates.length === 0) continue;
      const replacements = renameClaims({ ...emptyPlan, nodeClaims: command.replacements }).nodeClaims;
      // Taint first (nothing new schedules onto the candidates), naming the replacements on the node,
      // so a later leader knows what this disruption waits for.
      const names = replacements.map((c) => c.name).join(",");
      const marked: Node[] = [];
      for (const node of candidates) {
        if (await o.writer.taintNode(node.name, DISRUPTED_TAINT, { [REPLACEMENTS_ANNOTATION]: names }))
          marked.push(node);
      }
      if (replacements.length === 0) {
        for (const node of marked) this.drain(node);
        continue;
      }
      const made = await this.createClaims(replacements, cluster, nodePoolUids);
      if (made.length < replacements.length) {
        for (const node of marked)
          await o.writer.untaintNode(node.name, DISRUPTED_TAINT.key, REPLACEMENTS_ANNOTATION);
        continue;
      }
      await this.launchAll(made, cluster);
    }
  }

  /** Evicts the node's pods (429 -> retry with backoff), then deletes the NodeClaim, the instance, the Node. */
  private drain(node: Node): void {
    const id = `${node.name}@${node.createdAt}`;
    if (this.draining.has(node.name) || this.drained.has(id)) return;
    const { o } = this;
    const base = o.evictionBackoffMs ?? 1000;
    const max = o.maxEvictionBackoffMs ?? 30_000;
    const run = async () => {
      let blockedRounds = 0;
      while (!this.stopped) {
        const pods = o.podsOn(node.name).filter(evictable);
        if (pods.length === 0) break;
        let blocked = 0;
        for (const pod of pods) {
          const result = await o.writer.evict(pod.metadata.namespace ?? "default", pod.metadata.name);
          o.metrics.evictions.inc({ result });
          if (result === "blocked") blocked += 1;
        }
        if (blocked === 0) blockedRounds = 0;
        else blockedRounds += 1;
        await sleep(blocked === 0 ? Math.min(base, 50) : Math.min(base * 2 ** (blockedRounds - 1), max));
      }
      if (this.stopped) return;
      const launcher = o.launcher as Launcher;
      if (node.providerID !== undefined)
        await guarded(o, () =>
          launcher.delete({
            name: node.nodeClaim ?? node.name,
            providerID: node.providerID as string,
            labels: node.labels,
          }),
        );
      if (node.nodeClaim !== undefined) await o.writer.deleteNodeClaim(node.nodeClaim);
      await o.writer.deleteNode(node.name);
      this.drained.add(id);
      o.log(`disrupted ${node.name}`);
      o.retrigger();
    };
    const done = run()
      .catch((err: unknown) => o.log(`drain of ${node.name} stopped: ${describe(err)}`))
      .finally(() => this.draining.delete(node.name));
    this.draining.set(node.name, done);
  }
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

/** Launcher calls are writes too: the same Lease check guards them. */
async function guarded<T>(o: ReconcilerOptions, call: () => Promise<T>): Promise<T> {
  await o.writer.assertCanWrite();
  return call();
}

/** Pods an eviction would move: not DaemonSet or mirror pods, not finished. */
function evictable(pod: KubeObject): boolean {
  const meta = pod.metadata as {
    ownerReferences?: { kind: string; controller?: boolean }[];
    annotations?: Record<string, string>;
  };
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  if (meta.annotations?.["kubernetes.io/config.mirror"] !== undefined) return false;
  return !(meta.ownerReferences ?? []).some((r) => r.kind === "DaemonSet" && r.controller === true);
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

type Vector = Record<string, number>;
const addVector = (a: Vector, b: Vector): Vector => {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
};

/** Capacity of every node and in-flight claim of each NodePool (what its limits count). */
function poolUsage(nodes: readonly Node[]): Map<string, Vector> {
  const usage = new Map<string, Vector>();
  for (const n of nodes) {
    if (n.nodePool === undefined) continue;
    usage.set(n.nodePool, addVector(usage.get(n.nodePool) ?? {}, n.capacity as Vector));
  }
  return usage;
}

/** The most a claim can add: per resource, the largest capacity among its instance type options. */
function worstCapacity(claim: PlannedNodeClaim, capacities: ReadonlyMap<string, Vector>): Vector {
  const out: Vector = {};
  for (const name of claim.instanceTypeOptions)
    for (const [k, v] of Object.entries(capacities.get(name) ?? {})) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}

/** The first limited resource the claim would push over the NodePool's limit, if any. */
function exceedsLimits(pool: NodePool, used: Vector, add: Vector): string | undefined {
  for (const [k, limit] of Object.entries(pool.limits as Vector)) {
    if ((used[k] ?? 0) + (add[k] ?? 0) > limit) return k;
  }
  return undefined;
}

/** The status ConfigMap's data: the plan, the disruption plan and a summary a person can read. */
function statusData(
  plan: Plan,
  disruption: DisruptionPlan | undefined,
  mode: string,
): Record<string, string> {
  const lines = [
    `mode: ${mode}`,
    `pending pods placed on existing or in-flight nodes: ${plan.placements.filter((p) => !plan.nodeClaims.some((c) => c.name === p.node)).length}`,
    `new NodeClaims: ${plan.nodeClaims.length} for ${plan.nodeClaims.reduce((s, c) => s + c.pods.length, 0)} pod(s)`,
    `unschedulable pods: ${plan.unschedulable.length}`,
    `cost now: ${money(plan.cost.currentPerHour)}; planned: ${money(plan.cost.plannedPerHour)}; lower bound on new capacity: ${money(plan.cost.lowerBoundPerHour)}`,
  ];
  if (disruption !== undefined) {
    const savings = disruption.commands.reduce((s, c) => s + c.savingsPerHour, 0);
    lines.push(
      `disruption commands (wave 1): ${disruption.commands.length}, saving ${money(savings)}; cost after: ${money(disruption.cost.afterPerHour)}`,
      ...disruption.kept.slice(0, 50).map((k) => `kept ${k.node}: ${renderKept(k.reason)}`),
    );
  }
  return {
    summary: `${lines.join("\n")}\n`,
    "plan.json": JSON.stringify({
      nodeClaims: plan.nodeClaims.map(({ requirements: _r, instanceTypeOptions, ...c }) => ({
        ...c,
        instanceTypeOptions: instanceTypeOptions.slice(0, 10),
      })),
      unschedulable: plan.unschedulable,
      cost: plan.cost,
      lowerBound: { method: plan.lowerBound.method },
      warnings: plan.warnings,
    }),
    ...(disruption === undefined
      ? {}
      : {
          "disruption.json": JSON.stringify({
            commands: disruption.commands.map(({ replacements, ...c }) => ({
              ...c,
              replacements: replacements.map((r) => r.instanceType),
            })),
            kept: disruption.kept.map((k) => ({ node: k.node, code: k.reason.code, message: k.message })),
            cost: disruption.cost,
          }),
        }),
  };
}
