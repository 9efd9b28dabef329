import {
  type Action,
  type CommandInProgress,
  type ControllerMemory,
  type Costs,
  constraintsOf,
  costsOfNode,
  type DaemonSet,
  type Decision,
  type DecisionPod,
  type DecisionState,
  type DriftDetector,
  deepFreeze,
  type InstanceType,
  type InterruptionEvent,
  initialMemory,
  type LaunchFailure,
  matchesLabelSelector,
  type Node,
  type NodePool,
  nodeAccepts,
  offeringCosts,
  type PlannedNodeClaim,
  type Pod,
  type PodDisruptionBudget,
  PodSchema,
  podKey,
  type Solver,
  type Strategy,
  type UnavailableOffering,
  validateDisruption,
  ZERO_COSTS,
} from "@nodeplan/core";
import { HPA_SYNC_SECONDS, Hpa, LoadCurve } from "./autoscaling.ts";
import {
  addInto,
  claimLabels,
  fitsIn,
  nodeModel,
  nonZeroRequests,
  podModel,
  type SimNode,
  type SimPod,
} from "./cluster.ts";
import { desiredHealthy, evictionRefusal, type PdbCounts } from "./eviction.ts";
import type { LoadedCluster, WorkloadSpec, Workloads } from "./load.ts";
import { EventQueue } from "./queue.ts";
import { Recorder } from "./recorder.ts";
import type { StrategyResult } from "./result.ts";
import { draw, hash32, Rng } from "./rng.ts";
import { type CapacityWindow, distribution, millis, type Scenario } from "./scenario.ts";
import { KubeScheduler, type SchedulerView, SelectorIndex } from "./scheduler.ts";
import { type App, type Revision, reconcileDeployment, reconcileStatefulSet } from "./workloads.ts";

/** A run that broke an invariant: the simulation failed. */
export class SimulationFailure extends Error {
  readonly invariant: string;
  readonly atSeconds: number;
  constructor(invariant: string, atSeconds: number, message: string) {
    super(`invariant ${invariant} broken at t=${atSeconds}s: ${message}`);
    this.name = "SimulationFailure";
    this.invariant = invariant;
    this.atSeconds = atSeconds;
  }
}

/** What one strategy's run needs. */
export interface RunInput {
  scenario: Scenario;
  loaded: LoadedCluster;
  workloads: Workloads;
  solver: Solver;
  strategy: Strategy;
  /** Called as simulated time passes: the fraction done (0..1). */
  onProgress?: (fraction: number) => void;
  /**
   * Called after every pass of the decision step (seconds from the start, what it decided, what it saw).
   * `state.pods` is refilled two passes later: copy it to keep it.
   */
  onDecision?: (t: number, decision: Decision, state: DecisionState) => void;
}

/** The label-free identity of an offering the scenario makes unavailable. */
interface Offer {
  instanceType: string;
  zone: string;
  capacityType: string;
  pricePerHour: number;
  /** The offering's split of its price (the provider's per-node costs folded in). */
  costs: Costs;
}

const IMAGE_ANNOTATION = "nodeplan.dev/image";
/** EC2 CreateFleet is given at most this many instance types (CONTRACTS.md: the AWS launch path). */
const LAUNCH_OPTIONS = 60;
const CAPACITY_PREFERENCE = ["reserved", "spot", "on-demand"] as const;

/** Runs one strategy over the scenario: the simulated cluster, driven by core's decision step. */
export function runStrategy(input: RunInput): StrategyResult {
  const sim = new Simulation(input);
  sim.run();
  return sim.result();
}

class Simulation {
  private readonly input: RunInput;
  private readonly s: Scenario["spec"];
  private readonly startMs: number;
  private readonly endMs: number;
  private now: number;
  private readonly seed: number;
  private readonly queue = new EventQueue<() => void>();
  private readonly recorder: Recorder;
  private readonly pools: NodePool[];
  private readonly poolByName: Map<string, NodePool>;
  private readonly instanceTypes: Record<string, InstanceType[]>;
  private readonly typeByName = new Map<string, InstanceType>();
  private readonly daemonSets: DaemonSet[];
  private readonly pdbs: PodDisruptionBudget[];
  private readonly namespaces: Map<string, Record<string, string>>;
  private readonly nodes = new Map<string, SimNode>();
  private readonly pods = new Map<number, SimPod>();
  /** The pods each PDB selects (PDBs and a pod's labels do not change): its status counts these only. */
  private readonly pdbMembers = new Map<PodDisruptionBudget, Set<SimPod>>();
  private readonly podByKey = new Map<string, SimPod>();
  private readonly pendingPods = new Set<SimPod>();
  private readonly withAffinity = new Set<SimPod>();
  private readonly apps = new Map<string, App>();
  private readonly specs = new Map<string, WorkloadSpec>();
  private readonly readyCount = new Map<App, number>();
  private readonly hpas = new Map<App, Hpa>();
  private readonly loads = new Map<App, LoadCurve>();
  private readonly git = new Map<
    App,
    {
      replicas: number | undefined;
      revision: Revision;
      raw: Record<string, unknown>;
      pending: boolean;
      selfHeal: boolean;
      replicasInGit: boolean;
    }
  >();
  private readonly dirtyApps = new Set<App>();
  private readonly index = new SelectorIndex();
  private readonly scheduler: KubeScheduler;
  private readonly images = new Map<string, string>();
  private defaultImage: string;
  private readyList: SimNode[] | undefined;
  private scheduleDirty = false;
  private capacityVersion = 0;
  private podSeq = 0;
  private changedAtMs: number;
  private memory: ControllerMemory = initialMemory();
  private unavailable: UnavailableOffering[] = [];
  private interruptions: InterruptionEvent[] = [];
  private nextDecideMs = Number.POSITIVE_INFINITY;
  private lastDecideMs = Number.NEGATIVE_INFINITY;
  private decidesThisInstant = 0;
  private readonly started = new Set<string>();
  private readonly capacity: CapacityWindow[];
  private readonly drift: DriftDetector;
  private lastProgress = -1;

  constructor(input: RunInput) {
    this.input = input;
    this.s = input.scenario.spec;
    this.startMs = Date.parse(this.s.start);
    this.endMs = this.startMs + millis(this.s.duration);
    this.now = this.startMs;
    this.changedAtMs = this.startMs;
    this.seed = this.s.seed;
    this.recorder = new Recorder(this.startMs);
    this.scheduler = new KubeScheduler(new Rng(this.seed, "kube-scheduler"));
    const cluster = input.loaded.cluster;
    this.pools = deepFreeze(cluster.nodePools);
    this.poolByName = new Map(this.pools.map((p) => [p.name, p]));
    this.instanceTypes = deepFreeze(input.loaded.instanceTypes);
    for (const types of Object.values(this.instanceTypes))
      for (const t of types) if (!this.typeByName.has(t.name)) this.typeByName.set(t.name, t);
    this.daemonSets = deepFreeze(cluster.daemonSets);
    this.pdbs = deepFreeze(cluster.podDisruptionBudgets);
    for (const pdb of this.pdbs) this.pdbMembers.set(pdb, new Set());
    this.namespaces = new Map(cluster.namespaces.map((n) => [n.name, n.labels]));
    this.capacity = this.s.settings.capacity;
    this.defaultImage = this.s.settings.nodes.image;
    const images = this.images;
    const initial = this.s.settings.nodes.image;
    this.drift = {
      isDrifted(node: Node, pool: NodePool) {
        const cls = pool.template.nodeClassRef?.name ?? "";
        const want = images.get(cls) ?? images.get("*") ?? initial;
        const have = node.annotations[IMAGE_ANNOTATION];
        return have !== undefined && have !== want
          ? {
              code: "AMIDrift",
              message: `node runs ${have}, its node class ${cls || "(none)"} now resolves to ${want}`,
            }
          : undefined;
      },
    };
  }

