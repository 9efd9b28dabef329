import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { createSolver } from "@nodeplan/core";
import { Bench } from "tinybench";
import { renderChart } from "./chart.ts";
import { type Scenario, scenarios } from "./scenarios.ts";

/**
 * `npm run bench -- [--filter <substring>] [--json] [--smoke] [--time <ms>]`
 * One JSON row per scenario on stdout with --json; progress and tables on stderr. The full run (no
 * filter, not smoke) rewrites bench/results/latest.json and BENCHMARKS.md.
 */
export interface BenchRowOut {
  id: string;
  pods: number;
  medianMs: number;
  p95Ms: number;
  podsPerSec: number;
  samples: number;
  [field: string]: unknown;
}

/** Runs one scenario: times `run` with tinybench, then reports on one more untimed run. */
export async function runScenario(
  s: Scenario,
  options: { smoke: boolean; timeMs: number },
): Promise<BenchRowOut> {
  const solver = await createSolver();
  const prepared = s.prepare(solver, options.smoke);
  let medianMs: number;
  let p95Ms: number;
  let samplesCount: number;
  if (options.smoke) {
    const start = performance.now();
    prepared.run();
    medianMs = p95Ms = performance.now() - start;
    samplesCount = 1;
  } else {
    const bench = new Bench({
      time: options.timeMs,
      iterations: 5,
      warmupIterations: 2,
      retainSamples: true,
    });
    bench.add(s.id, prepared.run);
    await bench.run();
    const result = bench.tasks[0]?.result;
    if (result === undefined || !("latency" in result))
      throw new Error(`${s.id}: benchmark did not complete`);
    const samples = result.latency.samples ?? [result.latency.p50];
    medianMs = result.latency.p50;
    p95Ms = samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.95))] as number;
    samplesCount = samples.length;
  }
  const report = await prepared.report();
  return {
    id: s.id,
    pods: prepared.pods,
    ...report,
    medianMs: round(medianMs),
    p95Ms: round(p95Ms),
    podsPerSec: Math.round(prepared.pods / (medianMs / 1000)),
    // A consolidation row times its whole loop.
    ...("passes" in report ? { loopMs: round(medianMs) } : {}),
    samples: samplesCount,
  } as BenchRowOut;
}

const fmt = (x: unknown, digits = 2) => (typeof x === "number" ? x.toFixed(digits) : "–");

const cell = (x: unknown) => (x === null || x === undefined ? "–" : String(x));

/** A cost breakdown in one cell: instance + storage + public IPv4 + burstable credits + fees, those not zero. */
const breakdown = (x: unknown) => {
  if (typeof x !== "object" || x === null) return "–";
  const c = x as Record<string, number>;
  const parts: [string, string][] = [
    ["instancePerHour", "inst"],
    ["storagePerHour", "ebs"],
    ["networkPerHour", "ipv4"],
    ["burstableCreditsPerHour", "credits"],
    ["feesPerHour", "fees"],
  ];
  return parts
    .filter(([k]) => k === "instancePerHour" || (c[k] ?? 0) > 0)
    .map(([k, name]) => `${name} ${fmt(c[k], 3)}`)
    .join(" + ");
};

