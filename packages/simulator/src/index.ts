/**
 * @nodeplan/simulator: the autoscaler loop in simulated time. A simulated cluster (node lifecycle, a
 * kube-scheduler model, Deployments and StatefulSets with rollouts, PDB-respecting eviction, HPA,
 * ArgoCD sync, spot interruptions, expiration and drift) driven by core's decision step, the same one a
 * controller runs; strategies compared on one timeline and seed. Browser-safe.
 */
export {
  DEFAULT_SCALE_DOWN,
  DEFAULT_SCALE_UP,
  desiredFromUtilization,
  Hpa,
  type HpaSample,
  type HpaSpec,
  LoadCurve,
  type ScalingRules,
} from "./autoscaling.ts";
export { type RunInput, runStrategy, SimulationFailure } from "./engine.ts";
export { desiredHealthy, type EvictionRefusal, evictionRefusal, type PdbCounts } from "./eviction.ts";
export {
  applyPatches,
  type LoadedCluster,
  mergePatch,
  type WorkloadSpec,
  type Workloads,
  workloadsFromManifests,
} from "./load.ts";
export { renderSvg, renderText } from "./render.ts";
export {
  type SimulationResult,
  SimulationResultSchema,
  type StrategyResult,
  type Summary,
} from "./result.ts";
export { type Distribution, draw, hash32, Rng } from "./rng.ts";
export {
  parseScenario,
  type Scenario,
  ScenarioError,
  type ScenarioInput,
  ScenarioSchema,
  scenarioJsonSchema,
} from "./scenario.ts";
export {
  feasibleToFind,
  KubeScheduler,
  type NodeScore,
  SCORE_WEIGHTS,
  type SchedulerView,
  SelectorIndex,
} from "./scheduler.ts";
export { type SimulateInput, simulate } from "./simulate.ts";
