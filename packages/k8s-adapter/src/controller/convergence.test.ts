import { createSolver, type InstanceType, type Solver } from "@nodeplan/core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ControllerHandle, runController } from "./index.ts";
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
 * Issue #17's controller test: the acting controller, pass after pass, on an underutilized cluster,
 * with a kubelet that registers what it launches and a ReplicaSet + kube-scheduler that give every
 * evicted pod a new pod bound where it fits. Cost must never rise from one pass to the next, and the
 * controller must stop at a fixed point (no command left) well within twenty passes.
 */

let solver: Solver;
let types: readonly InstanceType[];
beforeAll(async () => {
  solver = await createSolver();
  types = await staticCatalog.instanceTypes(undefined as never, undefined);
});

type Obj = {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: unknown[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

const millis = (q: string): number => (q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000);

/** A pod's cpu request in millicores (its one container's). */
const podCpu = (p: Obj): number => {
  const containers = (p.spec?.containers ?? []) as { resources?: { requests?: { cpu?: string } } }[];
  return millis(containers[0]?.resources?.requests?.cpu ?? "0");
};

/** A node's allocatable cpu in millicores. */
const nodeCpu = (n: Obj): number =>
  millis(String((n.status?.allocatable as { cpu?: string } | undefined)?.cpu ?? "0"));

describe("the acting controller converges without ever raising cost (#17)", () => {
  let api: FakeApiServer;
  let launcher: FakeLauncher;
  let world: ReturnType<typeof setInterval> | undefined;
  const running: ControllerHandle[] = [];

  beforeEach(async () => {
    api = await FakeApiServer.start();
    launcher = new FakeLauncher();
    seedNodePool(api, { cpu: "1000" });
  });
  afterEach(async () => {
    if (world !== undefined) clearInterval(world);
    for (const h of running.splice(0)) await h.stop();
    await api.close();
  });

  /** $/h of the Nodes that exist now, at their catalog price (on-demand, their zone). */
  const cost = (): number => {
    let sum = 0;
    for (const n of api.list("v1", "Node") as Obj[]) {
      const labels = n.metadata.labels ?? {};
      const it = types.find((t) => t.name === labels["node.kubernetes.io/instance-type"]);
      const o = it?.offerings.find(
        (x) => x.zone === labels["topology.kubernetes.io/zone"] && x.capacityType === "on-demand",
      );
      sum += o?.pricePerHour ?? 0;
    }
    return sum;
  };

  /** The ReplicaSet and kube-scheduler: a pod evicted is replaced by a new one, bound first-fit. */
  const desired = new Map<string, string>();
  let generation = 0;
  const simulate = () => {
    const pods = api.list("v1", "Pod") as Obj[];
    const present = new Set(pods.map((p) => p.metadata.labels?.replica ?? ""));
    for (const [replica, cpu] of desired)
      if (!present.has(replica)) {
        const pod = runningPod(`web-${replica}-${generation++}`, "", cpu, { app: "web", replica }) as Obj;
        delete (pod.spec as { nodeName?: string }).nodeName;
        pod.status = { phase: "Pending" };
        api.put(pod as never);
      }
    const nodes = (api.list("v1", "Node") as Obj[]).filter((n) => {
      const taints = ((n.spec?.taints ?? []) as { effect: string }[]).filter(
        (t) => t.effect === "NoSchedule",
      );
      return (
        n.metadata.deletionTimestamp === undefined && n.spec?.unschedulable !== true && taints.length === 0
      );
    });
    nodes.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    const used = new Map<string, number>();
    for (const p of api.list("v1", "Pod") as Obj[]) {
      const on = p.spec?.nodeName as string | undefined;
      if (on === undefined) continue;
      used.set(on, (used.get(on) ?? 0) + podCpu(p));
    }
    for (const p of api.list("v1", "Pod") as Obj[]) {
      if (p.spec?.nodeName !== undefined) continue;
      const cpu = podCpu(p);
      const fit = nodes.find((n) => nodeCpu(n) - (used.get(n.metadata.name) ?? 0) >= cpu);
      if (fit === undefined) {
        api.put({
          ...p,
          status: {
            phase: "Pending",
            conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }],
          },
        } as never);
        continue;
      }
      used.set(fit.metadata.name, (used.get(fit.metadata.name) ?? 0) + cpu);
      api.put({
        ...p,
        spec: { ...p.spec, nodeName: fit.metadata.name },
        status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
      } as never);
    }
    registerLaunchedClaims(api);
  };

  /** Nothing in flight: every pod running, every claim a registered node, nothing being deleted. */
  const settled = () => {
    const pods = api.list("v1", "Pod") as Obj[];
    const claims = api.list("karpenter.sh/v1", "NodeClaim") as Obj[];
    return (
      pods.length === desired.size &&
      pods.every((p) => p.spec?.nodeName !== undefined && p.metadata.deletionTimestamp === undefined) &&
      claims.every(
        (c) =>
          c.metadata.deletionTimestamp === undefined &&
          (c.status as { nodeName?: string } | undefined)?.nodeName !== undefined,
      ) &&
      (api.list("v1", "Node") as Obj[]).every(
        (n) =>
          n.metadata.deletionTimestamp === undefined &&
          !((n.spec?.taints ?? []) as { key: string }[]).some((t) => t.key === "karpenter.sh/disrupted"),
      )
    );
  };

  it("twenty passes on eight quarter-full m5.xlarge nodes, two at a time: cost never rises, and it stops", async () => {
    // A budget of two nodes at a time: the controller gets there over several passes.
    const pool = api.get("karpenter.sh/v1", "NodePool", "general") as Obj;
    api.put({
      ...pool,
      spec: { ...pool.spec, disruption: { ...(pool.spec?.disruption as object), budgets: [{ nodes: "2" }] } },
    } as never);
    // Eight nodes, two 500m pods each (a quarter of an m5.xlarge's cpu): most of them can go.
    for (let i = 0; i < 8; i++) {
      const name = `n${i}`;
      seedManagedNode(api, name, "m5.xlarge", ["us-east-1a", "us-east-1b"][i % 2]);
      for (const j of [0, 1]) {
        const replica = `${i}-${j}`;
        desired.set(replica, "500m");
        api.put(runningPod(`web-${replica}`, name, "500m", { app: "web", replica }) as never);
      }
    }
    world = setInterval(simulate, 15);
    const c = await runController({
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
      log: () => {},
    });
    running.push(c);

    const costs = [cost()];
    // Commands found per pass: the pass, and the passes its wake-ups ran until the cluster settled
    // (a consolidation is acted on only after its validation wait, in a later pass).
    const commands: number[] = [];
    const seen = new Set<string>();
    const watchCommands = setInterval(() => {
      for (const x of c.commandsInProgress()) seen.add(x.id);
    }, 5);
    for (let pass = 0; pass < 20; pass++) {
      const before = seen.size;
      await c.reconcileNow();
      for (const x of c.commandsInProgress()) seen.add(x.id);
      // Settled, and no command left in progress (a consolidation waits its validation first).
      await until(
        () => settled() && c.commandsInProgress().length === 0,
        15_000,
        `pass ${pass + 1} to settle`,
      );
      commands.push(seen.size - before);
      costs.push(cost());
    }
    clearInterval(watchCommands);
    // Never a step up, from the start to the end.
    for (let i = 1; i < costs.length; i++)
      expect(costs[i]).toBeLessThanOrEqual((costs[i - 1] as number) + 1e-9);
    // It consolidated over several passes, and the last passes found nothing more to do: a fixed point.
    expect(costs[costs.length - 1]).toBeLessThan(costs[0] as number);
    expect(commands.reduce((a, b) => a + b, 0)).toBeGreaterThan(1);
    expect(commands.slice(-5)).toEqual([0, 0, 0, 0, 0]);
    expect(c.lastSolve()?.disruption?.commands).toEqual([]);
    // 8 pods x 500m (and the DaemonSet-free nodes) fit two m5.xlarge: the fixed point is not far above.
    expect(api.list("v1", "Node").length).toBeLessThanOrEqual(3);
  }, 180_000);
});
