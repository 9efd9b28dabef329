// End to end: the `nodeplan` command on fixtures in the shapes real inputs come in (bare Pods,
// `kubectl get deploy,po` output, HPAs, pod-level resources, kustomize layouts, custom resources,
// GPU pools, nested folders, typos), asserting what was read, what was ignored, and the plan.
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { type Plan, PlanSchema } from "@nodeplan/core";
import { describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "../..");
const bin = join(repo, "packages/cli/src/bin.ts");
const fixture = (name: string) => join("test/fixtures", name);
const NOW = "2026-11-02T10:30:00Z";

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function nodeplan(args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--conditions=@nodeplan/source", bin, ...args], {
      cwd: repo,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (status) => done({ status, stdout, stderr }));
    child.stdin.end();
  });
}

/** Plans a fixture as JSON; the stderr summary line is the last line of stderr. */
async function plan(name: string, ...flags: string[]): Promise<{ run: Run; plan: Plan; summary: string }> {
  const run = await nodeplan(["plan", fixture(name), "-o", "json", "--now", NOW, ...flags]);
  expect(run.stderr).not.toMatch(/unexpected failure|^\s+at .+[:(]/m);
  const lines = run.stderr.trim().split("\n");
  return { run, plan: PlanSchema.parse(JSON.parse(run.stdout)), summary: lines.at(-1) ?? "" };
}

const pods = (p: Plan) => [...p.placements.map((x) => x.pod), ...p.unschedulable.map((u) => u.pod)].sort();

describe.concurrent("nodeplan on real-shaped inputs", { timeout: 240_000 }, () => {
  it("bare Pods (no status, no NodePool): pending, planned on Karpenter's getting-started NodePool", async () => {
    const { run, plan: p, summary } = await plan("bare-pods");
    expect(run.status).toBe(0);
    expect(summary).toBe("nodeplan: read 1 file, 2 objects (2 Pod); 2 pods, 2 pending");
    expect(run.stderr).toMatch(/note: 2 Pods have no status .* planned as pending/);
    expect(run.stderr).toMatch(/getting-started NodePool "default" \(linux, amd64, on-demand/);
    expect(pods(p)).toEqual(["default/nginx", "tools/busybox"]);
    expect(p.unschedulable).toEqual([]);
    for (const c of p.nodeClaims) {
      expect(c.nodePool).toBe("default");
      expect(c.capacityType).toBe("on-demand");
      expect(c.instanceType).toMatch(/^[cmr]\d/);
    }
  });

  it("kubectl get deploy,po: the Deployment's running Pods are its pods, nothing is planned twice", async () => {
    const { run, plan: p, summary } = await plan("deploy-and-pods");
    expect(run.status).toBe(0);
    expect(summary).toBe(
      "nodeplan: read 2 files, 6 objects (1 Deployment, 1 Node, 1 NodePool, 3 Pod); 3 pods, 0 pending",
    );
    expect(p.placements).toEqual([]);
    expect(p.nodeClaims).toEqual([]);
  });

  it("an HPA's minReplicas floors a Deployment without replicas; pod-level resources count", async () => {
    const { run, plan: p, summary } = await plan("hpa");
    expect(run.status).toBe(0);
    expect(summary).toMatch(/; 5 pods \(5 from workload templates\), 5 pending$/);
    expect(pods(p)).toEqual([
      "shop/checkout-0",
      "shop/checkout-1",
      "shop/checkout-2",
      "shop/pricing-0",
      "shop/pricing-1",
    ]);
    // 3 x 1 cpu + 2 x 2 cpu (pod level) = 7 cpu: more than one 4-vCPU node's worth.
    const cpu = p.nodeClaims.reduce(
      (n, c) => n + Number(c.instanceType.match(/\.(\d*)x?large$/)?.[1] || 1),
      0,
    );
    expect(cpu).toBeGreaterThan(0);
    const explained = await nodeplan(["explain", "pod", "shop/pricing-0", fixture("hpa"), "--now", NOW]);
    expect(explained.stdout).toMatch(/requests: cpu 2, memory 4Gi/);
  });

  it("a kustomize folder is not read file by file: it says to run kubectl kustomize; the rest is planned", async () => {
    const { run, plan: p, summary } = await plan("kustomize");
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(
      /kustomization\.yaml: a kustomization: .* run `kubectl kustomize test\/fixtures\/kustomize\/base \| nodeplan plan -`/,
    );
    expect(summary).toMatch(
      /; 2 pods \(2 from workload templates\), 2 pending; not read: .*kustomization\.yaml \(a kustomization\)$/,
    );
    expect(pods(p)).toEqual(["jobs/worker-0", "jobs/worker-1"]);
  });

  it("custom resources that make pods are counted as ignored, by kind, in the summary", async () => {
    const { run, plan: p, summary } = await plan("custom-resources");
    expect(run.status).toBe(0);
    expect(summary).toBe(
      "nodeplan: read 2 files, 6 objects (1 Deployment, 1 NodePool); 1 pod (1 from workload templates), 1 pending; ignored 2 objects of kind Prometheus (custom resource: the pods it makes are not known), 1 of kind Alertmanager (custom resource: the pods it makes are not known), 1 of kind ConfigMap (not used for planning)",
    );
    expect(pods(p)).toEqual(["monitoring/prometheus-operator-0"]);
  });

  it("a GPU pod without the toleration: the GPU pool's taint leads, every NodePool's reason follows", async () => {
    const { run, plan: p } = await plan("gpu");
    expect(run.status).toBe(0);
    expect(p.placements.map((x) => x.pod)).toEqual(["ml/train"]);
    expect(p.nodeClaims.map((c) => c.nodePool)).toEqual(["gpu"]);
    const [u] = p.unschedulable;
    expect(u?.pod).toBe("ml/train-no-toleration");
    expect(u?.reason).toMatchObject({
      code: "no_nodepool_tolerates_taint",
      taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule", nodePool: "gpu" }],
    });
    expect(u?.reason.nodePools?.map((x) => [x.nodePool, x.code])).toEqual([
      ["gpu", "no_nodepool_tolerates_taint"],
      ["general-purpose", "no_instance_type_has_resource"],
    ]);
    expect(u?.message).toMatch(
      /^no NodePool tolerated: .*nvidia\.com\/gpu=true:NoSchedule in NodePool gpu \[other NodePools: general-purpose: no instance type in NodePool general-purpose offers nvidia\.com\/gpu/,
    );
  });

  it("nested folders are walked; other files are named and skipped, not errors", async () => {
    const { run, plan: p, summary } = await plan("nested");
    expect(run.status).toBe(0);
    expect(summary).toBe(
      "nodeplan: read 5 files, 3 objects (1 Deployment, 1 NodePool, 1 StatefulSet); 8 pods (8 from workload templates), 8 pending; not read: test/fixtures/nested/apps/package.json (not a Kubernetes object), test/fixtures/nested/apps/web/empty.yaml (empty)",
    );
    expect(pods(p)).toHaveLength(8);
    expect(p.unschedulable).toEqual([]);
    expect(run.stderr).not.toMatch(/README/);
  });

  it("typos are warnings naming file, document, object and field; --strict makes them exit 2", async () => {
    const { run, plan: p, summary } = await plan("typos");
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(
      /typos\/app\.yaml, document 1: Deployment shop\/api: unknown field "spec\.template\.spec\.containers\[0\]\.resources\.reque}ts"/,
    );
    expect(run.stderr).toMatch(
      /document 2: \]eployment shop\/worker: unknown kind "\]eployment" in apps\/v1 \(did you mean Deployment\?\)/,
    );
    expect(summary).toMatch(/ignored 1 object of kind \]eployment \(unknown kind\)$/);
    expect(pods(p)).toEqual(["shop/api-0", "shop/api-1"]);
    const strict = await nodeplan(["plan", fixture("typos"), "--strict", "--now", NOW, "-o", "json"]);
    expect(strict.status).toBe(2);
    expect(PlanSchema.parse(JSON.parse(strict.stdout)).placements).toEqual([]);
    expect(strict.stderr).toMatch(/error: .*reque}ts.* is not supported: .*unknown field \(--strict\)/);
  });

  it("one clock flag, --version, zones checked against the catalog, no input is exit 2", async () => {
    const at = await nodeplan(["consolidate", fixture("deploy-and-pods"), "--at", NOW, "-o", "json"]);
    const now = await nodeplan(["consolidate", fixture("deploy-and-pods"), "--now", NOW, "-o", "json"]);
    expect(at.status).toBe(0);
    expect(at.stdout).toBe(now.stdout);
    expect((await nodeplan(["--version"])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const zones = await nodeplan(["plan", fixture("bare-pods"), "--zones", "us-west-2a", "--now", NOW]);
    expect(zones.status).toBe(2);
    expect(zones.stderr).toMatch(/--zones us-west-2a: not a zone of the us-east-1 catalog/);
    const empty = await nodeplan(["plan", fixture("nested/apps/web/empty.yaml"), "--now", NOW]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/no Kubernetes objects in the input:\n {2}.*empty\.yaml: empty/);
  });
});
