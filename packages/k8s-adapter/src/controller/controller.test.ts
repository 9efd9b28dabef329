import { createSolver, type Solver } from "@nodeplan/core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toNodeClaimManifests } from "../nodeclaim-manifests.ts";
import {
  type ControllerHandle,
  type ControllerOptions,
  OWNER_LABEL,
  PLANNED_CLAIM_ANNOTATION,
  runController,
} from "./index.ts";
import {
  FAST_DECIDE,
  FakeLauncher,
  pendingPod,
  registerLaunchedClaims,
  runningPod,
  seedManagedNode,
  seedNodePool,
  staticCatalog,
  until,
} from "./testing/cluster.test-helper.ts";
import { FakeApiServer } from "./testing/fake-apiserver.ts";

let solver: Solver;
beforeAll(async () => {
  solver = await createSolver();
});

describe("controller through @kubernetes/client-node against the fake apiserver", () => {
  let api: FakeApiServer;
  let launcher: FakeLauncher;
  const running: ControllerHandle[] = [];
  const logs: string[] = [];
  const start = async (options: Partial<ControllerOptions> = {}) => {
    const handle = await runController({
      kubeConfig: api.kubeConfig(),
      catalog: staticCatalog,
      launcher,
      solver,
      namespace: "nodeplan-system",
      identity: "replica-a",
      batchIdleMs: 20,
      decide: FAST_DECIDE,
      batchMaxMs: 200,
      resyncMs: 0,
      metricsPort: 0,
      metricsHost: "127.0.0.1",
      watchBackoffMs: 20,
      evictionBackoffMs: 20,
      leaderElection: { enabled: false },
      log: (m) => logs.push(m),
      ...options,
    });
    running.push(handle);
    return handle;
  };
  const claims = () => api.list("karpenter.sh/v1", "NodeClaim");
  const ourClaims = () => claims().filter((c) => c.metadata.labels?.[OWNER_LABEL] === "nodeplan");

  beforeEach(async () => {
    api = await FakeApiServer.start();
    launcher = new FakeLauncher();
    logs.length = 0;
    seedNodePool(api);
  });
  afterEach(async () => {
    for (const h of running.splice(0)) await h.stop();
    await api.close();
  });

  it("the catalog and the launcher get the provider's node class, not the loaded object", async () => {
    const seen: unknown[] = [];
    const catalog: ControllerOptions["catalog"] = {
      instanceTypes: async (pool, nodeClass) => {
        seen.push(nodeClass);
        return staticCatalog.instanceTypes(pool, nodeClass);
      },
    };
    api.put(pendingPod("web-0", "1", "2Gi"));
    const provided = { provider: "default" };
    const c = await start({ mode: "acting", catalog, nodeClass: (loaded) => ({ provider: loaded.name }) });
    await c.reconcileNow();
    await until(() => launcher.created.length === 1, 10_000, "the launch");
    expect(seen.length).toBeGreaterThan(0);
    for (const nodeClass of seen) expect(nodeClass).toEqual(provided);
    expect(launcher.created[0]?.nodeClass).toEqual(provided);
  });

  it("acting: pending pods become launched NodeClaims with owner labels, and a re-solve adds none", async () => {
    for (let i = 0; i < 3; i++) api.put(pendingPod(`web-${i}`, "1", "2Gi"));
    const c = await start({ mode: "acting" });
    await until(
      () =>
        ourClaims().length > 0 &&
        ourClaims().every((x) => (x.status as { providerID?: string })?.providerID !== undefined),
      10_000,
      "launched claims",
    );
    const made = ourClaims();
    const placed = made.flatMap(
      (x) =>
        JSON.parse((x.metadata.annotations as Record<string, string>)[PLANNED_CLAIM_ANNOTATION] ?? "{}")
          .pods as string[],
    );
    expect(placed.sort()).toEqual(["default/web-0", "default/web-1", "default/web-2"]);
    for (const claim of made) {
      expect(claim.metadata.name).toMatch(/^general-[0-9a-f]{10}$/);
      expect(claim.metadata.labels?.["karpenter.sh/nodepool"]).toBe("general");
      expect(claim.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("nodeplan");
      expect((claim.status as { providerID: string }).providerID).toMatch(/^aws:\/\/\/us-east-1[abc]\/i-/);
      expect(claim.metadata.labels?.["node.kubernetes.io/instance-type"]).toBeDefined();
      // The launch got the NodeClaim's uid (idempotency token) and the provider's labels reached the claim.
      expect(claim.metadata.labels?.["example.com/claim-uid"]).toBe(claim.metadata.uid);
    }
    expect(launcher.created).toHaveLength(made.length);
    // Nothing changed: solving again plans onto the in-flight claims.
    await c.reconcileNow();
    await c.reconcileNow();
    expect(ourClaims()).toHaveLength(made.length);
    expect(launcher.created).toHaveLength(made.length);
    expect(c.lastSolve()?.plan.nodeClaims).toHaveLength(0);
  });

  it("acting: an apiserver restart mid-watch, and a controller restart, leave no duplicate claims", async () => {
    for (let i = 0; i < 4; i++) api.put(pendingPod(`web-${i}`, "1", "2Gi"));
    const first = await start({ mode: "acting" });
    const launched = () =>
      ourClaims().every((x) => (x.status as { providerID?: string })?.providerID !== undefined);
    await until(() => ourClaims().length > 0 && launched(), 10_000, "claims");
    const names = ourClaims().map((x) => x.metadata.name);

    // The apiserver restarts (watch history compacted: informers get 410 and re-list).
    await api.restart({ downMs: 150 });
    await until(() => logs.some((l) => l.includes("informer")), 5000, "informer retry");
    await until(() => first.ready(), 5000, "re-sync");
    await first.reconcileNow();
    expect(ourClaims().map((x) => x.metadata.name)).toEqual(names);

    // The controller restarts: a new process reads the existing claims and plans nothing new.
    await first.stop();
    running.splice(running.indexOf(first), 1);
    const second = await start({ mode: "acting" });
    await until(() => second.ready(), 5000, "sync");
    await second.reconcileNow();
    expect(ourClaims().map((x) => x.metadata.name)).toEqual(names);
    expect(launcher.created).toHaveLength(names.length);
    expect(
      api.writes().filter((w) => w.method === "POST" && w.path.endsWith("/nodeclaims") && w.status === 201),
    ).toHaveLength(names.length);
  });

  it("acting: a claim a previous leader created but never launched is launched once, not re-planned", async () => {
    for (let i = 0; i < 2; i++) api.put(pendingPod(`web-${i}`, "1", "2Gi"));
    const advisor = await start({ launcher: undefined });
    await until(() => advisor.lastSolve() !== undefined, 10_000, "a solve");
    const solved = advisor.lastSolve();
    await advisor.stop();
    running.splice(running.indexOf(advisor), 1);
    const planned = solved?.plan.nodeClaims[0];
    if (solved === undefined || planned === undefined) throw new Error("expected a planned claim");
    const [manifest] = toNodeClaimManifests([planned], solved.cluster);
    const meta = (
      manifest as { metadata: { labels: Record<string, string>; annotations: Record<string, string> } }
    ).metadata;
    meta.labels[OWNER_LABEL] = "nodeplan";
    meta.annotations[PLANNED_CLAIM_ANNOTATION] = JSON.stringify(planned);
    api.put(manifest as Record<string, unknown>);

    const c = await start({ mode: "acting" });
    await until(() => launcher.created.length === 1, 10_000, "the launch");
    await c.reconcileNow();
    expect(launcher.created.map((x) => x.claim.name)).toEqual([planned.name]);
    expect(ourClaims().map((x) => x.metadata.name)).toEqual([planned.name]);
    const providerID = () => (ourClaims()[0]?.status as { providerID?: string } | undefined)?.providerID;
    await until(() => providerID() !== undefined, 5000, "status recorded");
    expect(providerID()).toBe(launcher.created[0]?.instance.providerID);
  });

  it("acting: a failed launch deletes the claim, marks the offering unavailable and re-solves", async () => {
    api.put(pendingPod("web-0", "1", "2Gi"));
    launcher.failNext = 1;
    await start({ mode: "acting" });
    await until(() => launcher.created.length === 1, 10_000, "a successful launch");
    // The failed claim goes through its finalizer (no instance to terminate) and is removed.
    await until(() => ourClaims().length === 1, 5000, "the failed claim removed");
    const failed = launcher.unavailable[0];
    expect(failed).toBeDefined();
    const launched = launcher.created[0]?.claim;
    expect(`${launched?.instanceType}/${launched?.zone}`).not.toBe(`${failed?.instanceType}/${failed?.zone}`);
    expect(ourClaims()).toHaveLength(1);
  });

  it("acting: an invalid object is reported by name and field and costs only itself", async () => {
    api.put(pendingPod("good", "1", "1Gi"));
    api.put(pendingPod("bad", "lots", "1Gi"));
    await start({ mode: "acting" });
    await until(() => launcher.created.length === 1, 10_000, "a launch");
    expect(launcher.created[0]?.claim.pods).toEqual(["default/good"]);
    expect(logs.some((l) => l.includes("Pod default/bad") && l.includes("resources.requests.cpu"))).toBe(
      true,
    );
  });

  it("acting: never exceeds NodePool limits", async () => {
    seedNodePool(api, { cpu: "4" });
    for (let i = 0; i < 6; i++) api.put(pendingPod(`web-${i}`, "1", "1Gi"));
    const c = await start({ mode: "acting" });
    await until(
      () => ourClaims().length > 0 && launcher.created.length === ourClaims().length,
      10_000,
      "claims",
    );
    await c.reconcileNow();
    const cpu = (q: string) => (q.endsWith("m") ? Number(q.slice(0, -1)) / 1000 : Number(q));
    const vcpus = ourClaims().reduce(
      (s, x) => s + cpu((x.status as { capacity: { cpu: string } }).capacity.cpu),
      0,
    );
    expect(vcpus).toBeGreaterThan(0);
    expect(vcpus).toBeLessThanOrEqual(4);
    // Six 1-CPU pods cannot all fit in 4 vCPUs: some stay pending, explained.
    const covered = ourClaims().flatMap(
      (x) =>
        JSON.parse((x.metadata.annotations as Record<string, string>)[PLANNED_CLAIM_ANNOTATION] ?? "{}").pods,
    );
    expect(covered.length).toBeLessThan(6);
    expect(c.lastSolve()?.plan.unschedulable.length).toBeGreaterThan(0);
  });

  it("acting: a PDB 429 delays an eviction; the drain resumes and nothing is lost", async () => {
    seedManagedNode(api, "big", "m5.2xlarge");
    seedManagedNode(api, "keep", "c5.large");
    api.put(runningPod("web-a", "big", "250m", { app: "web" }));
    api.put(runningPod("web-b", "big", "250m", { app: "web" }));
    api.put({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: "default" },
      spec: { selector: { matchLabels: { app: "web" } }, maxUnavailable: 1 },
      status: { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 },
    });
    // A kubelet: launched claims register Nodes and initialize.
    let registeredBeforeEviction = false;
    const kubelet = setInterval(() => {
      registerLaunchedClaims(api);
      const evicted = api.requests.some((r) => r.path.endsWith("/eviction"));
      const registered = api.list("v1", "Node").some((n) => n.metadata.labels?.[OWNER_LABEL] === "nodeplan");
      if (!evicted && registered) registeredBeforeEviction = true;
    }, 20);
    const c = await start({ mode: "acting" });
    await until(
      () => api.requests.some((r) => r.path.endsWith("/eviction") && r.status === 429),
      10_000,
      "a 429",
    );
    const taints =
      (api.get("v1", "Node", "big")?.spec as { taints?: { key: string }[] } | undefined)?.taints ?? [];
    expect(taints.map((t) => t.key)).toContain("karpenter.sh/disrupted");
    // Blocked: the node and the second pod are still there.
    await new Promise((r) => setTimeout(r, 200));
    expect(api.get("v1", "Node", "big")).toBeDefined();
    expect(
      api.list("v1", "Pod").filter((p) => (p.spec as { nodeName?: string }).nodeName === "big"),
    ).toHaveLength(1);
    expect(launcher.deleted.map((d) => d.name)).not.toContain("big-claim");
    // The disruption controller sees the replacement healthy again: one more disruption allowed.
    const pdb = api.get("policy/v1", "PodDisruptionBudget", "web", "default");
    api.put({ ...pdb, status: { ...(pdb?.status as object), disruptionsAllowed: 1 } });
    await until(() => api.get("v1", "Node", "big") === undefined, 10_000, "node removed");
    await c.drains();
    const evictions = api.requests.filter((r) => r.path.endsWith("/eviction"));
    expect(
      evictions
        .filter((r) => r.status === 201)
        .map((r) => r.path)
        .sort(),
    ).toEqual([
      "/api/v1/namespaces/default/pods/web-a/eviction",
      "/api/v1/namespaces/default/pods/web-b/eviction",
    ]);
    expect(
      launcher.deleted
        .filter((d) => d.name === "big-claim")
        .map(({ name, providerID }) => ({ name, providerID })),
    ).toEqual([{ name: "big-claim", providerID: "aws:///us-east-1a/i-big" }]);
    expect(api.get("karpenter.sh/v1", "NodeClaim", "big-claim")).toBeUndefined();
    clearInterval(kubelet);
    // The plan replaces big with a cheaper claim: created, launched and registered before the first
    // eviction (once drained and empty, the replacement may itself be consolidated: no ReplicaSet
    // recreates the evicted pods here).
    const posted = api.requests.findIndex(
      (r) => r.method === "POST" && r.path.endsWith("/nodeclaims") && r.status === 201,
    );
    const replacement = (api.requests[posted]?.body as { metadata: { name: string } } | undefined)?.metadata
      .name;
    const firstEviction = api.requests.findIndex((r) => r.path.endsWith("/eviction"));
    expect(posted).toBeGreaterThanOrEqual(0);
    expect(posted).toBeLessThan(firstEviction);
    expect(launcher.created.map((x) => x.claim.name)).toEqual([replacement]);
    expect(registeredBeforeEviction).toBe(true);
    // Nothing lost: both pods went through the Eviction API, each evicted exactly once; no Node was
    // deleted twice.
    const deletes = api.writes().filter((w) => w.method === "DELETE" && w.path.startsWith("/api/v1/nodes/"));
    expect(new Set(deletes.map((w) => w.path)).size).toBe(deletes.length);
  });

  it("advisory (default): writes nothing but Events and the status ConfigMap; serves metrics and probes", async () => {
    seedManagedNode(api, "idle", "m5.xlarge");
    for (let i = 0; i < 3; i++) api.put(pendingPod(`web-${i}`, "2", "2Gi"));
    api.put(pendingPod("huge", "500", "1Gi"));
    const c = await start({ launcher: undefined });
    await until(
      () => api.get("v1", "ConfigMap", "nodeplan-status", "nodeplan-system") !== undefined,
      10_000,
      "status",
    );
    await c.reconcileNow();
    await c.published();
    const writes = api.writes();
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes)
      expect(w.path).toMatch(/^\/api\/v1\/namespaces\/[^/]+\/(events|configmaps)(\/[^/]+)?$/);
    expect(claims().length).toBe(1); // only the seeded one
    const events = api.list("v1", "Event");
    const about = (reason: string) =>
      events.filter((e) => e.reason === reason).map((e) => (e.involvedObject as { name: string }).name);
    expect([...about("NodeplanWouldLaunch"), ...about("NodeplanFitsExisting")].sort()).toEqual([
      "web-0",
      "web-1",
      "web-2",
    ]);
    expect(about("NodeplanWouldLaunch").length).toBeGreaterThan(0);
    expect(
      events.some(
        (e) => e.reason === "NodeplanUnschedulable" && (e.involvedObject as { name: string }).name === "huge",
      ),
    ).toBe(true);
    const status = api.get("v1", "ConfigMap", "nodeplan-status", "nodeplan-system")?.data as Record<
      string,
      string
    >;
    const plan = JSON.parse(status["plan.json"] as string);
    expect(plan.nodeClaims.length).toBeGreaterThan(0);
    expect(plan.cost.lowerBoundPerHour).toBeGreaterThan(0);
    expect(status.summary).toContain("mode: advisory");

    const metrics = await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^nodeplan_pending_pods 4$/m);
    expect(metrics).toMatch(/^nodeplan_cost_per_hour_dollars\{kind="planned"\} [0-9.]+$/m);
    expect(metrics).toMatch(/^nodeplan_cost_per_hour_dollars\{kind="lower_bound"\} [0-9.]+$/m);
    expect(metrics).toMatch(/^nodeplan_solve_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^nodeplan_unschedulable_pods\{reason="[a-z_]+"\} 1$/m);
    expect(metrics).toMatch(/^nodeplan_disruption_candidates\{/m);
    expect((await fetch(`http://127.0.0.1:${c.metricsPort}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${c.metricsPort}/readyz`)).status).toBe(200);
  });

  it("configuration checks run after a pass, at most every interval; their keys and gauges are published", async () => {
    api.put(pendingPod("web-0", "1", "2Gi"));
    const seen: { pods: number; types: number; kinds: string[] }[] = [];
    const c = await start({
      launcher: undefined,
      checks: {
        intervalMs: 60_000,
        check: ({ objects, cluster, instanceTypes }) => {
          seen.push({
            pods: cluster.pods.length,
            types: instanceTypes.general?.length ?? 0,
            kinds: [...new Set(objects.map((o) => o.kind))].sort(),
          });
          return {
            statusData: { doctor: `${seen.length} check(s)\n` },
            gauges: [
              {
                name: "nodeplan_doctor_findings",
                help: "findings",
                samples: [{ labels: { rule: "nodepool-no-limits", severity: "warning" }, value: 2 }],
              },
            ],
          };
        },
      },
    });
    const status = () =>
      api.get("v1", "ConfigMap", "nodeplan-status", "nodeplan-system")?.data as
        | Record<string, string>
        | undefined;
    await until(() => status()?.doctor !== undefined, 10_000, "doctor key");
    expect(seen).toHaveLength(1);
    expect(seen[0]?.pods).toBe(1);
    expect(seen[0]?.types).toBeGreaterThan(0);
    expect(seen[0]?.kinds).toEqual(expect.arrayContaining(["EC2NodeClass", "NodePool", "Pod"]));
    // The plan's own keys are still there beside the check's.
    expect(status()?.["plan.json"]).toBeDefined();
    const metrics = await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^nodeplan_doctor_findings\{rule="nodepool-no-limits",severity="warning"\} 2$/m);
    // Within the interval another pass does not check again.
    await c.reconcileNow();
    await c.published();
    expect(seen).toHaveLength(1);
    expect(status()?.doctor).toBe("1 check(s)\n");
  });

  it("a configuration check that throws is logged and counted; the pass and its status go on", async () => {
    api.put(pendingPod("web-0", "1", "2Gi"));
    const c = await start({
      launcher: undefined,
      checks: {
        intervalMs: 0,
        check: () => {
          throw new Error("rule exploded");
        },
      },
    });
    await until(
      () => api.get("v1", "ConfigMap", "nodeplan-status", "nodeplan-system") !== undefined,
      10_000,
      "status",
    );
    await c.reconcileNow();
    const status = api.get("v1", "ConfigMap", "nodeplan-status", "nodeplan-system")?.data as
      | Record<string, string>
      | undefined;
    expect(status?.["plan.json"]).toBeDefined();
    expect(status?.doctor).toBeUndefined();
    expect(logs.some((l) => l.includes("configuration check failed: rule exploded"))).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^nodeplan_action_errors_total\{action="check"\} [1-9]/m);
    expect(metrics).toMatch(/^nodeplan_reconciles_total\{result="ok"\} [1-9]/m);
  });

  for (const source of ["drift", "interruption"] as const) {
    it(`advisory: ${source} reported by the provider becomes an Event on the node`, async () => {
      seedManagedNode(api, "old", "m5.xlarge");
      seedManagedNode(api, "other", "m5.xlarge", "us-east-1b");
      api.put(runningPod("web-a", "old", "500m"));
      api.put(runningPod("web-b", "other", "500m", { app: "api" }));
      await start({
        launcher: undefined,
        ...(source === "drift"
          ? {
              drift: {
                isDrifted: (n) =>
                  n.name === "old" ? { code: "ami_drift", message: "AMI changed" } : undefined,
              },
            }
          : {
              interruptions: () => [
                {
                  kind: "spot_interruption",
                  instanceId: "i-old",
                  time: "2026-12-01T08:59:00Z",
                  id: "m-1",
                } as const,
              ],
            }),
      });
      const reasons = () =>
        api
          .list("v1", "Event")
          .filter((e) => e.reason === "NodeplanWouldDisrupt")
          .map(
            (e) =>
              `${(e.involvedObject as { name: string }).name}: ${String(e.message).split(" (")[1]?.split(":")[0]}`,
          );
      await until(() => reasons().length > 0, 10_000, "disruption events");
      expect(reasons()).toEqual([`old: ${source}`]);
      expect(api.writes().every((w) => /\/(events|configmaps)/.test(w.path))).toBe(true);
    });
  }

  it("leader election: only the Lease holder writes; a lost Lease stops all writes; a standby takes over", async () => {
    const election = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 };
    const a = await start({ mode: "acting", identity: "replica-a", leaderElection: election });
    const b = await start({
      mode: "acting",
      identity: "replica-b",
      leaderElection: election,
      metricsPort: null,
    });
    await until(() => a.isLeader() !== b.isLeader(), 5000, "one leader");
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    expect(standby.isLeader()).toBe(false);

    // Another holder takes the Lease (as a partition would): the leader stops writing at once.
    const lease = api.get("coordination.k8s.io/v1", "Lease", "nodeplan-controller", "nodeplan-system");
    api.put({
      ...lease,
      spec: {
        ...(lease?.spec as object),
        holderIdentity: "elsewhere",
        leaseDurationSeconds: 3600,
        renewTime: new Date().toISOString(),
      },
    });
    await until(() => !leader.isLeader(), 5000, "leadership lost");
    const mark = api.requests.length;
    for (let i = 0; i < 3; i++) api.put(pendingPod(`web-${i}`, "1", "2Gi"));
    await new Promise((r) => setTimeout(r, 500));
    await leader.reconcileNow();
    await standby.reconcileNow();
    expect(api.writes(mark)).toEqual([]);
    expect(launcher.created).toHaveLength(0);
    expect(claims()).toHaveLength(0);

    // The holder goes away (its Lease expires): a replica takes over and acts.
    const held = api.get("coordination.k8s.io/v1", "Lease", "nodeplan-controller", "nodeplan-system");
    api.put({ ...held, spec: { ...(held?.spec as object), leaseDurationSeconds: 1 } });
    await until(() => a.isLeader() || b.isLeader(), 5000, "takeover");
    await until(() => ourClaims().length > 0, 10_000, "claims after takeover");
    expect(a.isLeader() && b.isLeader()).toBe(false);
  });

  it("leader election: a leader that cannot reach the apiserver stops leading within the renew deadline", async () => {
    const c = await start({
      mode: "acting",
      leaderElection: { leaseDurationMs: 1000, renewDeadlineMs: 400, retryPeriodMs: 100 },
    });
    await until(() => c.isLeader(), 5000, "leader");
    await api.close();
    await until(() => !c.isLeader(), 2000, "stepped down");
    await until(() => c.metrics.leader.get() === 0, 2000, "leader metric 0");
    api = await FakeApiServer.start();
  });
});
