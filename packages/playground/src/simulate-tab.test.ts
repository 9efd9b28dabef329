import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import type { SimulationResult } from "@nodeplan/simulator";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildPlayground, readExamples, readSimulations } from "../scripts/build.mjs";
import { runSimulation } from "./run-simulate.ts";

const repo = resolve(import.meta.dirname, "../../..");
const CHROMIUM = "/usr/bin/chromium";
const simulations = readSimulations();

/** A bundled scenario's files, named as the scenario names them (as the page hands them over). */
function filesOf(name: string) {
  const s = simulations.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no simulation ${name}`);
  const examples = readExamples();
  const files = s.examples.flatMap(
    (e) =>
      examples
        .find((x) => x.name === e)
        ?.files.map((f) => ({
          source: `../${e}/${f.source.slice(f.source.lastIndexOf("/") + 1)}`,
          text: f.text,
        })) ?? [],
  );
  return { scenario: s.scenario, files };
}

describe("the simulation run (Node)", { timeout: 300_000 }, () => {
  test("every scenario of examples/simulations is bundled with the example folders it names", () => {
    expect(simulations.map((s) => s.name)).toContain("production-api-pools");
    for (const s of simulations) expect(s.examples.length).toBeGreaterThan(0);
  });

  test("same result as `nodeplan simulate -o json`", async () => {
    const { scenario, files } = filesOf("production-api-pools");
    const mine = await runSimulation({ scenario, files, duration: "20m", strategies: "nodeplan" });
    const cli = JSON.parse(
      execFileSync(
        process.execPath,
        [
          "--conditions=@nodeplan/source",
          "packages/cli/src/bin.ts",
          "simulate",
          "examples/simulations/production-api-pools.yaml",
          "--duration",
          "20m",
          "--strategy",
          "nodeplan",
          "-o",
          "json",
        ],
        { cwd: repo, encoding: "utf8", maxBuffer: 2 ** 26 },
      ),
    ) as SimulationResult;
    expect(JSON.parse(JSON.stringify(mine.result))).toEqual(cli);
    expect(mine.svg).toMatch(/^<svg /);
  });

  test("a scenario whose manifests were not given is a clear error", async () => {
    const { scenario } = filesOf("production-api-pools");
    await expect(runSimulation({ scenario, files: [] })).rejects.toThrow(
      /manifests \(\.\.\/production-api\) are not among the files/,
    );
  });
});

describe.skipIf(!existsSync(CHROMIUM))("the Simulate tab (Chromium)", { timeout: 300_000 }, () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let base = "";
  let outdir = "";
  const types: Record<string, string> = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
  };

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), "playground-simulate-"));
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
    await new Promise<void>((done) => server?.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    if (outdir !== "") rmSync(outdir, { recursive: true, force: true });
  });

  test("runs a bundled scenario in the worker, shows the chart and plays it", async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(base);
    await page.waitForSelector('body[data-state="ready"]');
    await page.click("#open-simulate");
    await page.selectOption("#sim-scenario", "production-api-pools");
    await page.fill("#sim-duration", "20m");
    await page.uncheck("#sim-karpenter");
    await page.click("#sim-run");
    await page.waitForSelector('#tab-simulate[data-state="done"], #tab-simulate[data-state="failed"]', {
      timeout: 240_000,
    });
    expect(await page.getAttribute("#tab-simulate", "data-state")).toBe("done");
    expect(await page.$$eval("#sim-chart svg polyline", (e) => e.length)).toBe(3);
    expect(await page.textContent("#sim-report")).toMatch(/cost for the period/);
    // Scrubbing to the end moves the cursor to the plot's right edge and reads the last sample.
    await page.$eval("#sim-scrub", (e) => {
      const input = e as HTMLInputElement;
      input.value = "1000";
      input.dispatchEvent(new Event("input"));
    });
    expect(await page.getAttribute("#sim-chart .cursor", "visibility")).toBe("visible");
    expect(await page.getAttribute("#sim-readout", "data-t")).toBe("1200");
    expect(await page.textContent("#sim-readout")).toMatch(
      /nodeplan: \$\d+\.\d\d\/h, \d+ nodes, \d+ pending/,
    );
    expect(errors).toEqual([]);
  });
});
