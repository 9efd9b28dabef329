import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDurationMillis } from "@nodeplan/core";
import {
  parseScenario,
  renderSvg,
  renderText,
  type Scenario,
  ScenarioError,
  type SimulationResult,
  scenarioJsonSchema,
  simulate,
} from "@nodeplan/simulator";
import { nodeSchemas, openCatalog, readInputFiles } from "./inputs.ts";
import { type LoadedInputs, loadSolver, prepareInputs, prepareOptions, UsageError } from "./prepare.ts";

/** `nodeplan simulate` options as commander gives them. */
export interface SimulateOptions {
  strategy?: string;
  duration?: string;
  seed?: string;
  output: "text" | "json" | "svg";
  catalog?: string;
  schema?: boolean;
}

/** What a run produced: the result, and the inputs' notes and errors for stderr. */
export interface SimulateRun {
  result: SimulationResult;
  inputs: LoadedInputs | undefined;
}

const STRATEGIES = ["nodeplan", "karpenter"] as const;

/** The scenario file with the command line's overrides (--strategy, --duration, --seed) applied. */
export function scenarioWithOverrides(path: string, options: SimulateOptions): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`${path}: no such file (give a scenario file; see examples/simulations)`);
  }
  let scenario: Scenario;
  try {
    scenario = parseScenario(text, path);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
  const spec = scenario.spec;
  if (options.strategy !== undefined) {
    const names = options.strategy
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    for (const n of names)
      if (!(STRATEGIES as readonly string[]).includes(n))
        throw new UsageError(
          `--strategy ${n}: not a strategy (use ${STRATEGIES.join(", ")}, comma-separated)`,
        );
    if (names.length === 0) throw new UsageError("--strategy: give at least one of nodeplan, karpenter");
    spec.strategies = names as Scenario["spec"]["strategies"];
  }
  if (options.duration !== undefined) {
    const ms = parseDurationMillis(options.duration);
    if (ms === null || ms <= 0)
      throw new UsageError(
        `--duration ${options.duration}: not a positive duration (use 30m, 6h, 24h, 1h30m)`,
      );
    spec.duration = options.duration;
  }
  if (options.seed !== undefined) {
    if (!/^\d+$/.test(options.seed) || !Number.isSafeInteger(Number(options.seed)))
      throw new UsageError(`--seed ${options.seed}: not a non-negative integer`);
    spec.seed = Number(options.seed);
  }
  return scenario;
}

/**
 * Runs a scenario: its manifests (relative to the scenario file) are read and prepared exactly as
 * `nodeplan plan` reads them (same loader, same catalog options), then every strategy is simulated.
 * `progress` gets (strategy, fraction done).
 */
export async function simulateScenario(
  path: string,
  options: SimulateOptions,
  progress: (strategy: string, fraction: number) => void = () => {},
): Promise<SimulateRun> {
  const scenario = scenarioWithOverrides(path, options);
  const base = dirname(resolve(path));
  const { texts } = readInputFiles(scenario.spec.manifests.map((m) => resolve(base, m)));
  let inputs: LoadedInputs | undefined;
  const result = await simulate({
    scenario,
    manifests: texts,
    solver: await loadSolver(),
    prepare: async (patched, o) => {
      const prepared = prepareOptions({
        now: o.now,
        ...(o.zones === undefined ? {} : { zones: o.zones.join(",") }),
        ...(o.capacityTypes === undefined ? {} : { capacityTypes: o.capacityTypes.join(",") }),
        schemas: nodeSchemas,
        names: {
          now: "spec.start",
          zones: "spec.catalog.zones",
          capacityTypes: "spec.catalog.capacityTypes",
        },
      });
      inputs = await prepareInputs(patched, prepared, (offer, errors) =>
        openCatalog(options.catalog ?? "embedded", offer, errors),
      );
      return { cluster: inputs.cluster, instanceTypes: inputs.instanceTypes };
    },
    onProgress: progress,
  });
  return { result, inputs };
}

/** The result in the chosen format: the report, the CONTRACTS.md JSON, or the SVG chart. */
export function renderSimulation(result: SimulationResult, output: SimulateOptions["output"]): string {
  if (output === "json") return `${JSON.stringify(result, null, 2)}\n`;
  if (output === "svg") return renderSvg(result);
  return renderText(result);
}

/** The scenario file's JSON Schema. */
export function scenarioSchemaText(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}
