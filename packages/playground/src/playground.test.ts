import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, extname, join, resolve } from "node:path";
import { offlineCatalog } from "@nodeplan/aws-provider";
import type { DisruptionPlan, Plan } from "@nodeplan/core";
import type { DoctorReport } from "@nodeplan/doctor";
import fc from "fast-check";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildPlayground, readExamples } from "../scripts/build.mjs";
import { runDisruption, runDoctorRequest, runPlan } from "./run-plan.ts";

/** One example as the playground build reads it. */
type Example = ReturnType<typeof readExamples>[number];

/**
 * The playground plans exactly as `nodeplan plan` does: in Node (the worker's code, run directly) and
 * on the built page in headless Chromium, where the numbers shown and the plan downloaded must equal
 * the CLI's JSON for each bundled example.
 */
const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const repo = resolve(import.meta.dirname, "../../..");
const NOW = "2026-11-02T10:30:00Z";
const examples = readExamples();

const cache = new Map<string, unknown>();
/** The CLI's JSON for `nodeplan <command> <dir> -o json` at NOW, as a subprocess (memoized). */
function cli<T>(command: "plan" | "consolidate" | "doctor", dir: string, ...args: string[]): T {
  const argv = [
    "--conditions=@nodeplan/source",
    "packages/cli/src/bin.ts",
    command,
    dir,
    "-o",
    "json",
    ...(args.includes("--at") ? [] : [command === "consolidate" ? "--at" : "--now", NOW]),
    ...args,
  ];
  const key = argv.join(" ");
  if (!cache.has(key))
    cache.set(
      key,
      JSON.parse(execFileSync(process.execPath, argv, { cwd: repo, encoding: "utf8", maxBuffer: 2 ** 26 })),
    );
  return cache.get(key) as T;
}

/** production-api without its PodDisruptionBudget, on a Sunday: consolidation has work to do. */
const unprotected = (examples.find((x) => x.name === "production-api") as Example).files.map((f) => ({
  ...f,
  text: f.text.replace(/---\napiVersion: policy\/v1\nkind: PodDisruptionBudget[\s\S]*$/, ""),
}));
const SUNDAY = "2026-11-01T10:30:00Z";
let unprotectedDir = "";
/** A small catalog file: six instance types of the embedded catalog, one zone. */
const catalogTypes = ["m6a.2xlarge", "m6a.large", "m6a.xlarge", "m6g.2xlarge", "m6g.large", "m6g.xlarge"];
let catalogFile = "";
beforeAll(() => {
  unprotectedDir = mkdtempSync(join(tmpdir(), "playground-unprotected-"));
  for (const f of unprotected) writeFileSync(join(unprotectedDir, basename(f.source)), f.text);
  const full = offlineCatalog({ zones: ["us-east-1a"], generatedAt: NOW });
  catalogFile = join(unprotectedDir, "..", `${basename(unprotectedDir)}-catalog.json`);
  const instanceTypes = full.instanceTypes.filter((t) => catalogTypes.includes(t.name));
  expect(instanceTypes.map((t) => t.name)).toEqual(catalogTypes);
  writeFileSync(catalogFile, JSON.stringify({ ...full, instanceTypes }));
});
afterAll(() => {
  rmSync(unprotectedDir, { recursive: true, force: true });
  rmSync(catalogFile, { force: true });
});

const badYaml = [
  "apiVersion: v1",
  "kind: Pod",
  "metadata:",
  "  name: broken",
  "\tlabels: {}",
  "spec:",
  "  containers: []",
  "",
].join("\n");

/** A valid Deployment, then a pod whose cpu request is not a quantity. */
const badQuantity = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: app
          resources:
            requests: {cpu: 500m, memory: 1Gi}
---
apiVersion: v1
kind: Pod
metadata:
  name: greedy
  namespace: shop
spec:
  containers:
    - name: app
      image: app
      resources:
        requests:
          cpu: lots