  // ---------------------------------------------------------------- the loop

  run(): void {
    this.init();
    while (this.queue.peekTime() <= this.endMs) {
      const t = this.queue.peekTime();
      this.recorder.advance(t);
      this.now = t;
      this.decidesThisInstant = 0;
      while (this.queue.peekTime() === t) (this.queue.pop() as () => void)();
      this.settle();
      this.progress();
    }
    this.now = this.endMs;
    this.recorder.advance(this.endMs);
  }

  private at(ms: number, fn: () => void): void {
    if (ms <= this.endMs) this.queue.push(Math.max(ms, this.now), fn);
  }

  private progress(): void {
    const cb = this.input.onProgress;
    if (cb === undefined) return;
    const f = Math.floor(((this.now - this.startMs) / (this.endMs - this.startMs)) * 100);
    if (f > this.lastProgress) {
      this.lastProgress = f;
      cb(f / 100);
    }
  }

  /** Controllers, kube-scheduler and the decision step until nothing more happens at this instant. */
  private settle(): void {
    for (let round = 0; round < 100; round++) {
      let progressed = false;
      if (this.dirtyApps.size > 0) {
        this.reconcileApps();
        progressed = true;
      }
      if (this.scheduleDirty) {
        this.runScheduler();
        progressed = true;
      }
      if (this.now >= this.nextDecideMs) {
        this.runDecide();
        progressed = true;
      }
      if (!progressed) break;
    }
    for (const app of this.apps.values())
      this.recorder.appBelow(app.key, (this.readyCount.get(app) ?? 0) < app.replicas);
  }

  // ---------------------------------------------------------------- setup

  private init(): void {
    const { cluster } = this.input.loaded;
    const start = this.startMs;
    for (const n of cluster.nodes) {
      const node: SimNode = {
        name: n.name,
        nodePool: n.nodePool,
        instanceType: n.instanceType ?? "unknown",
        zone: n.zone ?? n.labels["topology.kubernetes.io/zone"] ?? "unknown",
        capacityType: n.capacityType ?? "on-demand",
        pricePerHour: n.pricePerHour ?? 0,
        costs: costsOfNode(n, this.typeByName, n.pricePerHour ?? 0),
        labels: { ...n.labels },
        annotations: { ...n.annotations, [IMAGE_ANNOTATION]: this.defaultImage },
        taints: [...n.taints],
        capacity: { ...n.capacity },
        allocatable: { ...n.allocatable },
        requested: {},
        nonZero: { cpuMillis: 0, memoryBytes: 0 },
        providerID: n.providerID ?? `sim:///${n.name}`,
        image: this.defaultImage,
        state: n.inFlight ? "booting" : n.ready ? "ready" : "registered",
        claim: undefined,
        createdMs: Date.parse(n.createdAt),
        billedSinceMs: start,
        unschedulable: n.unschedulable,
        pods: new Set(),
        lastPodEventMs: Date.parse(n.lastPodEventAt ?? n.createdAt),
        expireAfter: n.expireAfter,
        launchFailure: undefined,
        interruptionDeadlineMs: undefined,
        version: 0,
        model: undefined,
        order: 0,
      };
      this.nodes.set(node.name, node);
      this.recorder.billStart(node, start);
      if (node.state === "booting")
        this.at(start + this.drawSeconds(this.s.settings.nodes.bootSeconds, node.name, "boot") * 1000, () =>
          this.register(node),
        );
      else if (node.state === "registered")
        this.at(start + this.drawSeconds(this.s.settings.nodes.readySeconds, node.name, "ready") * 1000, () =>
          this.nodeReady(node),
        );
      if (node.capacityType === "spot") this.scheduleSpot(node);
    }

    for (const spec of this.input.workloads.workloads) {
      const revision: Revision = { hash: spec.revision, template: spec.template };
      const app: App = {
        kind: spec.kind,
        namespace: spec.namespace,
        name: spec.name,
        key: spec.key,
        selector: spec.selector,
        replicas: spec.replicas,
        current: revision,
        revisions: new Map([[revision.hash, revision]]),
        strategy: spec.strategy,
        podManagementPolicy: spec.podManagementPolicy,
        partition: spec.partition,
        minReadySeconds: spec.minReadySeconds,
        terminationGraceSeconds: spec.terminationGraceSeconds,
        timing: this.timing(spec.key),
        pods: new Set(),
        nextIndex: 0,
        raw: spec.raw,
      };
      this.apps.set(app.key, app);
      this.specs.set(app.key, spec);
      this.readyCount.set(app, 0);
    }

    // Pods of the manifests: bound ones run where they are, pending ones wait for kube-scheduler.
    const owners = this.input.workloads.owners;
    for (const p of cluster.pods) {
      const node = p.nodeName === undefined ? undefined : this.nodes.get(p.nodeName);
      if (p.daemonSet) {
        if (node === undefined) continue;
        const pod = this.newPod(p, undefined, undefined, p.owner?.name ?? "daemonset");
        pod.createdMs = Date.parse(p.creationTimestamp);
        this.bind(pod, node, { initial: true, running: true });
        continue;
      }
      if (p.phase === "Succeeded" || p.phase === "Failed") continue;
      const app = this.apps.get(owners.get(podKey(p)) ?? "");
      const pod = this.newPod(p, app, app?.current, undefined);
      pod.createdMs = Math.min(Date.parse(p.creationTimestamp), start);
      if (app !== undefined && app.kind === "StatefulSet") {
        const m = /-(\d+)$/.exec(p.name);
        pod.ordinal = m === null ? undefined : Number(m[1]);
      }
      if (node !== undefined) this.bind(pod, node, { initial: true, running: p.phase === "Running" });
    }
    for (const node of this.nodes.values()) if (node.state === "ready") this.daemonPods(node);
    for (const app of this.apps.values()) this.dirtyApps.add(app);

    // HPAs, load curves, GitOps.
    for (const h of this.input.workloads.hpas) {
      const app = this.apps.get(`${h.namespace}/${h.target.name}`);
      if (app === undefined || app.kind !== h.target.kind) continue;
      this.hpas.set(app, new Hpa(h));
    }
    for (const a of this.s.apps) {
      const app = this.apps.get(a.app);
      if (app === undefined)
        throw new Error(`spec.apps: ${a.app} is not a Deployment or StatefulSet of the manifests`);
      if (a.load !== undefined)
        this.loads.set(
          app,
          new LoadCurve(
            a.load.points.map((p) => ({ atMs: millis(p.at), cores: p.cores })),
            a.load.repeat === undefined ? undefined : millis(a.load.repeat),
            a.load.noise,
          ),
        );
      if (a.gitops !== undefined) {
        const g = a.gitops;
        this.git.set(app, {
          replicas: g.replicasInGit ? app.replicas : undefined,
          revision: app.current,
          raw: app.raw,
          pending: false,
          selfHeal: g.selfHeal,
          replicasInGit: g.replicasInGit,
        });
        const every = millis(g.syncInterval);
        // ArgoCD's refreshes are jittered in practice; here each app starts at its own offset.
        const offset = (hash32(`${this.seed}/${app.key}/argocd`) % Math.max(1, every / 1000)) * 1000;
        const tick = (ms: number) => {
          this.at(ms, () => {
            this.argoSync(app);
            tick(ms + every);
          });
        };
        tick(start + offset);
      }
    }
    for (const [app, hpa] of this.hpas) {
      const offset = (hash32(`${this.seed}/${app.key}/hpa`) % HPA_SYNC_SECONDS) * 1000;
      const tick = (ms: number) => {
        this.at(ms, () => {
          this.hpaSync(app, hpa);
          tick(ms + HPA_SYNC_SECONDS * 1000);
        });
      };
      tick(start + offset + 1000);
    }

    // The timeline.
    for (const [i, e] of this.s.timeline.entries())
      this.at(start + millis(e.at), () => this.timelineEvent(i, e));
    // The series.
    const sample = millis(this.s.settings.sampleInterval);
    for (let t = start; t <= this.endMs; t += sample) this.at(t, () => this.sample());
    if ((this.endMs - start) % sample !== 0) this.at(this.endMs, () => this.sample());
    this.requestDecide(start);
    this.scheduleDirty = true;
  }

