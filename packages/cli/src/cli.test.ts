// The `nodeplan` command as users run it: a subprocess on the repository's examples and on bad
// input, asserting on its JSON (parsed with core's schemas), its stderr and its exit codes.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DisruptionPlanSchema, type Plan, PlanSchema, parseCatalog } from "@nodeplan/core";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const repo = resolve(import.meta.dirname, "../../..");
const bin = join(repo, "packages/cli/src/bin.ts");
const NOW = "2026-12-01T08:30:00Z";
const example = (name: string) => join(repo, "examples", name);
const tmp = mkdtempSync(join(tmpdir(), "nodeplan-cli-"));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const cache = new Map<string, Promise<Run>>();
/** Runs `nodeplan <args>` (cached per argument list: the CLI is deterministic given --now). */
function nodeplan(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const key = JSON.stringify([args, options]);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const run = new Promise<Run>((done, fail) => {
    const child = spawn(process.execPath, ["--conditions=@nodeplan/source", bin, ...args], {
      cwd: repo,
      env: options.env ?? { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (status) => done({ status, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
  cache.set(key, run);
  return run;
}

async function planOf(args: string[], now = NOW): Promise<{ run: Run; plan: Plan }> {
  const run = await nodeplan(["plan", ...args, "-o", "json", "--now", now]);
  expect(run.stderr).not.toMatch(/unexpected failure/);
  return { run, plan: PlanSchema.parse(JSON.parse(run.stdout)) };
}

const file = (name: string, text: string) => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};

const pendingPod = (name: string, cpu: string, extra = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
spec:
  containers:
    - name: app
      image: nginx
      resources:
        requests:
          cpu: "${cpu}"
          memory: 1Gi
${extra}status:
  phase: Pending
  conditions:
    - type: PodScheduled
      status: "False"
      reason: Unschedulable
`;

/** A stack trace has "    at fn (file:line:col)" lines; the CLI must never print one. */
const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/^\s+at .+[:(]/m);

/** Every pending pod is accounted for exactly once, and placements point at real nodes or claims. */
function checkConsistent(plan: Plan, existing: RegExp = /^ip-[\d-]+\.ec2\.internal$/) {
  const pods = [...plan.placements.map((p) => p.pod), ...plan.unschedulable.map((u) => u.pod)];
  expect(new Set(pods).size).toBe(pods.length);
  const claims = new Set(plan.nodeClaims.map((c) => c.name));
  for (const p of plan.placements) expect(claims.has(p.node) || existing.test(p.node), p.node).toBe(true);
  for (const c of plan.nodeClaims) {
    expect(c.instanceTypeOptions[0]).toBe(c.instanceType);
    expect(c.worstPricePerHour).toBeGreaterThanOrEqual(c.pricePerHour);
    for (const pod of c.pods) expect(plan.placements).toContainEqual({ pod, node: c.name });
  }
  const { cost } = plan;
  expect(cost.plannedPerHour).toBeCloseTo(cost.currentPerHour + cost.newPerHour, 6);
  expect(cost.newPerHour).toBeCloseTo(
    plan.nodeClaims.reduce((s, c) => s + c.pricePerHour, 0),
    6,
  );
  expect(cost.lowerBoundPerHour).toBeLessThanOrEqual(cost.newPerHour + 1e-9);
  if (cost.ratio !== null) expect(cost.ratio).toBeGreaterThanOrEqual(1 - 1e-9);
}

describe.concurrent("nodeplan plan on the examples", { timeout: 240_000 }, () => {
  it("production-api: the 40 pending API replicas land on existing room and new general nodes", async () => {
    const { run, plan } = await planOf([example("production-api")], "2026-11-02T10:30:00Z");
    expect(run.status).toBe(0);
    expect(plan.errors).toEqual([]);
    expect(plan.placements).toHaveLength(40);
    expect(plan.unschedulable).toEqual([]);
    // The system NodePool is tainted CriticalAddonsOnly; the API does not tolerate it.
    expect(new Set(plan.nodeClaims.map((c) => c.nodePool))).toEqual(new Set(["general"]));
    expect(plan.cost.currentPerHour).toBeGreaterThan(0);
    expect(plan.cost.ratio).not.toBeNull();
    checkConsistent(plan);
  });

  it("gpu-and-batch: GPU pods on g5/g6 GPU nodes, the batch Job on spot, the index on separate on-demand nodes", async () => {
    const { run, plan } = await planOf([example("gpu-and-batch")]);
    expect(run.status).toBe(0);
    expect(plan.errors).toEqual([]);
    expect(plan.unschedulable).toEqual([]);
    const claimOf = (pod: string) => {
      const node = plan.placements.find((p) => p.pod === pod)?.node;
      const claim = plan.nodeClaims.find((c) => c.name === node);
      if (claim === undefined) throw new Error(`${pod} is not on a new claim`);
      return claim;
    };
    const gpuPods = plan.placements.filter((p) => /^ml\/(llm-inference|embeddings)-/.test(p.pod));
    expect(gpuPods).toHaveLength(10);
    for (const { pod } of gpuPods) {
      const claim = claimOf(pod);
      expect(claim.nodePool).toBe("gpu");
      for (const t of claim.instanceTypeOptions) expect(t).toMatch(/^g[56]\./);
    }
    const batch = plan.placements.filter((p) => p.pod.startsWith("ml/feature-extract-"));
    expect(batch).toHaveLength(50);
    for (const { pod } of batch) {
      const claim = claimOf(pod);
      expect(claim.nodePool).toBe("general");
      expect(claim.capacityType).toBe("spot");
    }
    const index = ["ml/vector-index-0", "ml/vector-index-1", "ml/vector-index-2"].map(claimOf);
    expect(new Set(index.map((c) => c.name)).size).toBe(3);
    for (const c of index) expect(c.capacityType).toBe("on-demand");
    // No non-GPU pod rides on a GPU node.
    for (const c of plan.nodeClaims.filter((x) => x.nodePool === "gpu"))
      for (const pod of c.pods) expect(pod).toMatch(/^ml\/(llm-inference|embeddings)-/);
    checkConsistent(plan);
  });

  it("kubectl-dump: a kubectl List with status: the 2 Pending web pods need new nodes, bound pods stay", async () => {
    const { run, plan } = await planOf([join(example("kubectl-dump"), "cluster.json")]);
    expect(run.status).toBe(0);
    expect(plan.errors).toEqual([]);
    expect(plan.placements.map((p) => p.pod).sort()).toEqual([
      "shop/web-6b7f9c5d48-h6j2b",
      "shop/web-6b7f9c5d48-m9n4d",
    ]);
    for (const c of plan.nodeClaims) {
      expect(c.nodePool).toBe("default");
      expect(c.requirements).toContainEqual({ key: "kubernetes.io/arch", operator: "In", values: ["amd64"] });
    }
    // Four Karpenter nodes priced from the catalog: 2 m6i.xlarge, a spot c6i.large, an m6i.large.
    expect(plan.cost.currentPerHour).toBeGreaterThan(0.4);
    checkConsistent(plan);
  });

  it("-o yaml is the same plan; -o nodeclaims is one karpenter.sh/v1 NodeClaim per planned claim", async () => {
    const { plan } = await planOf([example("kubectl-dump")]);
    const yaml = await nodeplan(["plan", example("kubectl-dump"), "-o", "yaml", "--now", NOW]);
    expect(yaml.status).toBe(0);
    expect(PlanSchema.parse(parseAllDocuments(yaml.stdout)[0]?.toJS())).toEqual(plan);
    const claims = await nodeplan(["plan", example("kubectl-dump"), "-o", "nodeclaims", "--now", NOW]);
    expect(claims.status).toBe(0);
    const docs = parseAllDocuments(claims.stdout).map((d) => d.toJS());
    expect(docs).toHaveLength(plan.nodeClaims.length);
    for (const d of docs) {
      expect(d.apiVersion).toBe("karpenter.sh/v1");
      expect(d.kind).toBe("NodeClaim");
    }
  });

  it("the text report: new nodes by type, zone and capacity type, costs and ratio, no color when piped", async () => {
    // Asked for color, a pipe still gets none.
    const run = await nodeplan(["plan", example("gpu-and-batch"), "--now", NOW], {
      env: { ...process.env, FORCE_COLOR: "1" },
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/pods placed on new nodes: +63/);
    expect(run.stdout).toMatch(/new nodes: \d+/);
    expect(run.stdout).toMatch(/\d+ +gpu +g[56]\.\w+ +us-east-1\w +on-demand/);
    expect(run.stdout).toMatch(/lower bound: +\$\d+\.\d{4}\/h/);
    expect(run.stdout).toMatch(/ratio: +\d\.\d{4} \(new \/ lower bound\)/);
    expect(run.stdout).not.toContain("\u001b[");
  });

  it("reads manifests from stdin", async () => {
    const run = await nodeplan(["plan", "-", "-o", "json", "--now", NOW], {
      input: pendingPod("from-stdin", "1"),
    });
    expect(run.status).toBe(0);
    expect(PlanSchema.parse(JSON.parse(run.stdout)).placements.map((p) => p.pod)).toEqual([
      "default/from-stdin",
    ]);
  });
});

describe.concurrent("default NodePool, exit codes and bad input", { timeout: 240_000 }, () => {
  it("without a NodePool, plans with a default one and says so on stderr", async () => {
    const { run, plan } = await planOf([file("no-pool.yaml", pendingPod("lonely", "2"))]);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(
      /note: no NodePool in the input: planning with Karpenter's getting-started NodePool "default"/,
    );
    expect(plan.nodeClaims.map((c) => c.nodePool)).toEqual(["default"]);
  });

  it("exit 1 with --fail-on-unschedulable when a pod cannot be placed, 0 without it", async () => {
    const path = file("huge.yaml", pendingPod("huge", "5000"));
    const plain = await planOf([path]);
    expect(plain.run.status).toBe(0);
    expect(plain.plan.unschedulable.map((u) => [u.pod, u.reason.code])).toEqual([
      ["default/huge", "too_large_for_any_type"],
    ]);
    const failing = await nodeplan(["plan", path, "--fail-on-unschedulable", "--now", NOW]);
    expect(failing.status).toBe(1);
    expect(failing.stdout).toMatch(/unschedulable pods: 1/);
    expect(failing.stdout).toMatch(/1 x too large for any instance type/);
  });

  it("bad YAML: exit 2 naming the file, the document and the line", async () => {
    const path = file(
      "broken.yaml",
      `${pendingPod("ok", "1")}---\napiVersion: v1\nkind: Pod\nmetadata: {name: a\n  x: [\n`,
    );
    const run = await nodeplan(["plan", path, "-o", "json", "--now", NOW]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /nodeplan: error: .*broken\.yaml, document 2: input is invalid: expected valid YAML or JSON; line \d+/,
    );
    noStackTrace(run.stderr);
  });

  it("bad quantity: exit 2 naming file, document, object and field; the valid pod is still planned", async () => {
    const bad = pendingPod("bad", "2 cores");
    const path = file("quantity.yaml", `${pendingPod("good", "1")}---\n${bad}`);
    const run = await nodeplan(["plan", path, "-o", "json", "--now", NOW]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      `${path}, document 2: Pod default/bad: spec.containers[0].resources.requests.cpu ("2 cores") is not a valid quantity`,
    );
    noStackTrace(run.stderr);
    const plan = PlanSchema.parse(JSON.parse(run.stdout));
    expect(plan.placements.map((p) => p.pod)).toEqual(["default/good"]);
    expect(plan.errors).toHaveLength(1);
    expect(plan.errors[0]).toMatchObject({ code: "invalid_quantity", source: path });
  });

  it("a NodePool field of the wrong type: exit 2 naming the NodePool and the field", async () => {
    const path = file(
      "pool.yaml",
      `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: heavy
spec:
  weight: "heavy"
  template:
    spec:
      requirements: []
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
`,
    );
    const run = await nodeplan(["plan", path, "--now", NOW]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /pool\.yaml, document 1: NodePool heavy: spec\.weight is invalid: .*expected number/,
    );
    noStackTrace(run.stderr);
  });

  it("a kubectl List item: the error names the item", async () => {
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name: "n1" },
          status: { allocatable: { cpu: "lots" } },
        },
      ],
    };
    const run = await nodeplan(["plan", file("list.json", JSON.stringify(list)), "--now", NOW]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /list\.json, document 1, items\[0\]: Node n1: status\.allocatable\.cpu \("lots"\)/,
    );
  });

  it("missing file, bad flags and unknown options: exit 2, one line, no stack trace", async () => {
    const cases: [string[], RegExp][] = [
      [["plan", join(tmp, "nope.yaml")], /nope\.yaml: no such file or directory/],
      [["plan", example("kubectl-dump"), "--now", "yesterday"], /--now "yesterday" is not a time/],
      [["plan", example("kubectl-dump"), "--capacity-types", "spot,cheap"], /"cheap" is not a capacity type/],
      [["plan", example("kubectl-dump"), "--frobnicate"], /unknown option '--frobnicate'/],
      [["plan", example("kubectl-dump"), "-o", "xml"], /argument 'xml' is invalid/],
      [["plan"], /missing required argument 'paths'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => nodeplan(args)));
    for (const [i, [args, message]] of cases.entries()) {
      const run = runs[i] as Run;
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(message);
      noStackTrace(run.stderr);
    }
  });

  it("--catalog aws without a region or credentials: exit 2 with a clear sentence", async () => {
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: tmp,
      AWS_CONFIG_FILE: join(tmp, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(tmp, "no-aws-credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const noRegion = await nodeplan(["plan", example("kubectl-dump"), "--catalog", "aws"], { env });
    expect(noRegion.status).toBe(2);
    expect(noRegion.stderr).toMatch(/live AWS catalog needs a region: set AWS_REGION/);
    noStackTrace(noRegion.stderr);
    const noCredentials = await nodeplan(["plan", example("kubectl-dump"), "--catalog", "aws"], {
      env: { ...env, AWS_REGION: "us-east-1" },
    });
    expect(noCredentials.status).toBe(2);
    expect(noCredentials.stderr).toMatch(/live AWS catalog needs AWS credentials/);
    noStackTrace(noCredentials.stderr);
  });

  it("--help works everywhere", async () => {
    const commands = [[], ["explain", "pod"], ["consolidate"]];
    const runs = await Promise.all(commands.map((args) => nodeplan([...args, "--help"])));
    for (const [i, args] of commands.entries()) {
      const run = runs[i] as Run;
      expect(run.status, args.join(" ")).toBe(0);
      expect(run.stdout).toMatch(/^Usage: nodeplan/);
    }
  });
});

describe.concurrent("nodeplan catalog show", { timeout: 240_000 }, () => {
  it("a table of instance types with allocatable resources and a price per zone and capacity type", async () => {
    // m5.large has May 2022 spot prices in us-east-1a and b (offline, spot is offered only where one is known).
    const run = await nodeplan(["catalog", "show", "--filter", "m5.large"]);
    expect(run.status).toBe(0);
    const [head, row] = run.stdout.split("\n");
    expect(head).toMatch(
      /instance type +arch +cpu +memory +pods +extended +us-east-1a on-demand +us-east-1a spot/,
    );
    // The price of a node: the instance (0.096) and its 20 GiB gp3 root volume.
    expect(row).toMatch(/^m5\.large +amd64 +1930m +\d+Mi +29 +0\.0982/);
  });

  it("-o json is a catalog file core parses, with only the filtered types and zones", async () => {
    const run = await nodeplan(["catalog", "show", "--filter", "c7", "--zones", "us-east-1b", "-o", "json"]);
    expect(run.status).toBe(0);
    const catalog = parseCatalog(JSON.parse(run.stdout));
    expect(catalog.errors).toEqual([]);
    expect(catalog.instanceTypes.length).toBeGreaterThan(5);
    for (const t of catalog.instanceTypes) {
      expect(t.name).toContain("c7");
      expect(new Set(t.offerings.map((o) => o.zone))).toEqual(new Set(["us-east-1b"]));
    }
  });
});

describe.concurrent("nodeplan explain", { timeout: 240_000 }, () => {
  const dump = example("kubectl-dump");
  it("a pending pod: the new claim, its options, and how each NodePool narrowed them", async () => {
    const run = await nodeplan(["explain", "pod", "shop/web-6b7f9c5d48-h6j2b", dump, "--now", NOW]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/requests: cpu 1500m, memory 3Gi, pods 1/);
    expect(run.stdout).toMatch(
      /goes to new node default-\d: NodePool default, \S+ in us-east-1\w \((on-demand|spot)\)/,
    );
    expect(run.stdout).toMatch(
      /may launch as any of \d+ instance types, cheapest first .*EC2 is offered the cheapest \d+/,
    );
    expect(run.stdout).toMatch(/existing nodes: 5 -> 4 tolerated and matching -> 0 with room/);
    expect(run.stdout).toMatch(/NodePool default: \d+ instance types allowed by the NodePool/);
  });

  it("an existing node: resources, pods, and whether it stays or goes", async () => {
    const run = await nodeplan(["explain", "node", "ip-10-1-0-5.ec2.internal", dump, "--now", NOW]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /node ip-10-1-0-5\.ec2\.internal: m5\.large, us-east-1a, on-demand, not managed by a NodePool/,
    );
    expect(run.stdout).toMatch(/pods \(3\): kube-system\/coredns-/);
    expect(run.stdout).toMatch(/stays: not managed by a NodePool \[not_managed\]/);
  });

  it("unknown pod or node: exit 2 with suggestions", async () => {
    const pod = await nodeplan(["explain", "pod", "shop/web", dump, "--now", NOW]);
    expect(pod.status).toBe(2);
    expect(pod.stderr).toMatch(/no pod shop\/web in the input \(did you mean shop\/web-6b7f9c5d48-/);
    const node = await nodeplan(["explain", "node", "ip-1", dump, "--now", NOW]);
    expect(node.status).toBe(2);
    expect(node.stderr).toMatch(/no node ip-1 in the input or the plan/);
  });
});

describe.concurrent("nodeplan consolidate", { timeout: 240_000 }, () => {
  const dump = example("kubectl-dump");
  for (const strategy of ["nodeplan"]) {
    it(`--strategy ${strategy}: the DisruptionPlan of the kubectl dump, every managed node decided`, async () => {
      const run = await nodeplan(["consolidate", dump, "--strategy", strategy, "--at", NOW, "-o", "json"]);
      expect(run.stderr).not.toMatch(/unexpected failure/);
      expect(run.status).toBe(0);
      const plan = DisruptionPlanSchema.parse(JSON.parse(run.stdout));
      expect(plan.errors).toEqual([]);
      expect(plan.kept).toContainEqual(
        expect.objectContaining({ node: "ip-10-1-0-5.ec2.internal", reason: { code: "not_managed" } }),
      );
      const decided = [...plan.commands.flatMap((c) => c.candidates), ...plan.kept.map((k) => k.node)];
      expect(new Set(decided).size).toBe(decided.length);
      expect(plan.cost.afterPerHour).toBeLessThanOrEqual(plan.cost.currentPerHour + 1e-9);
      for (const c of plan.commands) expect(c.wave).toBeGreaterThanOrEqual(1);
    });
  }
});

describe("nodeplan controller", () => {
  it("refuses acting mode without AWS credentials with one clear sentence and exit 2", async () => {
    const env = { PATH: process.env.PATH ?? "", HOME: tmp, NO_COLOR: "1", AWS_EC2_METADATA_DISABLED: "true" };
    const run = await nodeplan(["controller", "--mode", "acting", "--metrics-port", "0"], { env });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/needs a region|needs AWS credentials/);
    noStackTrace(run.stderr);
  });

  it("rejects a malformed duration flag by name", async () => {
    const run = await nodeplan(["controller", "--lease-duration", "soon", "--metrics-port", "0"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--lease-duration: "soon" is not a duration');
    noStackTrace(run.stderr);
  });
});