`;

describe("the planning run (Node)", { timeout: 120_000 }, () => {
  test("there is at least one bundled example", () => {
    expect(examples.map((x) => x.name)).toContain("production-api");
  });

  for (const example of examples) {
    test(`${example.name}: same plan as the CLI's runPlan, every pod placed once in the picture`, async () => {
      const mine = await runPlan({ inputs: example.files, now: NOW });
      const expected = cli<Plan>("plan", `examples/${example.name}`);
      expect(JSON.parse(JSON.stringify(mine.plan))).toEqual(expected);
      const claims = mine.plan.nodeClaims.map((c) => c.name);
      expect(mine.nodes.filter((n) => n.isNew).map((n) => n.name)).toEqual(claims);
      expect(mine.nodes.filter((n) => !n.isNew)).toHaveLength(mine.existingNodes);
      const placed = mine.nodes.flatMap((n) => n.placedPods).sort();
      expect(placed).toEqual(mine.plan.placements.map((p) => p.pod).sort());
      for (const node of mine.nodes.filter((n) => n.isNew))
        for (const r of node.resources)
          expect(r.used, `${node.name} ${r.key}`).toBeLessThanOrEqual(r.allocatable);
    });
  }

  test("an uploaded catalog JSON plans as `--catalog <file>`", async () => {
    const text = readFileSync(catalogFile, "utf8");
    const example = examples.find((x) => x.name === "production-api") as Example;
    const mine = await runPlan({ inputs: example.files, now: NOW, catalog: { source: catalogFile, text } });
    const expected = cli<Plan>("plan", "examples/production-api", "--catalog", catalogFile);
    expect(mine.plan.errors).toEqual([]);
    expect(mine.plan.nodeClaims.length).toBeGreaterThan(0);
    for (const c of mine.plan.nodeClaims) expect(catalogTypes).toContain(c.instanceType);
    expect(JSON.parse(JSON.stringify(mine.plan))).toEqual(expected);
  });

  test("consolidation is the CLI's `consolidate --strategy nodeplan`", async () => {
    const expected = cli<DisruptionPlan>("consolidate", unprotectedDir, "--at", SUNDAY);
    const mine = await runDisruption({ inputs: unprotected, now: SUNDAY });
    expect(mine.plan.commands.length).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(mine.plan))).toEqual(expected);
    for (const c of mine.plan.commands) for (const n of c.candidates) expect(mine.nodes[n]).toBeDefined();
  });

  test("the doctor is the CLI's `nodeplan doctor -o json`, lines included", async () => {
    const example = examples.find((x) => x.name === "misconfigured-cluster") as Example;
    const mine = await runDoctorRequest({ inputs: example.files, now: NOW });
    const expected = cli<DoctorReport>("doctor", "examples/misconfigured-cluster");
    expect(mine.report.findings.length).toBeGreaterThan(12);
    expect(JSON.parse(JSON.stringify(mine.report))).toEqual(expected);
  });

  test("bad YAML is an error naming the line; the valid files still plan", async () => {
    const example = examples.find((x) => x.name === "production-api") as Example;
    const good = await runPlan({ inputs: example.files, now: NOW });
    const run = await runPlan({
      inputs: [...example.files, { source: "pasted-1.yaml", text: badYaml }],
      now: NOW,
    });
    expect(run.plan.errors).toHaveLength(1);
    expect(run.plan.errors[0]?.message).toMatch(
      /^pasted-1\.yaml, document 1: .*line 5, column 1: Tabs are not allowed as indentation/,
    );
    expect(run.plan.nodeClaims).toEqual(good.plan.nodeClaims);
  });

  test("property: the picture holds every placed pod once, new nodes within allocatable, prices summing to the new cost", async () => {
    const workload = fc.record({
      replicas: fc.integer({ min: 1, max: 12 }),
      cpuMillis: fc.integer({ min: 50, max: 6000 }),
      memoryMiB: fc.integer({ min: 64, max: 24_000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(workload, { minLength: 1, maxLength: 4 }), async (workloads) => {
        const text = workloads
          .map(
            (w, i) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: w${i}, namespace: prop}
spec:
  replicas: ${w.replicas}
  selector: {matchLabels: {app: w${i}}}
  template:
    metadata: {labels: {app: w${i}}}
    spec:
      containers:
        - name: c
          image: c
          resources: {requests: {cpu: ${w.cpuMillis}m, memory: ${w.memoryMiB}Mi}}
`,
          )
          .join("---\n");
        const run = await runPlan({ inputs: [{ source: "prop.yaml", text }], now: NOW });
        const total = workloads.reduce((n, w) => n + w.replicas, 0);
        expect(run.pendingPods).toBe(total);
        const placed = run.nodes.flatMap((n) => n.placedPods);
        expect(new Set(placed).size).toBe(placed.length);
        expect(placed.sort()).toEqual(run.plan.placements.map((p) => p.pod).sort());
        const added = run.nodes.filter((n) => n.isNew);
        expect(added).toHaveLength(run.plan.nodeClaims.length);
        for (const n of added) for (const r of n.resources) expect(r.used).toBeLessThanOrEqual(r.allocatable);
        expect(added.reduce((sum, n) => sum + (n.pricePerHour ?? 0), 0)).toBeCloseTo(
          run.plan.cost.newPerHour,
          6,
        );
      }),
      { numRuns: 15 },
    );
  });

  test("a bad time or a catalog that is not JSON is refused with a message", async () => {
    await expect(runPlan({ inputs: [], now: "yesterday" })).rejects.toThrow(/now "yesterday" is not a time/);
    const ns = [{ source: "ns.yaml", text: "apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n" }];
    await expect(
      runPlan({ inputs: ns, now: NOW, catalog: { source: "cat.json", text: "{nope" } }),
    ).rejects.toThrow(/^catalog cat\.json: /);
    await expect(runPlan({ inputs: [], now: NOW })).rejects.toThrow(/^no Kubernetes objects in the input/);
  });

  test("plans 200,000 pods (no spread or recursion over input-sized arrays)", async () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: { name: big, namespace: default }
spec:
  replicas: 200000
  selector: { matchLabels: { app: big } }
  template:
    metadata: { labels: { app: big } }
    spec:
      containers: [{ name: c, image: c, resources: { requests: { cpu: 100m, memory: 128Mi } } }]
`;
    const run = await runPlan({ inputs: [{ source: "big.yaml", text }], now: NOW });
    expect(run.pendingPods).toBe(200_000);
    expect(run.plan.placements.length + run.plan.unschedulable.length).toBe(200_000);
    expect(run.summary).toMatch(/200000 pods \(200000 from workload templates\), 200000 pending/);
  }, 300_000);
});

const types: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
};

describe.skipIf(!haveChromium)("the built page in headless Chromium", { timeout: 180_000 }, () => {
  let server: Server;
  let browser: Browser;
  let base = "";
  let outdir = "";
  const requests: string[] = [];

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), "playground-dist-"));
    await buildPlayground({ outdir });
    server = createServer((req, res) => {
      const path = join(outdir, new URL(req.url ?? "/", "http://x").pathname.replace(/\/$/, "/index.html"));
      if (!path.startsWith(outdir) || !existsSync(path)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" });
      res.end(readFileSync(path));
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    if (outdir !== "") rmSync(outdir, { recursive: true, force: true });
  });

  async function openPage(): Promise<Page> {
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1500, height: 1100 },
    });
    context.on("request", (r) => {
      requests.push(r.url());
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(base);
    await page.waitForSelector('body[data-state="ready"]');
    expect(errors).toEqual([]);
    return page;
  }

  async function solve(page: Page, now = NOW): Promise<void> {
    await page.fill("#now", now);
    await page.click("#solve");
    await page.waitForSelector('body[data-state="solved"], body[data-state="failed"]', { timeout: 60_000 });
  }

  const field = (page: Page, name: string) =>
    page.$eval(`[data-field="${name}"]`, (e) => Number((e as HTMLElement).dataset.value));

  for (const example of examples) {
    test(`${example.name}: node count, cost and unschedulable pods equal the CLI's JSON`, async () => {
      const expected = cli<Plan>("plan", `examples/${example.name}`);
      const page = await openPage();
      await page.selectOption("#example", example.name);
      await solve(page);
      expect(await page.getAttribute("body", "data-state")).toBe("solved");
      expect(await field(page, "new-nodes")).toBe(expected.nodeClaims.length);
      expect(await page.$$eval(".node.new", (e) => e.length)).toBe(expected.nodeClaims.length);
      expect(await field(page, "cost-now")).toBe(expected.cost.currentPerHour);
      expect(await field(page, "cost-planned")).toBe(expected.cost.plannedPerHour);
      expect(await field(page, "cost-lower-bound")).toBe(expected.cost.lowerBoundPerHour);
      expect(await field(page, "unschedulable-count")).toBe(expected.unschedulable.length);
      // One row per reason, with its first pod and how many pods share it.
      const shown = await page.$$eval("#unschedulable tr", (rows) =>
        rows.map((r) => {
          const d = (r as HTMLElement).dataset;
          return [d.pod, Number(d.pods), d.message];
        }),
      );
      const groups = new Map<string, { pod: string; n: number }>();
      for (const u of expected.unschedulable) {
        const g = groups.get(u.message);
        if (g === undefined) groups.set(u.message, { pod: u.pod, n: 1 });
        else g.n++;
      }
      expect(shown).toEqual([...groups].map(([message, g]) => [g.pod, g.n, message]));
      expect(await page.textContent('[data-field="cost-planned"]')).toContain(
        `$${expected.cost.plannedPerHour.toFixed(4)}/h`,
      );

      // Clicking a new node lists its pods, as the plan has them.
      const first = expected.nodeClaims[0];
      if (first !== undefined) {
        await page.click(`[data-node="${first.name}"]`);
        const listed = await page.$$eval("#node-detail .pods li", (li) => li.map((e) => e.textContent));
        expect(listed).toEqual(first.pods);
      }

      // The downloaded plan is the CLI's JSON, byte for byte after parsing.
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-plan")]);
      const downloaded = JSON.parse(readFileSync((await download.path()) as string, "utf8")) as Plan;
      expect(downloaded).toEqual(expected);
      const [claims] = await Promise.all([page.waitForEvent("download"), page.click("#download-nodeclaims")]);
      const yaml = readFileSync((await claims.path()) as string, "utf8");
      expect((yaml.match(/^kind: NodeClaim$/gm) ?? []).length).toBe(expected.nodeClaims.length);

      if (example.name === "production-api") {
        mkdirSync(join(repo, "test-results"), { recursive: true });
        await page.screenshot({ path: join(repo, "test-results/playground.png"), fullPage: true });
      }
      await page.context().close();
    });
  }

  test("the Consolidate tab shows the CLI's commands, savings and kept nodes", async () => {
    const expected = cli<DisruptionPlan>("consolidate", unprotectedDir, "--at", SUNDAY);
    const page = await openPage();
    await page.selectOption("#example", "production-api");
    await page.click('li.file:has-text("workloads.yaml")');
    await page.fill(
      "#editor",
      (unprotected.find((f) => f.source.endsWith("workloads.yaml")) as { text: string; source: string }).text,
    );
    await solve(page, SUNDAY);
    await page.click('[data-tab="consolidate"]');
    await page.waitForSelector('#tab-consolidate[data-state="done"]', { timeout: 60_000 });
    expect(await field(page, "disruption-commands")).toBe(expected.commands.length);
    expect(await field(page, "disruption-cost-after")).toBe(expected.cost.afterPerHour);
    expect(await field(page, "disruption-savings")).toBeCloseTo(
      expected.cost.currentPerHour - expected.cost.afterPerHour,
      9,
    );
    const goes = await page.$$eval("#tab-consolidate .goes li", (li) =>
      li.map((e) => (e as HTMLElement).dataset.node),
    );
    expect(goes).toEqual(expected.commands.flatMap((c) => c.candidates));
    const kept = await page.$$eval("[data-kept]", (li) =>
      li.map((e) => (e as HTMLElement).dataset.kept).sort(),
    );
    expect(kept).toEqual(expected.kept.map((k) => k.node).sort());
    const replacements = await page.$$eval("#tab-consolidate .replacements li", (li) => li.length);
    expect(replacements).toBe(expected.commands.flatMap((c) => c.replacements).length);
    mkdirSync(join(repo, "test-results"), { recursive: true });
    await page.screenshot({ path: join(repo, "test-results/playground-consolidate.png"), fullPage: true });
    await page.context().close();
  });

  test("the Doctor tab shows the CLI's findings, grouped by severity", async () => {
    const expected = cli<DoctorReport>("doctor", "examples/misconfigured-cluster");
    const page = await openPage();
    await page.selectOption("#example", "misconfigured-cluster");
    await solve(page);
    await page.click('[data-tab="doctor"]');
    await page.waitForSelector('#tab-doctor[data-state="done"]', { timeout: 120_000 });
    expect(await field(page, "doctor-findings")).toBe(expected.findings.length);
    expect(await field(page, "doctor-errors")).toBe(expected.summary.bySeverity.error);
    expect(await field(page, "doctor-savings-blocked")).toBe(expected.summary.savingsBlockedPerHour);
    const shown = await page.$$eval("#tab-doctor .finding", (els) =>
      els.map((e) => `${(e as HTMLElement).dataset.severity} ${(e as HTMLElement).dataset.rule}`),
    );
    expect(shown).toEqual(expected.findings.map((f) => `${f.severity} ${f.rule}`));
    mkdirSync(join(repo, "test-results"), { recursive: true });
    await page.screenshot({ path: join(repo, "test-results/playground-doctor.png"), fullPage: true });
    await page.context().close();
  });

  test("an uploaded catalog plans as the CLI's --catalog", async () => {
    const expected = cli<Plan>("plan", "examples/production-api", "--catalog", catalogFile);
    const page = await openPage();
    await page.selectOption("#example", "production-api");
    await page.check("#catalog-upload");
    await page.setInputFiles("#catalog-file", catalogFile);
    await page.waitForFunction(() => document.getElementById("catalog-name")?.textContent?.endsWith(".json"));
    await solve(page);
    expect(await page.getAttribute("body", "data-state")).toBe("solved");
    expect(await field(page, "new-nodes")).toBe(expected.nodeClaims.length);
    expect(await field(page, "cost-planned")).toBe(expected.cost.plannedPerHour);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-plan")]);
    expect(JSON.parse(readFileSync((await download.path()) as string, "utf8"))).toEqual(expected);
    await page.context().close();
  });

  test("bad input shows errors naming the line, object and field; the rest still plans", async () => {
    const page = await openPage();
    await page.click("#paste");
    await page.fill("#editor", badYaml);
    // The second file arrives by drag and drop.
    await page.evaluate((text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], "dropped.yaml", { type: "application/yaml" }));
      (document.getElementById("input-panel") as HTMLElement).dispatchEvent(
        new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }),
      );
    }, badQuantity);
    await page.waitForSelector('li.file:has-text("dropped.yaml")');
    await solve(page);
    const errors = await page.$$eval("#errors li", (li) => li.map((e) => e.textContent ?? ""));
    expect(errors).toEqual([
      expect.stringMatching(
        /^pasted-1\.yaml, document 1: .*line 5, column 1: Tabs are not allowed as indentation/,
      ),
      'dropped.yaml, document 2: Pod shop/greedy: spec.containers[0].resources.requests.cpu ("lots") is not a valid quantity: expected a Kubernetes quantity such as 500m, 2, 1.5Gi or 1e3',
    ]);
    // The valid Deployment of dropped.yaml is still planned for (on the default NodePool).
    expect(await field(page, "pending-pods")).toBe(2);
    expect(await field(page, "new-nodes")).toBeGreaterThan(0);
    await page.fill("#now", "not a time");
    await page.click("#solve");
    await page.waitForSelector('body[data-state="failed"]');
    expect(await page.textContent("#failure")).toContain('now "not a time" is not a time');
    await page.context().close();
  });

  test("no request leaves localhost", () => {
    expect(requests.length).toBeGreaterThan(0);
    const outside = requests.filter(
      (u) => !u.startsWith(base) && !u.startsWith("blob:") && !u.startsWith("data:"),
    );
    expect(outside).toEqual([]);
  });
});
