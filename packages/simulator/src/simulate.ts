import { type Solver, strategies } from "@nodeplan/core";
import type { ManifestInput } from "@nodeplan/k8s-adapter";
import { hasNodeCosts, type RunInput, runStrategy } from "./engine.ts";
import { applyPatches, type LoadedCluster, workloadsFromManifests } from "./load.ts";
import type { SimulationResult } from "./result.ts";
import { millis, type Scenario } from "./scenario.ts";

/** What `simulate` needs from its host. */
export interface SimulateInput {
  scenario: Scenario;
  /** The texts of the manifests the scenario names, as the host read them (files, a page's form). */
  manifests: readonly ManifestInput[];
  /**
   * Reads the (patched) manifests as `nodeplan plan` reads them, at the scenario's start, offering the
   * scenario's zones and capacity types (the CLI and the playground pass their prepareInputs).
   */
  prepare(
    texts: ManifestInput[],
    options: { now: string; zones?: string[]; capacityTypes?: string[] },
  ): Promise<LoadedCluster>;
  solver: Solver;
  /** Progress of the strategy being run (0..1). */
  onProgress?: (strategy: string, fraction: number) => void;
  /** Every pass of the decision step, per strategy (see RunInput.onDecision). */
  onDecision?: (strategy: string, ...pass: Parameters<NonNullable<RunInput["onDecision"]>>) => void;
}

/**
 * Runs every strategy of the scenario over the same manifests, timeline and seed, one after the other,
 * and returns the result CONTRACTS.md describes. Throws ScenarioError for unusable input and
 * SimulationFailure when a run breaks an invariant.
 */
export async function simulate(input: SimulateInput): Promise<SimulationResult> {
  const { scenario } = input;
  const spec = scenario.spec;
  const texts = applyPatches(input.manifests, spec.patches);
  const loaded = await input.prepare(texts, {
    now: spec.start,
    ...(spec.catalog.zones === undefined ? {} : { zones: spec.catalog.zones }),
    ...(spec.catalog.capacityTypes === undefined ? {} : { capacityTypes: spec.catalog.capacityTypes }),
  });
  const workloads = workloadsFromManifests(texts, loaded.cluster, spec.start);
  const result: SimulationResult = {
    scenario: scenario.metadata.name,
    durationSeconds: millis(spec.duration) / 1000,
    seed: spec.seed,
    start: spec.start,
    strategies: {},
    notes: [
      ...(hasNodeCosts(loaded.instanceTypes)
        ? []
        : [
            "costs are instance prices only: the catalog records no per-node costs (volumes, public IPv4, burstable credits, fees)",
          ]),
    ],
  };
  for (const name of spec.strategies) {
    const strategy = strategies[name];
    result.strategies[name] = runStrategy({
      scenario,
      loaded,
      workloads,
      solver: input.solver,
      strategy,
      ...(input.onProgress === undefined ? {} : { onProgress: (f: number) => input.onProgress?.(name, f) }),
      ...(input.onDecision === undefined
        ? {}
        : {
            onDecision: (...pass: Parameters<NonNullable<RunInput["onDecision"]>>) =>
              input.onDecision?.(name, ...pass),
          }),
    });
  }
  return result;
}