  private timing(app: string): App["timing"] {
    const a = this.s.apps.find((x) => x.app === app);
    const p = this.s.settings.pods;
    return {
      start: distribution(a?.startSeconds ?? p.startSeconds),
      ready: distribution(a?.readySeconds ?? p.readySeconds),
      shutdown: distribution(a?.shutdownSeconds ?? p.shutdownSeconds),
    };
  }

  /** A draw from a distribution on the stream named for `name` and `what` (same name, same draw). */
  private drawSeconds(spec: Parameters<typeof distribution>[0], name: string, what: string): number {
    return draw(distribution(spec), new Rng(this.seed, `${what}/${name}`));
  }

  // ---------------------------------------------------------------- nodes

  private launch(claim: PlannedNodeClaim): void {
    const pool = this.poolByName.get(claim.nodePool);
    const it = this.typeByName.get(claim.instanceType);
    const node: SimNode = {
      name: claim.name,
      nodePool: claim.nodePool,
      instanceType: claim.instanceType,
      zone: claim.zone,
      capacityType: claim.capacityType,
      pricePerHour: claim.pricePerHour,
      costs: { ...ZERO_COSTS, instancePerHour: claim.pricePerHour },
      labels: {},
      annotations: {},
      taints: [...(pool?.template.taints ?? [])],
      capacity: { ...(it?.capacity ?? {}) },
      allocatable: { ...(it?.allocatable ?? {}) },
      requested: {},
      nonZero: { cpuMillis: 0, memoryBytes: 0 },
      providerID: "",
      image: this.imageFor(pool),
      state: "launching",
      claim,
      createdMs: this.now,
      billedSinceMs: undefined,
      unschedulable: false,
      pods: new Set(),
      lastPodEventMs: this.now,
      expireAfter: pool?.template.expireAfter,
      launchFailure: undefined,
      interruptionDeadlineMs: undefined,
      version: 0,
      model: undefined,
      order: 0,
    };
    this.nodes.set(node.name, node);
    this.recorder.launches++;
    this.changed(false);
    const after = this.drawSeconds(this.s.settings.nodes.launchSeconds, node.name, "launch") * 1000;
    this.at(this.now + after, () => this.launched(node));
  }

  private imageFor(pool: NodePool | undefined): string {
    const cls = pool?.template.nodeClassRef?.name ?? "";
    return this.images.get(cls) ?? this.images.get("*") ?? this.defaultImage;
  }

  /** The launch call returns: the cheapest available option (CreateFleet's lowest price), or a failure. */
  private launched(node: SimNode): void {
    if (this.nodes.get(node.name) !== node || node.state !== "launching") return;
    const claim = node.claim as PlannedNodeClaim;
    const zones = requirementValues(claim, "topology.kubernetes.io/zone") ?? [claim.zone];
    const types = requirementValues(claim, "karpenter.sh/capacity-type") ?? [claim.capacityType];
    const options = claim.instanceTypeOptions.slice(0, LAUNCH_OPTIONS);
    const pool = claim.nodePool;
    const catalog = new Map((this.instanceTypes[pool] ?? []).map((t) => [t.name, t]));
    const unavailable: { instanceType: string; zone: string; capacityType: string }[] = [];
    let chosen: Offer | undefined;
    const iceNow = this.iceCache();
    for (const ct of CAPACITY_PREFERENCE) {
      if (!types.includes(ct)) continue;
      const offers: Offer[] = [];
      for (const name of options) {
        const it = catalog.get(name);
        if (it === undefined) continue;
        for (const o of it.offerings) {
          if (o.capacityType !== ct || !zones.includes(o.zone) || !o.available) continue;
          const offer = {
            instanceType: name,
            zone: o.zone,
            capacityType: ct,
            pricePerHour: o.pricePerHour,
            costs: offeringCosts(o),
          };
          if (iceNow.has(`${name}/${o.zone}/${ct}`)) continue;
          if (this.noCapacity(offer))
            unavailable.push({ instanceType: name, zone: o.zone, capacityType: ct });
          else offers.push(offer);
        }
      }
      offers.sort(
        (a, b) =>
          a.pricePerHour - b.pricePerHour ||
          (a.instanceType < b.instanceType ? -1 : a.instanceType > b.instanceType ? 1 : 0) ||
          (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0),
      );
      if (offers.length > 0) {
        chosen = offers[0];
        break;
      }
    }
    const rate = this.s.settings.nodes.launchFailureRate;
    const providerError = rate > 0 && new Rng(this.seed, `launch-error/${node.name}`).next() < rate;
    if (chosen === undefined || providerError) {
      node.launchFailure = providerError
        ? {
            code: "LaunchFailed",
            message: "the provider refused the launch",
            unavailable: [],
            atMs: this.now,
          }
        : {
            code: "InsufficientInstanceCapacity",
            message: `no capacity for any of ${options.length} instance type option(s) in ${zones.join(", ")} (${types.join(", ")})`,
            unavailable,
            atMs: this.now,
          };
      this.recorder.failedLaunches++;
      this.recorder.event(this.now, "launch_failed", {
        node: node.name,
        code: node.launchFailure.code,
        nodePool: pool,
      });
      this.changed(true);
      return;
    }
    const it = catalog.get(chosen.instanceType) as InstanceType;
    const poolSpec = this.poolByName.get(pool);
    node.instanceType = chosen.instanceType;
    node.zone = chosen.zone;
    node.capacityType = chosen.capacityType as SimNode["capacityType"];
    node.pricePerHour = chosen.pricePerHour;
    node.costs = chosen.costs;
    node.capacity = { ...it.capacity };
    node.allocatable = { ...it.allocatable };
    node.labels = claimLabels(
      claim,
      it.labels,
      poolSpec?.template.labels ?? {},
      chosen.instanceType,
      chosen.zone,
      chosen.capacityType,
    );
    node.annotations = { [IMAGE_ANNOTATION]: node.image };
    for (const k of ["karpenter.sh/nodepool-hash", "karpenter.sh/nodepool-hash-version"]) {
      const v = poolSpec?.annotations[k];
      if (v !== undefined) node.annotations[k] = v;
    }
    node.providerID = `aws:///${chosen.zone}/i-${hash32(`${this.seed}/${node.name}`).toString(16).padStart(8, "0")}${hash32(node.name).toString(16).padStart(8, "0")}`;
    node.state = "booting";
    node.billedSinceMs = this.now;
    node.model = undefined;
    node.version++;
    this.recorder.billStart(node, this.now);
    this.recorder.event(this.now, "launch", {
      node: node.name,
      nodePool: pool,
      instanceType: chosen.instanceType,
      zone: chosen.zone,
      capacityType: chosen.capacityType,
      pricePerHour: chosen.pricePerHour,
    });
    this.checkLimits(pool);
    this.changed(false);
    this.at(this.now + this.drawSeconds(this.s.settings.nodes.bootSeconds, node.name, "boot") * 1000, () =>
      this.register(node),
    );
    if (node.capacityType === "spot") this.scheduleSpot(node);
  }

