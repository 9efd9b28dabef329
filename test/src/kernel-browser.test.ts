import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createKernel, type EncodedProblem, encodedProblem, type KernelResult } from "@nodeplan/solver-wasm";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

/**
 * The kernel loads and solves in headless Chromium from plain files (inlined module, no fetch, no
 * bundler features), and gives the same answer as in Node. Debian's chromium is driven through
 * playwright-core; .ci/run installs it when /usr/bin/chromium is absent.
 */
const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI)
  throw new Error(`${CHROMIUM} is missing in CI: .ci/run should have installed it`);

/** A small problem built the same way in Node and in the page, by the package's builder (passed in). */
const problemSource = `
export function problem(encodedProblem) {
  const R = 3, G = 30, T = 64, W = 2;
  const requests = new Float64Array(G * R), counts = new Int32Array(G), compat = new Uint32Array(G * W).fill(0xffffffff);
  for (let g = 0; g < G; g++) { requests[g * R] = 100 + (g % 7) * 250; requests[g * R + 1] = (256 + (g % 5) * 512) * 1048576; requests[g * R + 2] = 1; counts[g] = 1 + (g % 9); }
  const allocatable = new Float64Array(T * R), priceMicros = new Float64Array(T);
  for (let t = 0; t < T; t++) { const size = 1 << (t % 6); allocatable[t * R] = size * 1930; allocatable[t * R + 1] = size * 3.5 * 2 ** 30 * (1 + (t % 3)); allocatable[t * R + 2] = 8 + size * 10; priceMicros[t] = size * 48000 * (1 + (t % 3)) + t; }
  return encodedProblem({
    resources: R,
    groups: { requests, counts, compat },
    offerings: { allocatable, priceMicros },
    options: { maxBins: 1000, maxPlacements: 10000, candidateShapes: 8, improve: true },
  });
}
/** Every output of a result as text: the page and Node must agree element by element. */
export function summarize(r) {
  const { status, newBins, binOffering, binOptions, binPool, placements, unplaced, unplacedReason } = r;
  return JSON.stringify({ status, newBins, binOffering: Array.from(binOffering), binOptions: Array.from(binOptions),
    binPool: Array.from(binPool), placements: Array.from(placements), unplaced: Array.from(unplaced),
    unplacedReason: Array.from(unplacedReason) });
}`;

describe.skipIf(!haveChromium)("kernel in headless Chromium", () => {
  let server: Server;
  let url = "";
  beforeAll(async () => {
    const bundle = await build({
      stdin: {
        contents: `${problemSource}
import { createKernel, encodedProblem } from "@nodeplan/solver-wasm";
const results = {};
for (const flavor of ["simd", "scalar", "reference"]) {
  const p = problem(encodedProblem);
  const r = createKernel({ flavor }).solve(p);
  results[flavor] = summarize(r);
}
globalThis.kernelResults = results;`,
        resolveDir: import.meta.dirname,
        loader: "ts",
      },
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      conditions: ["@nodeplan/source"],
      logLevel: "silent",
    });
    const js = bundle.outputFiles[0]?.text ?? "";
    server = createServer((req, res) => {
      if (req.url === "/kernel.js") {
        res.writeHead(200, { "content-type": "text/javascript" });
        res.end(js);
      } else {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(`<!doctype html><script type="module" src="/kernel.js"></script>`);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("SIMD, scalar and reference kernels solve in the page exactly as in Node", async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(url);
      await page.waitForFunction(
        () => (globalThis as { kernelResults?: unknown }).kernelResults !== undefined,
        undefined,
        { timeout: 30_000 },
      );
      const inPage = (await page.evaluate(
        () => (globalThis as { kernelResults?: unknown }).kernelResults,
      )) as Record<string, string>;
      expect(errors).toEqual([]);
      const { problem, summarize } = (await import(
        `data:text/javascript,${encodeURIComponent(problemSource)}`
      )) as {
        problem: (build: typeof encodedProblem) => EncodedProblem;
        summarize: (r: KernelResult) => string;
      };
      const p = problem(encodedProblem);
      const inNode = summarize(createKernel({ flavor: "simd" }).solve(p));
      expect(JSON.parse(inNode).newBins).toBeGreaterThan(0);
      expect(inPage.simd).toBe(inNode);
      expect(inPage.scalar).toBe(inNode);
      expect(inPage.reference).toBe(inNode);
    } finally {
      await browser.close();
    }
  });
});
