import { loadSolver, prepareInputs, prepareOptions } from "@nodeplan/cli/prepare";
import type { ManifestInput } from "@nodeplan/k8s-adapter";
import {
  parseScenario,
  renderSvg,
  renderText,
  type Scenario,
  ScenarioError,
  type SimulationResult,
  simulate,
} from "@nodeplan/simulator";
import { RequestError } from "./run-plan.ts";

/**
 * The playground's simulation run: `nodeplan simulate` over texts. The scenario names its manifests by
 * path relative to itself; the page passes those files along (the bundled examples carry theirs).
 */

/** What the page asks the worker to simulate. */
export interface SimulateRequest {
  scenario: ManifestInput;
  /** Every manifest file the scenario can name, by its path relative to the scenario file's folder. */
  files: ManifestInput[];
  /** The CLI's --duration and --strategy overrides (comma-separated). */
  duration?: string;
  strategies?: string;
}

/** What the worker sends back: the CONTRACTS.md result, its chart and its text report. */
export interface SimulateResult {
  result: SimulationResult;
  svg: string;
  text: string;
  notes: string[];
}

/** The scenario with the page's overrides, or a RequestError naming what is wrong. */
export function scenarioOf(request: SimulateRequest): Scenario {
  let scenario: Scenario;
  try {
    scenario = parseScenario(request.scenario.text, request.scenario.source);
  } catch (e) {
    if (e instanceof ScenarioError) throw new RequestError(e.message);
    throw e;
  }
  if (request.duration !== undefined && request.duration.trim() !== "") {
    const d = request.duration.trim();
    if (!/^(\d+(\.\d+)?(h|m|s))+$/.test(d) || /^0+(h|m|s)$/.test(d))
      throw new RequestError(`duration ${JSON.stringify(d)}: not a positive duration such as 30m, 6h or 24h`);
    scenario.spec.duration = d;
  }
  if (request.strategies !== undefined && request.strategies.trim() !== "") {
    const names = request.strategies.split(",").map((s) => s.trim());
    for (const n of names)
      if (n !== "nodeplan" && n !== "karpenter")
        throw new RequestError(`strategy ${n}: use nodeplan, karpenter`);
    scenario.spec.strategies = names as Scenario["spec"]["strategies"];
  }
  return scenario;
}

/** The manifests a scenario names: files whose path is, or lies under, one of `spec.manifests`. */
export function manifestsOf(scenario: Scenario, files: readonly ManifestInput[]): ManifestInput[] {
  const wanted = scenario.spec.manifests.map((m) => normalize(m));
  const out = files.filter((f) => {
    const path = normalize(f.source);
    return wanted.some((w) => path === w || path.startsWith(`${w}/`));
  });
  if (out.length === 0)
    throw new RequestError(
      `the scenario's manifests (${scenario.spec.manifests.join(", ")}) are not among the files given`,
    );
  return [...out].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
}

/** A relative path without `./` and trailing slashes, `a/b/../c` folded. */
function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

/** Runs the scenario as `nodeplan simulate` does (embedded catalog), reporting progress. */
export async function runSimulation(
  request: SimulateRequest,
  progress: (strategy: string, fraction: number) => void = () => {},
): Promise<SimulateResult> {
  const scenario = scenarioOf(request);
  const manifests = manifestsOf(scenario, request.files);
  const notes: string[] = [];
  const result = await simulate({
    scenario,
    manifests,
    solver: await loadSolver(),
    prepare: async (texts, o) => {
      const inputs = await prepareInputs(
        texts,
        prepareOptions({
          now: o.now,
          ...(o.zones === undefined ? {} : { zones: o.zones.join(",") }),
          ...(o.capacityTypes === undefined ? {} : { capacityTypes: o.capacityTypes.join(",") }),
          names: {
            now: "spec.start",
            zones: "spec.catalog.zones",
            capacityTypes: "spec.catalog.capacityTypes",
          },
        }),
      );
      notes.push(...inputs.notes, ...inputs.errors.map((e) => e.message));
      return { cluster: inputs.cluster, instanceTypes: inputs.instanceTypes };
    },
    onProgress: progress,
  });
  return { result, svg: renderSvg(result), text: renderText(result), notes };
}