  /** The unavailable-offerings cache as it is now: the launch request leaves these offerings out. */
  private iceCache(): Set<string> {
    const out = new Set<string>();
    for (const u of this.unavailable)
      if (Date.parse(u.until) > this.now) out.add(`${u.instanceType}/${u.zone}/${u.capacityType}`);
    return out;
  }

  private noCapacity(o: Offer): boolean {
    const offset = this.now - this.startMs;
    return this.capacity.some(
      (w) =>
        (w.instanceType === undefined || w.instanceType === o.instanceType) &&
        (w.zone === undefined || w.zone === o.zone) &&
        (w.capacityType === undefined || w.capacityType === o.capacityType) &&
        offset >= millis(w.from) &&
        (w.until === undefined || offset < millis(w.until)),
    );
  }

  private register(node: SimNode): void {
    if (this.nodes.get(node.name) !== node || node.state !== "booting") return;
    node.state = "registered";
    node.model = undefined;
    this.changed(true);
    this.at(this.now + this.drawSeconds(this.s.settings.nodes.readySeconds, node.name, "ready") * 1000, () =>
      this.nodeReady(node),
    );
  }

  private nodeReady(node: SimNode): void {
    if (this.nodes.get(node.name) !== node || node.state !== "registered") return;
    node.state = "ready";
    node.model = undefined;
    node.version++;
    this.readyList = undefined;
    this.capacityVersion++;
    this.scheduleDirty = true;
    this.daemonPods(node);
    this.changed(true);
  }

  /** Deletes a NodeClaim: before its instance runs it just goes; otherwise its instance terminates. */
  private deleteNode(node: SimNode, force: boolean): void {
    if (this.nodes.get(node.name) !== node || node.state === "terminating") return;
    if (node.state === "launching" || node.state === "booting") {
      this.nodeGone(node);
      return;
    }
    node.state = "terminating";
    node.model = undefined;
    node.version++;
    this.readyList = undefined;
    for (const p of [...node.pods]) {
      if (p.daemonSet !== undefined) continue;
      if (force) this.killPod(p);
    }
    this.changed(true);
    this.at(
      this.now + this.drawSeconds(this.s.settings.nodes.terminationSeconds, node.name, "terminate") * 1000,
      () => this.nodeGone(node),
    );
  }

  /** The node's instance is gone: whatever still runs there dies with it. */
  private nodeGone(node: SimNode): void {
    if (this.nodes.get(node.name) !== node) return;
    for (const p of [...node.pods]) {
      if (p.state !== "terminating" && p.daemonSet === undefined) this.killPod(p);
      this.podGone(p);
    }
    this.recorder.billStop(node, this.now);
    this.nodes.delete(node.name);
    this.index.forget(node);
    this.readyList = undefined;
    this.interruptions = this.interruptions.filter((e) => e.instanceId !== instanceId(node));
    this.changed(true);
  }

  private scheduleSpot(node: SimNode): void {
    const rate = this.s.settings.spot.interruptionsPerHour;
    if (rate <= 0) return;
    const after = new Rng(this.seed, `spot/${node.name}`).exponential(3600 / rate) * 1000;
    this.at(this.now + after, () => this.spotNotice(node));
  }

  /** EC2's spot interruption warning: the instance goes at the deadline whatever happens. */
  private spotNotice(node: SimNode): void {
    if (this.nodes.get(node.name) !== node || node.interruptionDeadlineMs !== undefined) return;
    if (node.state === "launching") return;
    const deadline = this.now + this.s.settings.spot.noticeSeconds * 1000;
    node.interruptionDeadlineMs = deadline;
    this.interruptions.push({
      kind: "spot_interruption",
      instanceId: instanceId(node),
      time: iso(this.now),
      deadline: iso(deadline),
      id: `spot-${node.name}`,
    });
    this.recorder.event(this.now, "interruption", {
      node: node.name,
      deadlineSeconds: this.recorder.t(deadline),
    });
    this.changed(true);
    this.at(deadline, () => {
      if (this.nodes.get(node.name) !== node) return;
      this.recorder.event(this.now, "reclaimed", {
        node: node.name,
        pods: [...node.pods].filter((p) => p.daemonSet === undefined && p.state !== "gone").length,
      });
      this.nodeGone(node);
    });
  }

  /** NodePool limits hold on what runs (Karpenter counts every node's capacity). */
  private checkLimits(pool: string): void {
    const spec = this.poolByName.get(pool);
    if (spec === undefined) return;
    const limits = Object.entries(spec.limits);
    if (limits.length === 0) return;
    const used: Record<string, number> = {};
    let count = 0;
    for (const n of this.nodes.values()) {
      if (n.nodePool !== pool || n.state === "launching") continue;
      addInto(used, n.capacity);
      count++;
    }
    for (const [k, limit] of limits) {
      const v = k === "nodes" ? count : (used[k] ?? 0);
      if (v > limit) this.fail("nodepool_limit", `NodePool ${pool} uses ${v} ${k}, its limit is ${limit}`);
    }
  }

  private readyNodes(): SimNode[] {
    if (this.readyList !== undefined) return this.readyList;
    // kube-scheduler's node tree lists nodes zone by zone, round robin.
    const byZone = new Map<string, SimNode[]>();
    for (const n of this.nodes.values()) {
      if (n.state !== "ready") continue;
      const list = byZone.get(n.zone);
      if (list === undefined) byZone.set(n.zone, [n]);
      else list.push(n);
    }
    const zones = [...byZone.keys()].sort();
    const out: SimNode[] = [];
    for (let i = 0; ; i++) {
      let any = false;
      for (const z of zones) {
        const n = (byZone.get(z) as SimNode[])[i];
        if (n !== undefined) {
          out.push(n);
          any = true;
        }
      }
      if (!any) break;
    }
    this.readyList = out;
    return out;
  }

  // ---------------------------------------------------------------- pods

  private newPod(
    base: Pod,
    app: App | undefined,
    revision: Revision | undefined,
    daemonSet: string | undefined,
  ): SimPod {
    const pod: SimPod = {
      seq: this.podSeq++,
      key: podKey(base),
      namespace: base.namespace,
      name: base.name,
      app,
      revision: revision?.hash,
      ordinal: undefined,
      daemonSet,
      base,
      state: "pending",
      node: undefined,
      createdMs: this.now,
      pendingSinceMs: this.now,
      boundMs: undefined,
      readyMs: undefined,
      nominatedNode: undefined,
      evicted: false,
      model: undefined,
      failedAtVersion: -1,
    };
    this.pods.set(pod.seq, pod);
    this.podByKey.set(pod.key, pod);
    for (const [pdb, members] of this.pdbMembers)
      if (pdb.namespace === pod.namespace && matchesLabelSelector(pdb.selector, pod.base.labels))
        members.add(pod);
    if (daemonSet === undefined) this.pendingPods.add(pod);
    app?.pods.add(pod);
    return pod;
  }

  private labelsCache = new WeakMap<Revision, Record<string, string>>();

