/**
 * The controller at scale, measured: an API-server double in a child process holds N nodes (each
 * with its NodeClaim and a few running pods) and M pending pods; this process runs the controller
 * against it and reports its peak RSS and heap, its longest event-loop stall, and how long the
 * first passes took. Run from the repository root:
 *
 *   node --conditions=@nodeplan/source packages/k8s-adapter/src/controller/testing/scale-probe.ts \
 *     [--nodes 3000] [--pending 5000] [--running-per-node 2] [--passes 2] [--mode advisory|acting]
 *
 *     [--running-cpu 1800m]
 * Prints one JSON line. The targets (issue #18): RSS under the Deployment's 1 GiB limit, no stall
 * over 1 s (the Lease is renewed every 2 s and lost after 10 s without renewal).
 */
import { fork } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { createSolver } from "@nodeplan/core";
import { runController } from "../index.ts";
import {
  FakeLauncher,
  pendingPod,
  runningPod,
  seedManagedNode,
  seedNodePool,
  staticCatalog,
} from "./cluster.test-helper.ts";
import { FakeApiServer } from "./fake-apiserver.ts";

const { values } = parseArgs({
  options: {
    server: { type: "boolean", default: false },
    nodes: { type: "string", default: "3000" },
    pending: { type: "string", default: "5000" },
    "running-per-node": { type: "string", default: "2" },
    "running-cpu": { type: "string", default: "1800m" },
    passes: { type: "string", default: "2" },
    mode: { type: "string", default: "advisory" },
  },
});
const nodes = Number(values.nodes);
const pending = Number(values.pending);
const perNode = Number(values["running-per-node"]);

if (values.server) {
  // The double, seeded, in its own process (its memory is not the controller's).
  const api = await FakeApiServer.start();
  seedNodePool(api, { cpu: "100000" });
  const types = ["m5.xlarge", "m5.2xlarge", "c5.xlarge", "r5.large"];
  const zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
  for (let i = 0; i < nodes; i++) {
    const name = `node-${String(i).padStart(5, "0")}`;
    seedManagedNode(api, name, types[i % types.length], zones[i % zones.length]);
    for (let j = 0; j < perNode; j++) {
      const pod = runningPod(`run-${i}-${j}`, name, values["running-cpu"], { app: `svc-${i % 50}` });
      api.put(pod);
    }
  }
  for (let i = 0; i < pending; i++)
    api.put(
      pendingPod(`pending-${i}`, ["250m", "500m", "1", "2"][i % 4], ["512Mi", "1Gi", "2Gi"][i % 3], {
        app: `batch-${i % 20}`,
      }),
    );
  process.send?.({ url: api.url });
} else {
  const child = fork(new URL(import.meta.url).pathname, ["--server", ...process.argv.slice(2)], {
    execArgv: process.execArgv,
  });
  const url = await new Promise<string>((resolve) =>
    child.on("message", (m: { url: string }) => resolve(m.url)),
  );
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "double", server: url, skipTLSVerify: true }],
    users: [{ name: "probe", token: "probe" }],
    contexts: [{ name: "double", cluster: "double", user: "probe" }],
    currentContext: "double",
  });

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let peakRss = 0;
  let peakHeap = 0;
  // A second stall measure, independent of the histogram: the longest gap between 10 ms ticks.
  let lastTick = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const t = performance.now();
    maxGap = Math.max(maxGap, t - lastTick - 10);
    lastTick = t;
  }, 10);
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 50);
  const solver = await createSolver();
  const started = performance.now();
  const passes: number[] = [];
  const handle = await runController({
    kubeConfig,
    catalog: staticCatalog,
    ...(values.mode === "acting" ? { mode: "acting" as const, launcher: new FakeLauncher() } : {}),
    solver,
    namespace: "nodeplan-system",
    identity: "probe",
    batchIdleMs: 100,
    batchMaxMs: 1000,
    resyncMs: 0,
    metricsPort: null,
    leaderElection: { enabled: false },
    log: () => {},
  });
  const synced = performance.now();
  const syncStallMs = Math.round(loop.max / 1e6);
  const syncGapMs = Math.round(maxGap);
  loop.reset();
  maxGap = 0;
  for (let i = 0; i < Number(values.passes); i++) {
    const t = performance.now();
    await handle.reconcileNow();
    passes.push(Math.round(performance.now() - t));
  }
  // (Optional calls: the probe also runs against the controller before #18, for the before figures.)
  await (handle as { published?: () => Promise<void> }).published?.();
  const solved = handle.lastSolve();
  clearInterval(sample);
  clearInterval(ticker);
  loop.disable();
  console.log(
    JSON.stringify({
      nodes,
      pendingPods: pending,
      runningPods: nodes * perNode,
      mode: values.mode,
      syncMs: Math.round(synced - started),
      passMs: passes,
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      peakHeapMiB: Math.round(peakHeap / 2 ** 20),
      maxEventLoopStallMs: { sync: syncStallMs, passes: Math.round(loop.max / 1e6) },
      maxTimerGapMs: { sync: syncGapMs, passes: Math.round(maxGap) },
      p99EventLoopDelayMs: Math.round(loop.percentile(99) / 1e6),
      planned:
        solved === undefined
          ? undefined
          : { claims: solved.plan.nodeClaims.length, unschedulable: solved.plan.unschedulable.length },
      phasesMs: Object.fromEntries(
        ["read", "catalog", "provision", "disruption", "act"].map((p) => [
          p,
          Math.round(
            ((handle.metrics as { phaseSeconds?: { get(l: object): number | undefined } }).phaseSeconds?.get({
              phase: p,
            }) ?? 0) * 1000,
          ),
        ]),
      ),
      statusBytes: (handle.metrics as { statusBytes?: { get(): number | undefined } }).statusBytes?.get(),
    }),
  );
  await handle.stop();
  child.kill();
}
