import { createSolver, type Solver } from "@nodeplan/core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ControllerHandle, type ControllerOptions, OWNER_LABEL, runController } from "./index.ts";
import { COMMAND_ANNOTATION, REPLACEMENTS_ANNOTATION } from "./reconciler.ts";
import {
  FAST_DECIDE,
  FakeLauncher,
  registerLaunchedClaims,
  runningPod,
  seedManagedNode,
  seedNodePool,
  staticCatalog,
  until,
} from "./testing/cluster.test-helper.ts";
import { FakeApiServer } from "./testing/fake-apiserver.ts";

/**
 * The acting controller on core's decision step (issue #21): the waits `decide` asks for are kept on
 * the wall clock, passes run at its wake-ups with no informer event, and a command in progress lives
 * in the cluster (taint and annotations), so a new process carries it on without launching twice.
 */

let solver: Solver;
beforeAll(async () => {
  solver = await createSolver();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the acting controller on core's decide", () => {
  let api: FakeApiServer;
  let launcher: FakeLauncher;
  let kubelet: ReturnType<typeof setInterval> | undefined;
  const running: ControllerHandle[] = [];
  const logs: string[] = [];
  const start = async (options: Partial<ControllerOptions> = {}) => {
    const handle = await runController({
      kubeConfig: api.kubeConfig(),
      catalog: staticCatalog,
      launcher,
      solver,
      mode: "acting",
      namespace: "nodeplan-system",
      identity: "replica-a",
      batchIdleMs: 20,
      batchMaxMs: 200,
      // No periodic resync: a pass runs on an informer event or at the decision's wake-up only.
      resyncMs: 0,
      metricsPort: null,
      watchBackoffMs: 20,
      evictionBackoffMs: 20,
      terminationIntervalMs: 20,
      writeRetry: { baseMs: 10, maxMs: 100 },
      leaderElection: { enabled: false },
      log: (m) => logs.push(m),
      decide: FAST_DECIDE,
      ...options,
    });
    running.push(handle);
    return handle;
  };
  const taintKeys = (node: string) =>
    ((api.get("v1", "Node", node)?.spec as { taints?: { key: string }[] } | undefined)?.taints ?? []).map(
      (t) => t.key,
    );
  const eventReasons = (node: string) =>
    api
      .list("v1", "Event")
      .filter((e) => (e.involvedObject as { name: string }).name === node)
      .map((e) => String(e.reason));

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
    await api.close();
  });

  it("an empty node is disrupted only after the validation wait, by the pass at the decision's wake-up", async () => {
    seedManagedNode(api, "idle", "m5.xlarge");
    seedManagedNode(api, "busy", "m5.xlarge", "us-east-1b");
    api.put(runningPod("web-a", "busy", "3"));
    const validationMs = 1500;
    const c = await start({ decide: { ...FAST_DECIDE, validationSeconds: validationMs / 1000 } });
    await until(() => c.commandsInProgress().length > 0, 5000, "a command found");
    const [command] = c.commandsInProgress();
    const found = Date.parse(command?.decidedAt ?? "");
    expect(command?.phase).toBe("validating");
    expect(command?.command.method).toBe("emptiness");
    expect(command?.command.candidates).toEqual(["idle"]);
    await until(() => eventReasons("idle").includes("NodeplanDisruptionValidating"), 2000, "the event");
    const reconciles = () => c.metrics.reconciles.get({ result: "ok" }) ?? 0;
    const passesBefore = reconciles();
    // Waiting: nothing touched the node before the wait is over.
    await sleep(Math.max(0, found + validationMs - 300 - Date.now()));
    expect(taintKeys("idle")).not.toContain("karpenter.sh/disrupted");
    expect(api.get("v1", "Node", "idle")).toBeDefined();
    // Then acted on with no informer event and no resync: the pass the decision asked for.
    await until(() => api.get("v1", "Node", "idle") === undefined, 5000, "the idle node removed");
    expect(Date.now() - found).toBeGreaterThanOrEqual(validationMs - 100);
    expect(reconciles()).toBeGreaterThan(passesBefore);
    expect(api.get("v1", "Node", "busy")).toBeDefined();
    expect(eventReasons("idle")).toContain("NodeplanDisruptionStarted");
  }, 20_000);

  it("a command no longer valid after the wait is dropped: the node is never tainted", async () => {
    seedManagedNode(api, "idle", "m5.xlarge");
    seedManagedNode(api, "busy", "m5.xlarge", "us-east-1b");
    api.put(runningPod("web-a", "busy", "3"));
    const c = await start({ decide: { ...FAST_DECIDE, validationSeconds: 1 } });
    await until(() => c.commandsInProgress().length > 0, 5000, "a command found");
    // During the wait a pod lands on the node: it is no longer empty.
    api.put(runningPod("late", "idle", "250m"));
    await until(() => eventReasons("idle").includes("NodeplanDisruptionDropped"), 5000, "the drop");
    const dropped = api
      .list("v1", "Event")
      .find(
        (e) =>
          e.reason === "NodeplanDisruptionDropped" && (e.involvedObject as { name: string }).name === "idle",
      );
    expect(String(dropped?.message)).toContain("re-validation");
    expect(taintKeys("idle")).not.toContain("karpenter.sh/disrupted");
    expect(api.get("v1", "Node", "idle")).toBeDefined();
    expect(api.writes().filter((w) => w.method === "PUT" && w.path === "/api/v1/nodes/idle")).toEqual([]);
  }, 20_000);

  it("a new process carries on a command in progress from the cluster, without launching its replacement again", async () => {
    seedManagedNode(api, "old", "m5.xlarge");
    api.put(runningPod("web-a", "old", "500m"));
    const drift = {
      isDrifted: (n: { name: string }) =>
        n.name === "old" ? { code: "ami_drift", message: "AMI changed" } : undefined,
    };
    // The first process taints the candidate and launches the replacement; no kubelet yet, so the
    // replacement does not register and the command waits in `launching`.
    const first = await start({ drift });
    await until(() => launcher.created.length === 1, 5000, "the replacement launched");
    await until(() => taintKeys("old").includes("karpenter.sh/disrupted"), 5000, "the candidate tainted");
    const replacement = launcher.created[0]?.claim.name as string;
    const annotations = (api.get("v1", "Node", "old")?.metadata.annotations ?? {}) as Record<string, string>;
    expect(annotations[REPLACEMENTS_ANNOTATION]).toBe(replacement);
    const recorded = JSON.parse(annotations[COMMAND_ANNOTATION] ?? "{}") as { id?: string; method?: string };
    expect(recorded.method).toBe("drift");
    await first.stop();
    running.splice(running.indexOf(first), 1);

    // A new process (a restart, or a new leader): it knows nothing but the cluster.
    const second = await start({ drift, identity: "replica-b" });
    await until(() => second.commandsInProgress().length > 0, 5000, "the command rebuilt");
    const [rebuilt] = second.commandsInProgress();
    expect(rebuilt?.id).toBe(recorded.id);
    expect(rebuilt?.phase).toBe("launching");
    expect(rebuilt?.command.candidates).toEqual(["old"]);
    expect(rebuilt?.replacements.map((r) => r.name)).toEqual([replacement]);
    // Passes go on while the replacement is away: nothing is planned or launched again.
    await second.reconcileNow();
    await sleep(300);
    expect(launcher.created).toHaveLength(1);
    // The replacement registers: the second process drains and removes the candidate.
    kubelet = setInterval(() => registerLaunchedClaims(api), 20);
    await until(() => api.get("v1", "Node", "old") === undefined, 10_000, "the candidate removed");
    expect(launcher.created).toHaveLength(1);
    expect(launcher.calls).toEqual([replacement]);
    const created = api.requests.filter(
      (r) => r.method === "POST" && r.path.endsWith("/nodeclaims") && r.status === 201,
    );
    expect(created).toHaveLength(1);
    const ours = api
      .list("karpenter.sh/v1", "NodeClaim")
      .filter((x) => x.metadata.labels?.[OWNER_LABEL] === "nodeplan");
    expect(ours.map((x) => x.metadata.name)).toEqual([replacement]);
  }, 30_000);
});