  /** A new pod of `app` from `revision` (a ReplicaSet's or StatefulSet's), pending. */
  private createPod(app: App, revision: Revision, ordinal: number | undefined): SimPod {
    let labels = this.labelsCache.get(revision);
    if (labels === undefined) {
      labels = {
        ...revision.template.labels,
        [app.kind === "StatefulSet" ? "controller-revision-hash" : "pod-template-hash"]: revision.hash,
      };
      this.labelsCache.set(revision, labels);
    }
    const name =
      app.kind === "StatefulSet"
        ? `${app.name}-${ordinal}`
        : `${app.name}-${revision.hash.slice(0, 10)}-${(app.nextIndex++).toString(36).padStart(5, "0")}`;
    // Left out, not deleted: a deleted property turns the object into a slow dictionary for every read.
    const { nodeName: _nodeName, startTime: _startTime, ...template } = revision.template;
    const base: Pod = {
      ...template,
      name,
      uid: `sim-${this.podSeq}`,
      labels,
      creationTimestamp: iso(this.now),
      phase: "Pending",
      provisionable: true,
      terminating: false,
    };
    const pod = this.newPod(base, app, revision, undefined);
    pod.ordinal = ordinal;
    this.recorder.podsCreated++;
    this.scheduleDirty = true;
    this.changed(true);
    return pod;
  }

  /** Binds a pod (kube-scheduler's bind, or a pod of the manifests already running). */
  private bind(pod: SimPod, node: SimNode, opts: { initial?: boolean; running?: boolean } = {}): void {
    const running = opts.running === true;
    pod.node = node;
    node.pods.add(pod);
    addInto(node.requested, pod.base.requests);
    const nz = nonZeroRequests(pod.base);
    node.nonZero.cpuMillis += nz.cpuMillis;
    node.nonZero.memoryBytes += nz.memoryBytes;
    if (!withinAllocatable(node))
      this.fail(
        "fit",
        `${pod.key} bound to ${node.name}: requests ${JSON.stringify(node.requested)} exceed allocatable ${JSON.stringify(node.allocatable)}`,
      );
    this.pendingPods.delete(pod);
    pod.boundMs = this.now;
    pod.model = undefined;
    if (pod.daemonSet === undefined) {
      node.lastPodEventMs = this.now;
      node.model = undefined;
      if (opts.initial !== true)
        this.recorder.pending((this.now - Math.max(pod.pendingSinceMs, this.startMs)) / 1000);
    }
    if (running) {
      pod.state = "ready";
      pod.readyMs = this.now;
      if (pod.app !== undefined) this.readyCount.set(pod.app, (this.readyCount.get(pod.app) ?? 0) + 1);
    } else {
      pod.state = "starting";
      const startIn =
        pod.app === undefined
          ? 1
          : draw(pod.app.timing.start, new Rng(this.seed, `start/${pod.key}/${pod.seq}`));
      this.at(this.now + startIn * 1000, () => this.podStarted(pod));
    }
    this.index.update(pod, node, 1);
    if (hasAffinity(pod.base)) this.withAffinity.add(pod);
    this.changed(false);
  }

  private podStarted(pod: SimPod): void {
    if (pod.state !== "starting") return;
    pod.state = "running";
    const readyIn =
      pod.app === undefined
        ? 1
        : draw(pod.app.timing.ready, new Rng(this.seed, `ready/${pod.key}/${pod.seq}`));
    this.at(this.now + readyIn * 1000, () => this.podReady(pod));
  }

  private podReady(pod: SimPod): void {
    if (pod.state !== "running") return;
    pod.state = "ready";
    pod.readyMs = this.now;
    pod.model = undefined;
    if (pod.app !== undefined) {
      this.readyCount.set(pod.app, (this.readyCount.get(pod.app) ?? 0) + 1);
      this.dirtyApps.add(pod.app);
      const app = pod.app;
      if (app.minReadySeconds > 0)
        this.at(this.now + app.minReadySeconds * 1000, () => this.dirtyApps.add(app));
    }
    // Readiness is not a change Karpenter's cluster state reacts to (binding is): no decide trigger.
  }

  /** Graceful termination: the pod stops counting at once and is gone after its shutdown. */
  private terminatePod(pod: SimPod): void {
    if (pod.state === "terminating" || pod.state === "gone") return;
    if (pod.node === undefined) {
      this.podGone(pod);
      return;
    }
    this.leaveReady(pod);
    pod.state = "terminating";
    pod.model = undefined;
    this.index.update(pod, pod.node, -1);
    this.withAffinity.delete(pod);
    if (pod.app !== undefined) this.dirtyApps.add(pod.app);
    const app = pod.app;
    const shutdown =
      app === undefined
        ? 1
        : Math.min(
            app.terminationGraceSeconds,
            draw(app.timing.shutdown, new Rng(this.seed, `stop/${pod.key}/${pod.seq}`)),
          );
    this.changed(false);
    this.at(this.now + shutdown * 1000, () => this.podGone(pod));
  }

  /** Killed without a graceful termination (its node went). */
  private killPod(pod: SimPod): void {
    if (pod.state === "gone") return;
    if (pod.daemonSet === undefined && pod.state !== "terminating") {
      this.recorder.podsKilled++;
      if (pod.app === undefined) this.recorder.barePodsLost++;
    }
    this.podGone(pod);
  }

  private leaveReady(pod: SimPod): void {
    if (pod.state === "ready" && pod.app !== undefined)
      this.readyCount.set(pod.app, (this.readyCount.get(pod.app) ?? 0) - 1);
  }

  private podGone(pod: SimPod): void {
    if (pod.state === "gone") return;
    const node = pod.node;
    if (pod.state !== "terminating") {
      this.leaveReady(pod);
      if (node !== undefined) this.index.update(pod, node, -1);
    }
    if (pod.state === "pending" && pod.daemonSet === undefined)
      this.recorder.pending((this.now - Math.max(pod.pendingSinceMs, this.startMs)) / 1000);
    pod.state = "gone";
    pod.model = undefined;
    this.withAffinity.delete(pod);
    if (node !== undefined) {
      node.pods.delete(pod);
      addInto(node.requested, pod.base.requests, -1);
      const nz = nonZeroRequests(pod.base);
      node.nonZero.cpuMillis -= nz.cpuMillis;
      node.nonZero.memoryBytes -= nz.memoryBytes;
      if (pod.daemonSet === undefined) {
        node.lastPodEventMs = this.now;
        node.model = undefined;
      }
      this.capacityVersion++;
      this.scheduleDirty = true;
    }
    this.pods.delete(pod.seq);
    for (const members of this.pdbMembers.values()) members.delete(pod);
    if (this.podByKey.get(pod.key) === pod) this.podByKey.delete(pod.key);
    this.pendingPods.delete(pod);
    if (pod.app !== undefined) {
      pod.app.pods.delete(pod);
      this.dirtyApps.add(pod.app);
    }
    this.changed(false);
  }

