import {
  type DisruptionResult,
  describeFailure,
  type PlanRequest,
  type PlanResult,
  runDisruption,
  runPlan,
} from "./run-plan.ts";

/** A request to the worker: plan new capacity, or plan consolidation of the existing nodes. */
export type WorkerRequest = { id: number; mode: "plan" | "consolidate"; request: PlanRequest };

/** The worker's answer to one request: the result, or the one message saying why there is none. */
export type WorkerReply =
  | { id: number; ok: true; mode: "plan"; result: PlanResult }
  | { id: number; ok: true; mode: "consolidate"; result: DisruptionResult }
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
        : { id, ok: true, mode, result: await runDisruption(request) };
  } catch (e) {
    reply = { id, ok: false, message: describeFailure(e) };
  }
  scope.postMessage(reply);
};
