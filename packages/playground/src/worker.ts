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

/** A request to the worker: plan new capacity, plan consolidation of the existing nodes, or run the doctor. */
export type WorkerRequest = { id: number; mode: "plan" | "consolidate" | "doctor"; request: PlanRequest };

/** The worker's answer to one request: the result, or the one message saying why there is none. */
export type WorkerReply =
  | { id: number; ok: true; mode: "plan"; result: PlanResult }
  | { id: number; ok: true; mode: "consolidate"; result: DisruptionResult }
  | { id: number; ok: true; mode: "doctor"; result: DoctorResult }
  | { id: number; ok: false; message: string };

/** Solves off the page's thread: one request in, one reply out. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(reply: WorkerReply): void;
};

scope.onmessage = async (event) => {
  const { id, mode, request } = event.data;
  let reply: WorkerReply;
  try {
    reply =
      mode === "plan"
        ? { id, ok: true, mode, result: await runPlan(request) }
        : mode === "consolidate"
          ? { id, ok: true, mode, result: await runDisruption(request) }
          : { id, ok: true, mode, result: await runDoctorRequest(request) };
  } catch (e) {
    reply = { id, ok: false, message: describeFailure(e) };
  }
  scope.postMessage(reply);
};