  /**
   * The eviction API (policy/v1 Eviction): refused (429) while a PDB covering the pod allows no
   * disruption, or (500) when more than one PDB covers it. A pod that is not Ready can be evicted
   * when its PDB is currently healthy enough, or always with unhealthyPodEvictionPolicy AlwaysAllow.
   */
  private evict(pod: SimPod): boolean {
    if (pod.state === "terminating" || pod.state === "gone") return true;
    const covering = this.pdbs
      .filter((b) => this.pdbMembers.get(b)?.has(pod))
      .map((pdb) => ({ name: `${pdb.namespace}/${pdb.name}`, pdb, counts: this.pdbStatus(pdb) }));
    if (evictionRefusal(pod.state === "ready", covering) !== undefined) return false;
    // Independent recount: a healthy pod's eviction leaves every PDB covering it within its budget.
    if (pod.state === "ready")
      for (const { name, pdb } of covering) {
        const after = this.pdbStatus(pdb, pod);
        if (after.healthy < after.desired)
          this.fail(
            "pdb",
            `evicting ${pod.key} leaves PDB ${name} with ${after.healthy} healthy pods, it requires ${after.desired}`,
          );
      }
    pod.evicted = true;
    this.recorder.evictions++;
    if (pod.app === undefined && pod.daemonSet === undefined) this.recorder.barePodsLost++;
    this.terminatePod(pod);
    return true;
  }

  /** A PDB's healthy and desired-healthy counts (Kubernetes' disruption controller), `without` a pod. */
  private pdbStatus(pdb: PodDisruptionBudget, without?: SimPod): PdbCounts {
    let healthy = 0;
    let count = 0;
    let bare = 0;
    const apps = new Set<App>();
    for (const p of this.pdbMembers.get(pdb) ?? []) {
      if (p.state === "gone") continue;
      count++;
      if (p.app !== undefined) apps.add(p.app);
      else bare++;
      if (p.state === "ready" && p !== without) healthy++;
    }
    // maxUnavailable and percentages count the workloads' replicas (their scale), as Kubernetes does.
    let expected = count;
    if (pdb.maxUnavailable !== undefined || typeof pdb.minAvailable === "string") {
      expected = bare;
      for (const a of apps) expected += a.replicas;
    }
    return { healthy, desired: desiredHealthy(pdb, expected) };
  }

  /** DaemonSet pods for a node that just became Ready (where the DaemonSet's pods land and fit). */
  private daemonPods(node: SimNode): void {
    for (const ds of this.daemonSets) {
      const name = `${ds.name}-${node.name}`;
      if ([...node.pods].some((p) => p.daemonSet === ds.name && p.namespace === ds.namespace)) continue;
      const c = constraintsOf({
        ...ds,
        tolerations: [...ds.tolerations, { operator: "Exists", effect: "PreferNoSchedule" }],
      });
      if (!nodeAccepts(c, nodeModel(node))) continue;
      if (!fitsIn(ds.requests, node.requested, node.allocatable)) {
        this.recorder.event(this.now, "daemonset_pod_unschedulable", {
          node: node.name,
          daemonSet: `${ds.namespace}/${ds.name}`,
        });
        continue;
      }
      const base = daemonSetPod(ds, name, iso(this.now));
      const pod = this.newPod(base, undefined, undefined, ds.name);
      this.bind(pod, node, { initial: true, running: true });
    }
  }

  // ---------------------------------------------------------------- controllers

  private reconcileApps(): void {
    const apps = [...this.dirtyApps].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.dirtyApps.clear();
    for (const app of apps) {
      const r = app.kind === "Deployment" ? reconcileDeployment(app, this.now) : reconcileStatefulSet(app);
      for (const p of r.delete) this.terminatePod(p);
      for (const c of r.create) this.createPod(app, c.revision, c.ordinal);
    }
  }

  private runScheduler(): void {
    this.scheduleDirty = false;
    if (this.pendingPods.size === 0) return;
    const nodes = this.readyNodes();
    const view: SchedulerView = {
      index: this.index,
      nodes,
      namespaceLabels: (ns) => this.namespaces.get(ns),
      podsWithAffinity: () => this.withAffinity,
    };
    // Pods that failed at this capacity are skipped (binding adds no capacity): only the rest are sorted.
    const queue: SimPod[] = [];
    for (const pod of this.pendingPods)
      if (pod.state === "pending" && pod.failedAtVersion !== this.capacityVersion) queue.push(pod);
    queue.sort((a, b) => b.base.priority - a.base.priority || a.createdMs - b.createdMs || a.seq - b.seq);
    const failed = new Set<string>();
    for (const pod of queue) {
      if (pod.state !== "pending" || pod.failedAtVersion === this.capacityVersion) continue;
      const shape = pod.app === undefined ? pod.key : `${pod.app.key}\u0000${pod.revision}`;
      if (failed.has(shape)) {
        pod.failedAtVersion = this.capacityVersion;
        continue;
      }
      const node = this.scheduler.schedule(pod, view);
      if (node === undefined) {
        pod.failedAtVersion = this.capacityVersion;
        failed.add(shape);
        continue;
      }
      pod.nominatedNode = undefined;
      this.bind(pod, node);
    }
  }

  private setReplicas(app: App, replicas: number, by: string): void {
    if (app.replicas === replicas) return;
    this.recorder.event(this.now, "replicas", { app: app.key, from: app.replicas, to: replicas, by });
    app.replicas = replicas;
    this.dirtyApps.add(app);
  }

  private hpaSync(app: App, hpa: Hpa): void {
    const load = this.loads.get(app);
    if (load === undefined) return;
    let ready = 0;
    let notReady = 0;
    for (const p of app.pods) {
      if (p.state === "terminating" || p.state === "gone") continue;
      if (p.state === "ready") ready++;
      else notReady++;
    }
    const noise =
      load.noise > 0 ? 1 + load.noise * new Rng(this.seed, `load/${app.key}/${this.now}`).normal() : 1;
    const usage = Math.max(0, load.coresAt(this.now - this.startMs) * 1000 * noise);
    const desired = hpa.sync(this.now, {
      replicas: app.replicas,
      ready,
      notReady,
      requestMillis: app.current.template.requests.cpuMillis ?? 0,
      usageMillis: usage,
    });
    if (desired !== undefined) this.setReplicas(app, desired, "hpa");
  }

  private argoSync(app: App): void {
    const g = this.git.get(app);
    if (g === undefined) return;
    if (!g.pending && !g.selfHeal) return;
    let synced = false;
    if (g.replicasInGit && g.replicas !== undefined && app.replicas !== g.replicas) {
      this.setReplicas(app, g.replicas, "argocd");
      synced = true;
    }
    if (app.current !== g.revision) {
      this.rollout(app, g.revision, g.raw, "argocd");
      synced = true;
    }
    if (synced || g.pending)
      this.recorder.event(this.now, "sync", {
        app: app.key,
        replicas: app.replicas,
        revision: app.current.hash,
      });
    g.pending = false;
  }

  private rollout(app: App, revision: Revision, raw: Record<string, unknown>, by: string): void {
    this.recorder.event(this.now, "rollout", { app: app.key, from: app.current.hash, to: revision.hash, by });
    app.current = revision;
    app.revisions.set(revision.hash, revision);
    app.raw = raw;
    this.dirtyApps.add(app);
  }

