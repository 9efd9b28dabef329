import { createSolver, type Solver } from "@nodeplan/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ControllerHandle, type ControllerOptions, OWNER_LABEL, runController } from "./index.ts";
import {
  FAST_DECIDE,
  FakeLauncher,
  kubectlDelete,
  pendingPod,
  registerLaunchedClaims,
  runningPod,
  seedManagedNode,
  seedNodePool,
  staticCatalog,
  until,
} from "./testing/cluster.test-helper.ts";
import { FakeApiServer, type RecordedRequest } from "./testing/fake-apiserver.ts";
import { allows, rulesIn } from "./testing/rbac.test-helper.ts";

/**
 * The fault harness of issue #18: each defect an operator found before letting the controller act,
 * reproduced against the API-server double through the real @kubernetes/client-node (short timings).
 */

let solver: Solver;
beforeAll(async () => {
  solver = await createSolver();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Claim = {
  metadata: { name: string; uid?: string; finalizers?: string[]; deletionTimestamp?: string };
  status?: unknown;
};
const providerIDOf = (c: Claim | undefined) => (c?.status as { providerID?: string } | undefined)?.providerID;
const taintKeys = (api: FakeApiServer, node: string) =>
  ((api.get("v1", "Node", node)?.spec as { taints?: { key: string }[] } | undefined)?.taints ?? []).map(
    (t) => t.key,
  );

describe("fault harness (#18): the acting controller against the API-server double", () => {
  let api: FakeApiServer;
  let launcher: FakeLauncher;
  let kubelet: ReturnType<typeof setInterval> | undefined;
  const running: ControllerHandle[] = [];
  const logs: string[] = [];
  // Every write of every scenario, by mode: checked against deploy/'s RBAC at the end.
  const writesByMode = { advisory: [] as RecordedRequest[], acting: [] as RecordedRequest[] };
  let mode: "advisory" | "acting" = "acting";
  const start = async (options: Partial<ControllerOptions> = {}) => {
    mode = options.mode ?? "acting";
    const handle = await runController({
      kubeConfig: api.kubeConfig(),
      catalog: staticCatalog,
      launcher,
      solver,
      mode: "acting",
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
      terminationIntervalMs: 20,
      writeRetry: { baseMs: 10, maxMs: 100 },
      leaderElection: { enabled: false },
      log: (m) => logs.push(m),
      ...options,
    });
    running.push(handle);
    return handle;
  };
  const claims = () => api.list("karpenter.sh/v1", "NodeClaim") as unknown as Claim[];
  const ourClaims = () =>
    api.list("karpenter.sh/v1", "NodeClaim").filter((c) => c.metadata.labels?.[OWNER_LABEL] === "nodeplan");
  const metricsText = async (c: ControllerHandle) =>
    (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text();
  const probe = async (c: ControllerHandle, path: string) =>
    (await fetch(`http://127.0.0.1:${c.metricsPort}${path}`)).status;
  const startKubelet = () => {
    kubelet = setInterval(() => registerLaunchedClaims(api), 20);
  };

  beforeEach(async () => {
    api = await FakeApiServer.start();
    launcher = new FakeLauncher();
    logs.length = 0;
    seedNodePool(api);
  });
  afterEach(async () => {
    if (kubelet !== undefined) clearInterval(kubelet);
    kubelet = undefined;
    for (const h of running.splice(0)) await h.stop();
    // Writes the controller made (the harness's own changes go through api.put, not HTTP; its
    // kubectl deletes are DELETEs of NodeClaims by the test, left out).
    writesByMode[mode].push(
      ...api
        .writes()
        .filter(
          (w) =>
            !(
              w.method === "DELETE" &&
              w.path.includes("/nodeclaims/") &&
              w.status === 200 &&
              deletedByTest.has(w.path)
            ),
        ),
    );
    deletedByTest.clear();
    await api.close();
  });
  const deletedByTest = new Set<string>();

  afterAll(() => {
    // Least privilege that still works: advisory mode's writes fit the read-only base RBAC; acting
    // mode's fit the base plus the acting overlay, and each overlay rule is used.
    const base = rulesIn("base/rbac.yaml");
    const acting = [...base, ...rulesIn("acting/rbac-acting.yaml")];
    const key = (w: RecordedRequest) => `${w.method} ${w.path.replace(/\/[^/]+$/, "/*")}`;
    // (A filtered run, -t, may run one mode only: then there is nothing to check for the other.)
    if (writesByMode.advisory.length === 0 || writesByMode.acting.length === 0) return;
    expect([...new Set(writesByMode.advisory.filter((w) => !allows(base, w)).map(key))]).toEqual([]);
    expect([...new Set(writesByMode.acting.filter((w) => !allows(acting, w)).map(key))]).toEqual([]);
    for (const rule of rulesIn("acting/rbac-acting.yaml"))
      for (const resource of rule.resources)
        for (const verb of rule.verbs)
          expect(
            writesByMode.acting.some((w) => allows([{ ...rule, resources: [resource], verbs: [verb] }], w)),
            `${verb} ${resource} is granted but never used`,
          ).toBe(true);
  });

  describe("1. a bad object is an error about that object, never the pass", () => {
    it("a pod with nodeAffinity Gt [v2] (the API server accepts it) costs only itself", async () => {
      api.put(pendingPod("good", "1", "1Gi"));
      const bad = pendingPod("bad", "1", "1Gi");
      api.put({
        ...bad,
        spec: {
          ...bad.spec,
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: "example.com/gen", operator: "Gt", values: ["v2"] }] },
                ],
              },
            },
          },
        },
      });
      const c = await start();
      await until(() => launcher.created.length === 1, 10_000, "the good pod's launch");
      expect(launcher.created[0]?.claim.pods).toEqual(["default/good"]);
      // The bad pod: a Warning Event on it naming the field, a metric by kind and code.
      await until(
        () => api.list("v1", "Event").some((e) => e.reason === "NodeplanInvalidObject"),
        5000,
        "the event",
      );
      const event = api.list("v1", "Event").find((e) => e.reason === "NodeplanInvalidObject");
      expect((event?.involvedObject as { name: string } | undefined)?.name).toBe("bad");
      expect(event?.type).toBe("Warning");
      expect(String(event?.message)).toContain("matchExpressions[0].values[0]");
      const metrics = await metricsText(c);
      expect(metrics).toMatch(
        /^nodeplan_object_errors_total\{code="invalid_requirement",kind="Pod"\} [1-9]/m,
      );
      expect(metrics).toMatch(/^nodeplan_reconciles_total\{result="ok"\} [1-9]/m);
      expect(await probe(c, "/readyz")).toBe(200);
      expect(await probe(c, "/healthz")).toBe(200);
    });

    it("any throw from the solver is traced to its object, which is skipped; the rest is acted on", async () => {
      const poisoned: Solver = {
        ...solver,
        provision: (input) => {
          if (input.pods.some((p) => p.name === "poison"))
            throw new TypeError("cannot read properties of undefined");
          return solver.provision(input);
        },
        planDisruption: (input) => {
          if (input.pods.some((p) => p.name === "poison")) throw new RangeError("invalid array length");
          return solver.planDisruption(input);
        },
        // The acting controller's pass: core's decision step.
        decide: (state, now, strategy, options) => {
          if (state.pods.some((p) => p.name === "poison")) throw new RangeError("invalid array length");
          return solver.decide(state, now, strategy, options);
        },
      };
      for (let i = 0; i < 5; i++) api.put(pendingPod(`web-${i}`, "1", "1Gi"));
      api.put(pendingPod("poison", "1", "1Gi"));
      const c = await start({ solver: poisoned });
      await until(
        () => ourClaims().length > 0 && launcher.created.length === ourClaims().length,
        10_000,
        "launches",
      );
      const planned = launcher.created.flatMap((x) => x.claim.pods).sort();
      expect(planned).toEqual([
        "default/web-0",
        "default/web-1",
        "default/web-2",
        "default/web-3",
        "default/web-4",
      ]);
      await until(
        () =>
          api
            .list("v1", "Event")
            .some(
              (e) =>
                e.reason === "NodeplanInvalidObject" &&
                (e.involvedObject as { name: string }).name === "poison",
            ),
        5000,
        "the event on the poison pod",
      );
      expect(await metricsText(c)).toMatch(
        /^nodeplan_object_errors_total\{code="solver_error",kind="Pod"\} [1-9]/m,
      );
      // Remembered: the next pass does not hunt for it again, and still acts.
      await c.reconcileNow();
      expect(logs.filter((l) => l.includes("isolating")).length).toBeLessThanOrEqual(2);
    });

    it("a loop that cannot act fails its passes in a metric and stops being ready", async () => {
      api.put(pendingPod("web-0", "1", "1Gi"));
      const c = await start({
        catalog: {
          instanceTypes: async () => {
            throw new Error("pricing API unreachable");
          },
        },
        readiness: { maxFailedPasses: 2 },
      });
      for (let i = 0; i < 3; i++) await c.reconcileNow();
      expect(await metricsText(c)).toMatch(/^nodeplan_reconciles_total\{result="error"\} [2-9]/m);
      expect(await probe(c, "/readyz")).toBe(503);
      expect(logs.some((l) => l.includes("pricing API unreachable"))).toBe(true);
    });

    it("a wedged loop (a pass that never ends) fails /healthz", async () => {
      api.put(pendingPod("web-0", "1", "1Gi"));
      let release: () => void = () => {};
      const c = await start({
        catalog: {
          instanceTypes: () =>
            new Promise((resolve) => {
              release = () => resolve([]);
            }),
        },
        liveness: { maxPassMs: 200 },
      });
      await until(() => c.ready(), 5000, "sync");
      expect(await probe(c, "/healthz")).toBe(200);
      await sleep(400);
      expect(await probe(c, "/healthz")).toBe(500);
      release();
      await sleep(100);
      expect(await probe(c, "/healthz")).toBe(200);
    });
  });

  describe("2. nodes pending pods are about to use are never disrupted", () => {
    it("a pending pod that fits an empty node: no launch, no deletion, no churn", async () => {
      seedManagedNode(api, "idle", "m5.xlarge");
      api.put(pendingPod("web-0", "1", "1Gi"));
      startKubelet();
      const c = await start({ resyncMs: 50 });
      await until(() => c.lastSolve() !== undefined, 5000, "a solve");
      await sleep(1500);
      expect(api.get("v1", "Node", "idle")).toBeDefined();
      expect(taintKeys(api, "idle")).not.toContain("karpenter.sh/disrupted");
      expect(launcher.created).toHaveLength(0);
      expect(launcher.deleted).toHaveLength(0);
      const deletes = api.writes().filter((w) => w.method === "DELETE");
      expect(deletes).toEqual([]);
      const kept = c.lastSolve()?.disruption?.kept.find((k) => k.node === "idle");
      expect(kept?.reason).toEqual({ code: "nominated", pod: "default/web-0" });
    });

    it("a pod kube-scheduler nominated (status.nominatedNodeName) keeps its node", async () => {
      seedManagedNode(api, "idle", "m5.xlarge");
      const pod = pendingPod("preemptor", "1", "1Gi");
      api.put({ ...pod, status: { ...pod.status, nominatedNodeName: "idle" } });
      const c = await start({ resyncMs: 50 });
      await until(() => c.lastSolve() !== undefined, 5000, "a solve");
      await sleep(500);
      expect(api.get("v1", "Node", "idle")).toBeDefined();
      expect(c.lastSolve()?.disruption?.kept.find((k) => k.node === "idle")?.reason.code).toBe("nominated");
    });
  });

  describe("3. acting is separated from publishing; writes are retried with backoff", () => {
    it("a 429 on NodeClaim create is retried within the pass, not at the next resync", async () => {
      api.put(pendingPod("web-0", "1", "2Gi"));
      api.inject({ method: "POST", path: /\/nodeclaims$/, status: 429, times: 2 });
      const started = Date.now();
      await start();
      await until(() => launcher.created.length === 1, 5000, "the launch");
      expect(Date.now() - started).toBeLessThan(3000);
      expect(api.requests.filter((r) => r.path.endsWith("/nodeclaims") && r.status === 429)).toHaveLength(2);
      expect(ourClaims()).toHaveLength(1);
    });

    it("Events failing (500) and a status write refused do not stop acting", async () => {
      api.put(pendingPod("web-0", "1", "2Gi"));
      api.inject({ method: "POST", path: /\/events$/, status: 500, times: 1000 });
      api.inject({ method: "POST", path: /\/configmaps$/, status: 500, times: 1000 });
      const c = await start();
      await until(() => launcher.created.length === 1, 5000, "the launch despite publishing failures");
      await c.reconcileNow();
      await c.published();
      expect(c.metrics.publishErrors.get({ kind: "ConfigMap" })).toBeGreaterThan(0);
      expect(c.metrics.publishErrors.get({ kind: "Event" })).toBeGreaterThan(0);
    });

    it("the status ConfigMap stays under the apiserver's 1 MiB whatever the plan's size", async () => {
      // 2,500 pods no instance type can hold, with long (valid) names: each an unschedulable entry
      // with a message naming it; the full plan is well over 1 MiB.
      for (let i = 0; i < 2500; i++)
        api.put(pendingPod(`huge-${String(i).padStart(4, "0")}-${"x".repeat(200)}`, "500", "1Gi"));
      const c = await start({ mode: "advisory", launcher: undefined });
      await until(
        () => api.get("v1", "ConfigMap", "nodeplan-status", "nodeplan-system") !== undefined,
        20_000,
        "the status ConfigMap",
      );
      const data = api.get("v1", "ConfigMap", "nodeplan-status", "nodeplan-system")?.data as Record<
        string,
        string
      >;
      const bytes = Object.entries(data).reduce(
        (s, [k, v]) => s + Buffer.byteLength(k) + Buffer.byteLength(v),
        0,
      );
      expect(bytes).toBeLessThan(900 * 1024);
      expect(data.summary).toContain("unschedulable pods: 2500");
      expect(api.requests.some((r) => r.path.includes("/configmaps") && r.status === 422)).toBe(false);
      expect(c.metrics.unschedulablePods.get({ reason: "too_large_for_any_type" })).toBe(2500);
    }, 60_000);
  });

  describe("4. terminationGracePeriod as Karpenter has it", () => {
    it("a drain blocked by a PDB is forceful once the grace period has run out; the instance goes before the claim", async () => {
      seedManagedNode(api, "blocked", "m5.xlarge", "us-east-1a", {
        claimSpec: { terminationGracePeriod: "4s" },
      });
      seedManagedNode(api, "other", "m5.xlarge", "us-east-1b");
      const pod = runningPod("web-a", "blocked", "250m");
      api.put({ ...pod, spec: { ...pod.spec, terminationGracePeriodSeconds: 1 } });
      api.put({
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: "web", namespace: "default" },
        spec: { selector: { matchLabels: { app: "web" } }, maxUnavailable: 0 },
        status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 },
      });
      await start({ disruption: false });
      await until(
        () =>
          (claims().find((c) => c.metadata.name === "blocked-claim")?.metadata.finalizers ?? []).length > 0,
        5000,
        "the termination finalizer on the claim",
      );
      const deletedAt = Date.now();
      deletedByTest.add("/apis/karpenter.sh/v1/nodeclaims/blocked-claim");
      expect(await kubectlDelete(api, "/apis/karpenter.sh/v1/nodeclaims/blocked-claim")).toBe(200);
      // Honoured until terminationTime - the pod's own grace (4 s - 1 s; the annotation is in whole
      // seconds, so at least 2 s): evictions refused, the pod stays.
      await until(
        () => api.requests.some((r) => r.path.endsWith("/web-a/eviction") && r.status === 429),
        3000,
        "a refused eviction",
      );
      await sleep(Math.max(0, deletedAt + 1200 - Date.now()));
      expect(api.get("v1", "Pod", "web-a", "default")).toBeDefined();
      // Then forceful: the pod is deleted, the instance terminated, the Node and the claim removed.
      await until(
        () => api.get("karpenter.sh/v1", "NodeClaim", "blocked-claim") === undefined,
        8000,
        "claim gone",
      );
      expect(api.get("v1", "Pod", "web-a", "default")).toBeUndefined();
      expect(api.get("v1", "Node", "blocked")).toBeUndefined();
      expect(launcher.deleted.map((d) => d.providerID)).toEqual(["aws:///us-east-1a/i-blocked"]);
      const podDelete = api.requests.find((r) => r.method === "DELETE" && r.path.endsWith("/pods/web-a"));
      expect(podDelete).toBeDefined();
      expect(Date.now() - deletedAt).toBeGreaterThan(1500);
      const evictions = api.requests.filter((r) => r.path.endsWith("/web-a/eviction"));
      expect(evictions.length).toBeLessThan(30);
    }, 20_000);

    it("a drain a PDB holds (no grace period) does not freeze other disruption", async () => {
      const twoHoursAgo = new Date(Date.now() - 7_200_000).toISOString().replace(/\.\d+Z$/, "Z");
      seedManagedNode(api, "held", "m5.xlarge", "us-east-1a", {
        claimSpec: { expireAfter: "1h" },
        createdAt: twoHoursAgo,
      });
      api.put(runningPod("web-a", "held", "250m"));
      api.put({
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: "web", namespace: "default" },
        spec: { selector: { matchLabels: { app: "web" } }, maxUnavailable: 0 },
        status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 },
      });
      startKubelet();
      await start({ resyncMs: 100 });
      // The expired node's drain starts and is held by the PDB...
      await until(
        () => api.requests.some((r) => r.path.endsWith("/web-a/eviction") && r.status === 429),
        8000,
        "the held drain",
      );
      // ... and a node that becomes empty afterwards is still disrupted (emptiness), within the
      // NodePool's budget (the held node counts against it).
      seedManagedNode(api, "idle", "m5.xlarge", "us-east-1b");
      await until(() => api.get("v1", "Node", "idle") === undefined, 8000, "the idle node removed");
      expect(api.get("v1", "Node", "held")).toBeDefined();
      expect(api.get("v1", "Pod", "web-a", "default")).toBeDefined();
    }, 20_000);

    it("a replacement that never registers is deleted after the timeout and its candidate untainted", async () => {
      seedManagedNode(api, "old", "m5.xlarge");
      api.put(runningPod("web-a", "old", "500m"));
      const c = await start({
        drift: {
          isDrifted: (n) => (n.name === "old" ? { code: "ami_drift", message: "AMI changed" } : undefined),
        },
        registrationTimeoutMs: 400,
      });
      await until(
        () => taintKeys(api, "old").includes("karpenter.sh/disrupted"),
        5000,
        "the candidate tainted",
      );
      await until(() => launcher.created.length >= 1, 5000, "the replacement launched");
      const replacement = launcher.created[0]?.instance.providerID;
      // No kubelet: the replacement never registers.
      await until(
        () => launcher.deleted.some((d) => d.providerID === replacement),
        5000,
        "the replacement's instance terminated",
      );
      await until(
        () =>
          api.requests.some(
            (r) =>
              r.method === "PUT" &&
              r.path === "/api/v1/nodes/old" &&
              r.status === 200 &&
              !JSON.stringify(r.body).includes("karpenter.sh/disrupted"),
          ),
        // The drop needs a pass after the replacement's claim is gone; on a loaded machine a pass of
        // the decision step (provisioning and disruption planning) can take seconds: a full `npm test`
        // on two cores once took past 15 s here (it takes about 0.3 s alone).
        30_000,
        "the candidate untainted",
      );
      expect(api.get("v1", "Node", "old")).toBeDefined();
      expect(api.requests.filter((r) => r.path.endsWith("/eviction"))).toHaveLength(0);
      await c.drains();
    }, 60_000);

    it("expiration waits for the grace period before evicting do-not-disrupt pods", async () => {
      const twoHoursAgo = new Date(Date.now() - 7_200_000).toISOString().replace(/\.\d+Z$/, "Z");
      seedManagedNode(api, "expired", "m5.xlarge", "us-east-1a", {
        // The termination time is annotated in whole seconds: 4 s leave the pod at least 2 s of
        // do-not-disrupt after the claim's deletion (its own grace is 1 s).
        claimSpec: { expireAfter: "1h", terminationGracePeriod: "4s" },
        createdAt: twoHoursAgo,
      });
      const pod = runningPod("batch-a", "expired", "250m", { app: "batch" });
      api.put({
        ...pod,
        metadata: { ...pod.metadata, annotations: { "karpenter.sh/do-not-disrupt": "true" } },
        spec: { ...pod.spec, terminationGracePeriodSeconds: 1 },
      });
      startKubelet();
      const started = Date.now();
      await start();
      await until(
        () =>
          api.get("karpenter.sh/v1", "NodeClaim", "expired-claim")?.metadata.deletionTimestamp !== undefined,
        8000,
        "expiration started",
      );
      await sleep(800);
      expect(api.get("v1", "Pod", "batch-a", "default")).toBeDefined();
      await until(
        () => api.get("v1", "Pod", "batch-a", "default") === undefined,
        8000,
        "the pod removed at the grace period",
      );
      expect(Date.now() - started).toBeGreaterThan(1500);
      // Never evicted: do-not-disrupt pods are deleted when the grace period runs out, not evicted.
      expect(api.requests.filter((r) => r.path.endsWith("/batch-a/eviction"))).toHaveLength(0);
      await until(() => api.get("v1", "Node", "expired") === undefined, 8000, "the expired node removed");
    }, 20_000);
  });

  describe("5. no leaked instances", () => {
    it("a launch whose response is lost keeps its claim and token: one instance per claim", async () => {
      for (let i = 0; i < 4; i++) api.put(pendingPod(`web-${i}`, "2", "4Gi", { app: `a${i}` }));
      launcher.loseNext = 2;
      await start();
      await until(
        () => ourClaims().length > 0 && ourClaims().every((x) => providerIDOf(x as Claim) !== undefined),
        10_000,
        "every claim launched",
      );
      const made = ourClaims();
      expect(launcher.running.size).toBe(made.length);
      expect(new Set(made.map((x) => providerIDOf(x as Claim))).size).toBe(made.length);
      for (const claim of made)
        expect(
          [...launcher.running.values()].some((i) => i.providerID === providerIDOf(claim as Claim)),
        ).toBe(true);
      expect(api.writes().filter((w) => w.method === "DELETE")).toEqual([]);
      expect(launcher.calls.length).toBeGreaterThan(made.length);
    });

    it("kubectl delete nodeclaim terminates the instance before the claim goes", async () => {
      api.put(pendingPod("web-0", "1", "2Gi"));
      await start();
      await until(
        () => ourClaims().length === 1 && providerIDOf(ourClaims()[0] as Claim) !== undefined,
        10_000,
        "a launched claim",
      );
      const claim = ourClaims()[0] as unknown as Claim & { metadata: { uid: string } };
      const instance = providerIDOf(claim);
      expect(claim.metadata.finalizers).toContain("karpenter.sh/termination");
      deletedByTest.add(`/apis/karpenter.sh/v1/nodeclaims/${claim.metadata.name}`);
      expect(await kubectlDelete(api, `/apis/karpenter.sh/v1/nodeclaims/${claim.metadata.name}`)).toBe(200);
      // The pod is still pending, so a new claim may follow: wait for this one (this uid) to go.
      const present = () => ourClaims().some((x) => x.metadata.uid === claim.metadata.uid);
      await until(() => !present(), 5000, "the claim gone");
      expect(launcher.deleted.filter((d) => d.providerID === instance)).toHaveLength(1);
      expect([...launcher.running.values()].some((i) => i.providerID === instance)).toBe(false);
      // The instance went first: its termination precedes the request that removed the finalizer.
      const terminatedAt = launcher.deleted.find((d) => d.providerID === instance)?.at ?? Infinity;
      const finalizerRemoved = api.requests.find(
        (r) =>
          r.method === "PUT" &&
          r.status === 200 &&
          r.path.endsWith(`/nodeclaims/${claim.metadata.name}`) &&
          (r.body as Claim).metadata.uid === claim.metadata.uid &&
          !JSON.stringify(r.body).includes("karpenter.sh/termination"),
      );
      expect(finalizerRemoved).toBeDefined();
      expect(terminatedAt).toBeLessThanOrEqual(finalizerRemoved?.at ?? 0);
    });

    it("garbage collection terminates instances of this cluster no claim names, after a grace", async () => {
      const old = new Date(Date.now() - 600_000).toISOString();
      launcher.seed({ id: "i-leaked", nodeClaim: "general-gone", launchedAt: old });
      launcher.seed({ id: "i-young", nodeClaim: "general-just-launched" });
      seedManagedNode(api, "kept", "m5.xlarge");
      launcher.seed({ id: "i-kept", nodeClaim: "kept-claim", launchedAt: old });
      const c = await start({ disruption: false, garbageCollection: { intervalMs: 50, graceMs: 30_000 } });
      await until(() => launcher.deleted.length > 0, 5000, "a collection");
      await sleep(200);
      expect(launcher.deleted.map((d) => d.providerID)).toEqual(["aws:///us-east-1a/i-leaked"]);
      expect(c.metrics.render()).toMatch(/^nodeplan_instances_garbage_collected_total [1-9]/m);
    });

    it("advisory mode only reports leaked instances", async () => {
      const old = new Date(Date.now() - 600_000).toISOString();
      launcher.seed({ id: "i-leaked", nodeClaim: "general-gone", launchedAt: old });
      const c = await start({ mode: "advisory", garbageCollection: { intervalMs: 50, graceMs: 30_000 } });
      await until(() => c.metrics.orphanedInstances.get() === 1, 5000, "the report");
      await sleep(200);
      expect(launcher.deleted).toEqual([]);
      expect(logs.some((l) => l.includes("i-leaked"))).toBe(true);
    });
  });

  describe("6. drains", () => {
    it("a terminating pod is not evicted again (one eviction for a pod with a 10 s grace)", async () => {
      api.gracefulPodDeletion = { msPerGraceSecond: 60 };
      seedManagedNode(api, "old", "m5.xlarge");
      const pod = runningPod("web-a", "old", "500m");
      api.put({ ...pod, spec: { ...pod.spec, terminationGracePeriodSeconds: 10 } });
      startKubelet();
      await start({
        drift: {
          isDrifted: (n) => (n.name === "old" ? { code: "ami_drift", message: "AMI changed" } : undefined),
        },
      });
      await until(() => api.get("v1", "Node", "old") === undefined, 10_000, "the drifted node removed");
      const evictions = api.requests.filter((r) => r.path.endsWith("/web-a/eviction"));
      expect(evictions).toHaveLength(1);
    }, 20_000);
  });

  describe("7. limits", () => {
    const limitScenario = async (solverFor: Solver) => {
      seedNodePool(api, { nodes: "1" });
      seedManagedNode(api, "big", "m5.2xlarge");
      api.put(runningPod("web-a", "big", "250m"));
      startKubelet();
      let most = 0;
      const watch = setInterval(() => {
        most = Math.max(most, claims().length);
      }, 5);
      const c = await start({ resyncMs: 50, solver: solverFor });
      await until(() => c.lastSolve() !== undefined, 5000, "a solve");
      await sleep(800);
      clearInterval(watch);
      expect(most).toBe(1);
      expect(launcher.created).toHaveLength(0);
      expect(api.get("v1", "Node", "big")).toBeDefined();
      return c;
    };

    it("limits.nodes holds for consolidation replacements too", async () => {
      const c = await limitScenario(solver);
      // The planner (or else the controller) keeps the node: a replacement would be node 2 of 1.
      const kept = c.lastSolve()?.disruption?.kept.find((k) => k.node === "big");
      const refused = logs.some((l) => l.includes("limit on nodes would be exceeded"));
      expect(refused || JSON.stringify(kept?.reason).includes('"resource":"nodes"')).toBe(true);
    });

    it("the controller enforces limits.nodes itself when a planner proposes a replacement past it", async () => {
      // A planner blind to limits: the controller's own accounting (core's NodePoolLimits) must refuse.
      const blind: Solver = {
        ...solver,
        planDisruption: (input) =>
          solver.planDisruption({ ...input, nodePools: input.nodePools.map((p) => ({ ...p, limits: {} })) }),
        // The acting controller's pass: core's decision step, its planners blind to limits.
        decide: (state, now, strategy, options) =>
          solver.decide(
            { ...state, nodePools: state.nodePools.map((p) => ({ ...p, limits: {} })) },
            now,
            strategy,
            options,
          ),
      };
      const c = await limitScenario(blind);
      expect(c.lastSolve()?.disruption?.commands.some((x) => x.replacements.length > 0)).toBe(true);
      expect(
        logs.some((l) => l.includes("NodePool general limit on nodes would be exceeded by its replacements")),
      ).toBe(true);
      expect(taintKeys(api, "big")).not.toContain("karpenter.sh/disrupted");
    });
  });
});
