/**
 * @nodeplan/playground: the in-browser planning page (built by scripts/build.mjs into dist/). The
 * planning runs are exported for tests and embedders: the CLI's steps and defaults over texts.
 */
export {
  type DisruptionResult,
  type DoctorResult,
  describeFailure,
  type LoadedInputs,
  loadInputs,
  type NodeView,
  nodeViews,
  type PlanRequest,
  type PlanResult,
  RequestError,
  type ResourceUse,
  renderLocatedError,
  runDisruption,
  runDoctorRequest,
  runPlan,
} from "./run-plan.ts";
export {
  manifestsOf,
  runSimulation,
  type SimulateRequest,
  type SimulateResult,
  scenarioOf,
} from "./run-simulate.ts";