  private timelineEvent(i: number, e: Scenario["spec"]["timeline"][number]): void {
    if ("scale" in e) {
      const app = this.app(e.scale.app, i);
      this.setReplicas(app, e.scale.replicas, "kubectl");
      return;
    }
    if ("commit" in e) {
      const c = e.commit;
      const app = this.app(c.app, i);
      const spec = this.specs.get(app.key) as WorkloadSpec;
      const g = this.git.get(app);
      let revision = g?.revision ?? app.current;
      let raw = g?.raw ?? app.raw;
      if (c.image !== undefined || c.requests !== undefined) {
        const change: { image?: string; requests?: Record<string, string | number> } = {};
        if (c.image !== undefined) change.image = c.image;
        if (c.requests !== undefined) change.requests = c.requests;
        const next = this.input.workloads.retemplate({ ...spec, raw }, change);
        revision = app.revisions.get(next.revision) ?? { hash: next.revision, template: next.template };
        raw = next.raw;
      }
      this.recorder.event(this.now, "commit", {
        app: app.key,
        ...(c.replicas === undefined ? {} : { replicas: c.replicas }),
        ...(c.image === undefined ? {} : { image: c.image }),
        revision: revision.hash,
      });
      if (g !== undefined) {
        if (c.replicas !== undefined && g.replicasInGit) g.replicas = c.replicas;
        g.revision = revision;
        g.raw = raw;
        g.pending = true;
      } else {
        // Without GitOps, a commit is applied at once (kubectl apply).
        if (c.replicas !== undefined) this.setReplicas(app, c.replicas, "kubectl");
        if (revision !== app.current) this.rollout(app, revision, raw, "kubectl");
      }
      return;
    }
    if ("interrupt" in e) {
      const x = e.interrupt;
      const candidates = [...this.nodes.values()].filter(
        (n) =>
          n.state !== "launching" &&
          n.state !== "terminating" &&
          n.interruptionDeadlineMs === undefined &&
          n.capacityType === x.capacityType &&
          (x.nodePool === undefined || n.nodePool === x.nodePool),
      );
      const rng = new Rng(this.seed, `timeline/${i}/interrupt`);
      const chosen: SimNode[] = [];
      while (chosen.length < x.count && candidates.length > 0)
        chosen.push(candidates.splice(rng.int(candidates.length), 1)[0] as SimNode);
      this.recorder.event(this.now, "interruption_storm", { requested: x.count, nodes: chosen.length });
      for (const n of chosen) this.spotNotice(n);
      return;
    }
    const a = e.amiRelease;
    this.images.set(a.nodeClass ?? "*", a.image);
    if (a.nodeClass === undefined)
      for (const k of [...this.images.keys()]) if (k !== "*") this.images.set(k, a.image);
    this.recorder.event(this.now, "ami_release", { nodeClass: a.nodeClass ?? "*", image: a.image });
    this.changed(true);
  }

  private app(key: string, i: number): App {
    const app = this.apps.get(key);
    if (app === undefined)
      throw new Error(`spec.timeline[${i}]: ${key} is not a Deployment or StatefulSet of the manifests`);
    return app;
  }

  // ---------------------------------------------------------------- the decision step

  /** Something changed: disruption depends on it (lazy), or provisioning may (urgent: within a second). */
  private changed(urgent: boolean): void {
    this.changedAtMs = this.now;
    this.requestDecide(Math.max(this.now, this.lastDecideMs + (urgent ? 1000 : 10_000)));
  }

  private requestDecide(ms: number): void {
    if (ms >= this.nextDecideMs) return;
    this.nextDecideMs = ms;
    if (ms > this.now) this.at(ms, () => {});
  }

  /**
   * The pods lists handed to the decision step, refilled in turn: a day's pods make an array past V8's
   * large-object size (16k elements), and a fresh one every pass costs a page fault per 4 KiB (about
   * 1 ms a pass for 20k pods on a VM). A pass's state is read during that pass only (`onDecision` says so).
   */
  private podList: DecisionPod[] = [];
  private spareList: DecisionPod[] = [];

  private state(): DecisionState {
    const nodes: Node[] = [];
    const failures: LaunchFailure[] = [];
    for (const n of this.nodes.values()) {
      nodes.push(nodeModel(n));
      if (n.launchFailure !== undefined)
        failures.push({
          claim: n.name,
          code: n.launchFailure.code,
          message: n.launchFailure.message,
          unavailable: n.launchFailure.unavailable,
          at: iso(n.launchFailure.atMs),
        });
    }
    // Refilled in place, two lists in turn (see `podList`).
    const pods = this.spareList;
    this.spareList = this.podList;
    this.podList = pods;
    let k = 0;
    for (const p of this.pods.values()) if (p.state !== "gone") pods[k++] = podModel(p);
    pods.length = k;
    this.unavailable = this.unavailable.filter((u) => Date.parse(u.until) > this.now);
    return {
      nodes,
      pods,
      nodePools: this.pools,
      instanceTypes: this.instanceTypes,
      daemonSets: this.daemonSets,
      pdbs: this.pdbs,
      namespaces: this.input.loaded.cluster.namespaces,
      unavailableOfferings: this.unavailable,
      interruptions: this.interruptions,
      drift: { detector: this.drift },
      launchFailures: failures,
      changedAt: iso(this.changedAtMs),
      memory: this.memory,
    };
  }

  private runDecide(): void {
    this.nextDecideMs = Number.POSITIVE_INFINITY;
    this.decidesThisInstant++;
    const state = this.state();
    const c = this.s.settings.controller;
    const decision = this.input.solver.decide(state, iso(this.now), this.input.strategy, {
      ...(c.batchIdleSeconds === undefined ? {} : { batchIdleSeconds: c.batchIdleSeconds }),
      ...(c.batchMaxSeconds === undefined ? {} : { batchMaxSeconds: c.batchMaxSeconds }),
      ...(c.validationSeconds === undefined ? {} : { validationSeconds: c.validationSeconds }),
      ...(c.evictionRetrySeconds === undefined ? {} : { evictionRetrySeconds: c.evictionRetrySeconds }),
      disruptionOptions: {
        ...(c.minSavingsPerHour === undefined ? {} : { minSavingsPerHour: c.minSavingsPerHour }),
        ...(c.minSavingsPercent === undefined ? {} : { minSavingsPercent: c.minSavingsPercent }),
        ...(c.spotToSpotConsolidation === undefined
          ? {}
          : { spotToSpotConsolidation: c.spotToSpotConsolidation }),
      },
    });
    this.lastDecideMs = this.now;
    this.input.onDecision?.(this.recorder.t(this.now), decision, state);
    for (const f of state.launchFailures ?? []) {
      const n = this.nodes.get(f.claim);
      if (n !== undefined) n.launchFailure = undefined;
    }
    const previous = this.memory;
    this.memory = decision.memory;
    this.apply(decision, state, previous);
    if (decision.wakeAt !== undefined) {
      const wake = Date.parse(decision.wakeAt);
      this.requestDecide(wake <= this.now && this.decidesThisInstant >= 3 ? this.now + 1000 : wake);
    }
  }

  private apply(decision: Decision, state: DecisionState, previous: ControllerMemory): void {
    const commands = new Map<string, CommandInProgress>();
    for (const c of previous.commands) commands.set(c.id, c);
    for (const c of decision.memory.commands) commands.set(c.id, c);
    for (const e of decision.ended) {
      if (e.outcome === "dropped") this.recorder.disruptionsDropped++;
      this.recorder.event(this.now, e.outcome === "dropped" ? "disruption_dropped" : "disruption_completed", {
        command: e.id,
        method: e.method,
        why: e.why,
      });
    }
    for (const a of decision.actions) {
      if (a.type === "taint" && !this.started.has(a.command)) {
        this.started.add(a.command);
        const cmd = commands.get(a.command);
        if (cmd !== undefined) this.commandStarted(cmd, state, decision.memory);
      }
      this.act(a);
    }
    for (const c of decision.memory.commands)
      if (c.phase === "validating" && !previous.commands.some((x) => x.id === c.id))
        this.recorder.event(this.now, "disruption_found", {
          command: c.id,
          method: c.command.method,
          candidates: c.command.candidates,
          reason: c.command.reason,
        });
  }