/** The generated part of BENCHMARKS.md: the main table, then exact optima, consolidation and the kernel. */
export function benchmarksTable(rows: readonly BenchRowOut[], machine: string, date: string): string {
  const main = rows.filter(
    (r) =>
      r.kernelWasmSimdMs === undefined &&
      !r.id.startsWith("exact-") &&
      r.currentCostPerHour === undefined &&
      r.simulatedSeconds === undefined,
  );
  const head =
    "| id | pods | nodes | scheduled | median ms | p95 ms | pods/s | cost $/h | breakdown $/h | bound $/h | cost/bound | baseline $/h | baseline breakdown $/h | baseline nodes | baseline scheduled | warnings | valid |\n" +
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |\n";
  const body = main
    .map(
      (r) =>
        `| ${r.id} | ${r.pods} | ${r.nodes} | ${r.scheduledPods} | ${fmt(r.medianMs, 1)} | ${fmt(r.p95Ms, 1)} | ${r.podsPerSec} | ${fmt(r.costPerHour, 3)} | ${breakdown(r.costBreakdown)} | ${fmt(r.lowerBoundPerHour, 3)} | ${fmt(r.costRatio, 4)} | ${fmt(r.baselineCostPerHour, 3)} | ${breakdown(r.baselineCostBreakdown)} | ${cell(r.baselineNodes)} | ${cell(r.baselineScheduledPods)} | ${cell(r.warnings)} | ${cell(r.valid)} |`,
    )
    .join("\n");
  const exact = rows.filter((r) => r.id.startsWith("exact-"));
  const exactTable =
    exact.length === 0
      ? ""
      : "\n\nExact optima (HiGHS MIP, bench/src/exact.ts; started from nodeplan's plan; time limit per row). " +
        "When the limit stops the search, `optimum` shows HiGHS' proven interval [bound, best found].\n\n" +
        "| id | pods | types | nodeplan $/h | core bound $/h | optimum $/h | status | nodeplan / optimum | bound / optimum | baseline $/h | MIP s |\n" +
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n" +
        exact
          .map((r) => {
            const opt =
              r.optimumPerHour !== null && r.optimumPerHour !== undefined
                ? fmt(r.optimumPerHour, 4)
                : `[${fmt(r.exactDualBoundPerHour, 4)}, ${fmt(r.exactBestPerHour, 4)}]`;
            return `| ${r.id} | ${r.pods} | ${r.instanceTypes} | ${fmt(r.costPerHour, 4)} | ${fmt(r.lowerBoundPerHour, 4)} | ${opt} | ${r.exactStatus} | ${fmt(r.costOverOptimum, 4)} | ${fmt(r.boundOverOptimum, 4)} | ${fmt(r.baselineCostPerHour, 4)} | ${fmt((r.exactSolveMs as number) / 1000, 1)} |`;
          })
          .join("\n");
  const consolidate = rows.filter((r) => r.currentCostPerHour !== undefined);
  const converged = (r: BenchRowOut, key: "converged" | "baselineConverged") =>
    r[key] === false ? " (cap)" : "";
  const consolidateTable =
    consolidate.length === 0
      ? ""
      : "\n\nConsolidation as a controller runs it: plan one wave, carry it out, plan again, until no command is left " +
        "(or 200 passes, marked cap). Both strategies start from the same cluster, NodePool and catalog; `median ms` is " +
        "nodeplan's whole loop; `bound` is proven on the cluster nodeplan's loop ends with.\n\n" +
        "| id | nodes before | current $/h | nodeplan after $/h | nodes after | passes | pods evicted | karpenter after $/h | karpenter nodes after | karpenter passes | karpenter pods evicted | bound $/h | median ms |\n" +
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
        consolidate
          .map(
            (r) =>
              `| ${r.id} | ${cell(r.currentNodes)} | ${fmt(r.currentCostPerHour, 3)} | ${fmt(r.costPerHour, 3)} | ${cell(r.nodesAfter)} | ${cell(r.passes)}${converged(r, "converged")} | ${cell(r.evictedPods)} | ${fmt(r.baselineCostPerHour, 3)} | ${cell(r.baselineNodesAfter)} | ${cell(r.baselinePasses)}${converged(r, "baselineConverged")} | ${cell(r.baselineEvictedPods)} | ${fmt(r.lowerBoundPerHour, 3)} | ${fmt(r.medianMs, 1)} |`,
          )
          .join("\n");
  const kernel = rows
    .filter((r) => r.kernelWasmSimdMs !== undefined)
    .map(
      (r) =>
        `\n\nKernel alone (${r.id}, median of 15): WASM SIMD ${fmt(r.kernelWasmSimdMs)} ms, WASM scalar ${fmt(r.kernelWasmScalarMs)} ms, TS reference ${fmt(r.kernelTsMs)} ms.`,
    )
    .join("");
  const simulated = rows.filter((r) => r.simulatedSeconds !== undefined);
  const hours = (seconds: unknown) => fmt((seconds as number) / 3600, 1);
  const simulationTable =
    simulated.length === 0
      ? ""
      : "\n\nSimulated days (`nodeplan simulate`, examples/simulations; bench/src/simulate-scenarios.ts). One row per " +
        "strategy on the same timeline, each provisioning and disrupting with its own algorithm (nodeplan's; " +
        "Karpenter's scheduler and disruption, core's `karpenterStrategy`). `day wall s` / `day CPU s` run the whole day once; `slice ms` is the " +
        "median of the day's first 15 minutes. The 2,000-node day runs only when asked for " +
        "(`npm run bench -- --filter simulate-day-2000`).\n\n" +
        "| id | simulated h | day wall s | day CPU s | sim s / wall s | slice ms | cost $ | $/h | node-hours | peak nodes | pending pod-s | pending p95 s | below desired s | evictions | launches |\n" +
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
        simulated
          .map(
            (r) =>
              `| ${r.id} | ${hours(r.simulatedSeconds)} | ${fmt(r.dayWallSeconds, 1)} | ${fmt(r.dayCpuSeconds, 1)} | ${cell(r.simulatedSecondsPerWallSecond)} | ${fmt(r.medianMs, 1)} | ${fmt(r.costTotal, 2)} | ${fmt(r.costPerHour, 3)} | ${fmt(r.nodeHours, 1)} | ${cell(r.nodes)} | ${fmt(r.pendingPodSeconds, 0)} | ${fmt(r.pendingSecondsP95, 0)} | ${fmt(r.belowDesiredReplicaSeconds, 0)} | ${cell(r.evictions)} | ${cell(r.launches)} |`,
          )
          .join("\n");
  const chart = "\n\n![pods/s against pods, and cost / lower bound per row](bench/results/chart.svg)";
  return `<!-- table:start -->\nMachine: ${machine}. Generated by \`npm run bench\` on ${date}.\n\n${head}${body}${exactTable}${consolidateTable}${kernel}${simulationTable}${chart}\n<!-- table:end -->`;
}

