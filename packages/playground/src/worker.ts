import {
  type DisruptionResult,
  type DoctorResult,
  describeFailure,
  type PlanRequest,
  type PlanResult,
  runDisruption,
  runDoctorRequest,
  runPlan,
} from "./run-plan.ts";
import { runSimulation, type SimulateRequest, type SimulateResult } from "./run-simulate.ts";

/** A request to the worker: plan new capacity, plan consolidation of the existing nodes, run the doctor, or simulate. */
export type WorkerRequest =
  | { id: number; mode: "plan" | "consolidate" | "doctor"; request: PlanRequest }
  | { id: number; mode: "simulate"; request: SimulateRequest };

/**
 * The worker's answer to one request: the result, or the one message saying why there is none. A
 * simulation also sends progress messages before its answer.
 */
export type WorkerReply =
  | { id: number; ok: true; mode: "plan"; result: PlanResult }
  | { id: number; ok: true; mode: "consolidate"; result: DisruptionResult }
  | { id: number; ok: true; mode: "simulate"; result: SimulateResult }
  | { id: number; ok: true; mode: "doctor"; result: DoctorResult }
  | { id: number; ok: false; message: string };

/** Progress of a simulation, before its reply. */
export type WorkerProgress = { id: number; progress: { strategy: string; fraction: number } };

/** Solves off the page's thread: one request in, one reply out. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(reply: WorkerReply | WorkerProgress): void;
};

scope.onmessage = async (event) => {
  const { id } = event.data;
  let reply: WorkerReply;
  try {
    if (event.data.mode === "simulate") {
      const result = await runSimulation(event.data.request, (strategy, fraction) =>
        scope.postMessage({ id, progress: { strategy, fraction } }),
      );
      reply = { id, ok: true, mode: "simulate", result };
    } else {
      const { mode, request } = event.data;
      reply =
        mode === "plan"
          ? { id, ok: true, mode, result: await runPlan(request) }
          : mode === "consolidate"
            ? { id, ok: true, mode, result: await runDisruption(request) }
            : { id, ok: true, mode, result: await runDoctorRequest(request) };
    }
  } catch (e) {
    reply = { id, ok: false, message: describeFailure(e) };
  }
  scope.postMessage(reply);
};