  /** A command is acted on: counted by method, and checked against its NodePools' budgets by core's independent checker. */
  private commandStarted(cmd: CommandInProgress, state: DecisionState, memory: ControllerMemory): void {
    this.recorder.disruptionStarted(cmd.command.method);
    this.recorder.event(this.now, "disruption_started", {
      command: cmd.id,
      method: cmd.command.method,
      candidates: cmd.command.candidates,
      replacements: cmd.replacements.map((r) => r.instanceType),
      savingsPerHour: cmd.command.savingsPerHour,
    });
    const going = new Set<string>();
    for (const c of memory.commands)
      if (c.id !== cmd.id && c.phase !== "validating") for (const n of c.command.candidates) going.add(n);
    const nodes = state.nodes.map((n) => (going.has(n.name) && !n.deleting ? { ...n, deleting: true } : n));
    // Only the budget rule is checked here (PDBs are checked at each eviction): it counts nodes, so the
    // validator gets the candidates' pods only and no PDBs, instead of replaying the whole cluster's.
    const candidates = new Set(cmd.command.candidates);
    const verdict = validateDisruption(
      {
        nodes,
        pods: state.pods.filter((p) => p.nodeName !== undefined && candidates.has(p.nodeName)),
        nodePools: state.nodePools,
        instanceTypes: state.instanceTypes,
        pdbs: [],
        now: iso(this.now),
        options: { strategy: this.input.strategy.disruption },
      },
      {
        commands: [{ ...cmd.command, wave: 1, replacements: cmd.replacements }],
        kept: [],
        cost: { currentPerHour: 0, afterPerHour: 0, lowerBoundPerHour: 0 },
        warnings: [],
        errors: [],
      },
    );
    const broken = verdict.violations.filter((v) => v.rule === "budget");
    if (broken.length > 0) this.fail("budget", broken.map((v) => v.message).join("; "));
  }

  private act(a: Action): void {
    switch (a.type) {
      case "launch":
        this.launch(a.claim);
        return;
      case "nominate": {
        const p = this.podByKey.get(a.pod);
        if (p !== undefined && p.state === "pending") {
          p.nominatedNode = a.node;
          p.model = undefined;
        }
        return;
      }
      case "taint": {
        const n = this.nodes.get(a.node);
        if (n === undefined || n.taints.some((t) => t.key === a.taint.key && t.effect === a.taint.effect))
          return;
        n.taints = [...n.taints, a.taint];
        n.version++;
        n.model = undefined;
        this.changed(false);
        return;
      }
      case "untaint": {
        const n = this.nodes.get(a.node);
        if (n === undefined || !n.taints.some((t) => t.key === a.key)) return;
        n.taints = n.taints.filter((t) => t.key !== a.key);
        n.version++;
        n.model = undefined;
        this.capacityVersion++;
        this.scheduleDirty = true;
        this.changed(false);
        return;
      }
      case "evict": {
        const p = this.podByKey.get(a.pod);
        if (p !== undefined) this.evict(p);
        return;
      }
      case "delete": {
        const n = this.nodes.get(a.node);
        if (n !== undefined) this.deleteNode(n, a.force === true);
        return;
      }
      case "mark_unavailable": {
        const o = a.offering;
        this.unavailable = [
          ...this.unavailable.filter(
            (u) =>
              !(u.instanceType === o.instanceType && u.zone === o.zone && u.capacityType === o.capacityType),
          ),
          o,
        ];
        return;
      }
      case "event":
        return;
    }
  }

  // ---------------------------------------------------------------- measuring

  private sample(): void {
    let cost = 0;
    let nodes = 0;
    let inFlight = 0;
    for (const n of this.nodes.values()) {
      if (n.billedSinceMs !== undefined) {
        cost += n.pricePerHour;
        nodes++;
      }
      if (n.state === "launching" || n.state === "booting" || n.state === "registered") inFlight++;
    }
    let ready = 0;
    let desired = 0;
    for (const app of this.apps.values()) {
      ready += this.readyCount.get(app) ?? 0;
      desired += app.replicas;
    }
    this.recorder.series.push({
      t: this.recorder.t(this.now),
      costPerHour: Math.round(cost * 1e6) / 1e6,
      nodes,
      pendingPods: this.pendingPods.size,
      readyPods: ready,
      desiredPods: desired,
      inFlightNodes: inFlight,
    });
  }

  private fail(invariant: string, message: string): never {
    throw new SimulationFailure(invariant, this.recorder.t(this.now), message);
  }

  result(): StrategyResult {
    for (const p of this.pendingPods)
      this.recorder.pending((this.endMs - Math.max(p.pendingSinceMs, this.startMs)) / 1000);
    this.pendingPods.clear();
    return {
      description: this.input.strategy.description,
      summary: this.recorder.summary(this.endMs, hasNodeCosts(this.instanceTypes)),
      series: this.recorder.series,
      events: this.recorder.events,
    };
  }

  /** Every node's requests within allocatable (checked on every bind; also callable from tests). */
  checkFits(): void {
    for (const n of this.nodes.values()) {
      const sum: Record<string, number> = {};
      for (const p of n.pods) if (p.state !== "gone") addInto(sum, p.base.requests);
      for (const k in sum)
        if ((sum[k] as number) > (n.allocatable[k] ?? 0))
          this.fail("fit", `${n.name}: ${k} requested ${sum[k]} > allocatable ${n.allocatable[k] ?? 0}`);
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function instanceId(n: SimNode): string {
  return n.providerID.slice(n.providerID.lastIndexOf("/") + 1);
}

function withinAllocatable(n: SimNode): boolean {
  for (const k in n.requested) if ((n.requested[k] as number) > (n.allocatable[k] ?? 0)) return false;
  return true;
}

function requirementValues(claim: PlannedNodeClaim, key: string): string[] | undefined {
  const r = claim.requirements.find((x) => x.key === key && x.operator === "In");
  return r === undefined ? undefined : r.values;
}

function hasAffinity(p: Pod): boolean {
  return (
    p.podAffinity.required.length > 0 ||
    p.podAffinity.preferred.length > 0 ||
    p.podAntiAffinity.required.length > 0 ||
    p.podAntiAffinity.preferred.length > 0
  );
}

const dsTemplates = new WeakMap<DaemonSet, Pod>();
function daemonSetPod(ds: DaemonSet, name: string, created: string): Pod {
  let t = dsTemplates.get(ds);
  if (t === undefined) {
    t = PodSchema.parse({
      namespace: ds.namespace,
      name: ds.name,
      uid: `ds-${ds.namespace}-${ds.name}`,
      labels: ds.labels,
      creationTimestamp: created,
      requests: ds.requests,
      nodeSelector: ds.nodeSelector,
      requiredNodeAffinity: ds.requiredNodeAffinity,
      tolerations: ds.tolerations,
      priority: ds.priority,
      owner: { kind: "DaemonSet", name: ds.name, controller: true },
      daemonSet: true,
      provisionable: false,
    });
    dsTemplates.set(ds, t);
  }
  return { ...t, name, uid: `${t.uid}-${name}`, creationTimestamp: created };
}

/**
 * Whether the catalog prices nodes as the bill will (some offering records the split of its price into
 * instance, storage, network, credits and fees); else costs are instance prices only.
 */
export function hasNodeCosts(types: Readonly<Record<string, readonly InstanceType[]>>): boolean {
  for (const list of Object.values(types))
    for (const t of list) for (const o of t.offerings) if (o.costs !== undefined) return true;
  return false;
}