/** Rewrites the generated table of BENCHMARKS.md (between its markers), keeping the hand-written reading. */
function writeBenchmarksTable(rows: BenchRowOut[], machine: string): void {
  const url = new URL("../../BENCHMARKS.md", import.meta.url);
  const table = benchmarksTable(rows, machine, new Date().toISOString().slice(0, 10));
  let text = "";
  try {
    text = readFileSync(url, "utf8");
  } catch {
    text = "# Benchmarks\n\n<!-- table:start -->\n<!-- table:end -->\n";
  }
  writeFileSync(url, text.replace(/<!-- table:start -->[\s\S]*<!-- table:end -->/, table));
  writeFileSync(
    new URL("../results/chart.svg", import.meta.url),
    renderChart(rows.filter((r) => r.simulatedSeconds === undefined)),
  );
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      filter: { type: "string" },
      json: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
      time: { type: "string", default: "3000" },
    },
  });
  // The 2,000-node simulated day takes far longer than the rest of the suite: it runs when asked for.
  const selected = scenarios.filter((s) =>
    values.filter === undefined ? !s.id.startsWith("simulate-day-2000") : s.id.includes(values.filter),
  );
  if (selected.length === 0) {
    process.stderr.write(
      `no scenario matches ${JSON.stringify(values.filter)}; ids: ${scenarios.map((s) => s.id).join(", ")}\n`,
    );
    process.exitCode = 2;
    return;
  }
  const rows: BenchRowOut[] = [];
  for (const s of selected) {
    process.stderr.write(`running ${s.id}...\n`);
    const row = await runScenario(s, { smoke: values.smoke, timeMs: Number(values.time) });
    rows.push(row);
    if (values.json) process.stdout.write(`${JSON.stringify(row)}\n`);
    else process.stderr.write(`${JSON.stringify(row)}\n`);
  }
  if (values.filter === undefined && !values.smoke) {
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    const results = { generatedAt: new Date().toISOString(), machine, rows };
    writeFileSync(
      new URL("../results/latest.json", import.meta.url),
      `${JSON.stringify(results, null, 2)}\n`,
    );
    writeBenchmarksTable(rows, machine);
    process.stderr.write("wrote bench/results/latest.json, bench/results/chart.svg and BENCHMARKS.md\n");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
