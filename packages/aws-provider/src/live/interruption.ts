import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { type InterruptionEvent, InterruptionEventSchema, type InterruptionKind } from "@nodeplan/core";
import { z } from "zod";
import type { SqsApi } from "./launch-clients.ts";
import { type RetryOptions, withThrottlingRetry } from "./retry.ts";

/**
 * Interruption events from the SQS queue EventBridge feeds, as Karpenter reads them
 * (A: pkg/controllers/interruption/, messages/{spotinterruption,rebalancerecommendation,
 * scheduledchange,statechange}): spot interruption warnings, rebalance recommendations, AWS Health
 * scheduled changes for EC2, and instance state changes to stopping/stopped/shutting-down/terminated.
 */

const SPOT_WARNING_MILLIS = 2 * 60_000;

const envelope = z.object({
  id: z.string().min(1),
  "detail-type": z.string(),
  source: z.string(),
  time: z.string().refine((t) => Number.isFinite(Date.parse(t)), "expected a timestamp"),
  detail: z.looseObject({}),
});
const instanceDetail = z.looseObject({ "instance-id": z.string().regex(/^i-[0-9a-zA-Z]+$/) });
const stateDetail = instanceDetail.extend({ state: z.string() });
const healthDetail = z.looseObject({
  service: z.string(),
  eventTypeCategory: z.string(),
  eventTypeCode: z.string().optional(),
  startTime: z
    .string()
    .refine((t) => Number.isFinite(Date.parse(t)), "expected a timestamp")
    .optional(),
  affectedEntities: z.array(z.looseObject({ entityValue: z.string() })).min(1),
});

/** What one queue message holds. */
export type ParsedInterruptionMessage =
  | { kind: "events"; events: InterruptionEvent[] }
  /** A well-formed message nodeplan does not act on (another state, another service). */
  | { kind: "ignored"; reason: string }
  | { kind: "malformed"; error: string };

const iso = (t: string) => new Date(Date.parse(t)).toISOString();

const stateKinds: Record<string, InterruptionKind> = {
  stopping: "instance_stopping",
  stopped: "instance_stopping",
  "shutting-down": "instance_terminating",
  terminated: "instance_terminating",
};

function issues(error: z.ZodError, base: string): string {
  return error.issues.map((i) => `${[base, ...i.path].join(".")}: ${i.message}`).join("; ");
}

/** Parses one SQS message body (an EventBridge event) into interruption events. Never throws. */
export function parseInterruptionMessage(body: string | undefined): ParsedInterruptionMessage {
  let json: unknown;
  try {
    json = JSON.parse(body ?? "");
  } catch {
    return { kind: "malformed", error: "message body is not JSON" };
  }
  const env = envelope.safeParse(json);
  if (!env.success) return { kind: "malformed", error: issues(env.error, "event") };
  const { id, source, detail } = env.data;
  const detailType = env.data["detail-type"];
  const time = iso(env.data.time);
  const one = (
    kind: InterruptionKind,
    d: unknown,
    extra: Partial<InterruptionEvent> = {},
  ): ParsedInterruptionMessage => {
    const parsed = instanceDetail.safeParse(d);
    if (!parsed.success) return { kind: "malformed", error: issues(parsed.error, "event.detail") };
    const event = { kind, instanceId: parsed.data["instance-id"], time, id, ...extra };
    return { kind: "events", events: [InterruptionEventSchema.parse(event)] };
  };
  if (source === "aws.ec2" && detailType === "EC2 Spot Instance Interruption Warning") {
    const action = typeof detail["instance-action"] === "string" ? detail["instance-action"] : undefined;
    return one("spot_interruption", detail, {
      deadline: new Date(Date.parse(time) + SPOT_WARNING_MILLIS).toISOString(),
      ...(action === undefined ? {} : { detail: action }),
    });
  }
  if (source === "aws.ec2" && detailType === "EC2 Instance Rebalance Recommendation")
    return one("rebalance_recommendation", detail);
  if (source === "aws.ec2" && detailType === "EC2 Instance State-change Notification") {
    const parsed = stateDetail.safeParse(detail);
    if (!parsed.success) return { kind: "malformed", error: issues(parsed.error, "event.detail") };
    const state = parsed.data.state.toLowerCase();
    const kind = stateKinds[state];
    if (kind === undefined) return { kind: "ignored", reason: `instance state ${state}` };
    return one(kind, detail, { detail: state });
  }
  if (source === "aws.health" && detailType === "AWS Health Event") {
    const parsed = healthDetail.safeParse(detail);
    if (!parsed.success) return { kind: "malformed", error: issues(parsed.error, "event.detail") };
    const h = parsed.data;
    if (h.service !== "EC2" || h.eventTypeCategory !== "scheduledChange")
      return { kind: "ignored", reason: `health event ${h.service}/${h.eventTypeCategory}` };
    const events: InterruptionEvent[] = [];
    for (const entity of h.affectedEntities) {
      if (!/^i-[0-9a-zA-Z]+$/.test(entity.entityValue)) continue;
      events.push(
        InterruptionEventSchema.parse({
          kind: "scheduled_change",
          instanceId: entity.entityValue,
          time,
          id,
          ...(h.startTime === undefined ? {} : { deadline: iso(h.startTime) }),
          ...(h.eventTypeCode === undefined ? {} : { detail: h.eventTypeCode }),
        }),
      );
    }
    if (events.length === 0) return { kind: "ignored", reason: "health event affects no EC2 instance" };
    return { kind: "events", events };
  }
  return { kind: "ignored", reason: `event ${source}/${detailType}` };
}

/** Options of `consumeInterruptionQueue`. */
export interface InterruptionQueueOptions {
  sqs: SqsApi;
  queueUrl: string;
  /** Handles the events of one message; the message is deleted after it resolves (kept if it throws). */
  onEvents: (events: InterruptionEvent[]) => Promise<void> | void;
  /** A malformed message (it is deleted), or a handler / queue error (the loop goes on). */
  onError?: (problem: { messageId?: string; error: string }) => void;
  /** Stops the loop (an in-flight long poll is aborted). */
  signal?: AbortSignal;
  /** Long-poll wait per ReceiveMessage, 0-20 s; default 20. */
  waitTimeSeconds?: number;
  /** Messages per ReceiveMessage, 1-10; default 10. */
  maxMessages?: number;
  retry?: RetryOptions;
  /** Pause after a failed ReceiveMessage; default 1 s. */
  errorBackoffMillis?: number;
  sleep?: (millis: number, signal?: AbortSignal) => Promise<void>;
}

const abortableSleep = (millis: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, millis);
    signal?.addEventListener("abort", done, { once: true });
  });

const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** Handles one received message: events to `onEvents`, then DeleteMessage (malformed and ignored ones too). */
async function handleMessage(message: Message, options: InterruptionQueueOptions): Promise<void> {
  const messageId = message.MessageId ?? "";
  const parsed = parseInterruptionMessage(message.Body);
  try {
    if (parsed.kind === "malformed") options.onError?.({ messageId, error: parsed.error });
    if (parsed.kind === "events") await options.onEvents(parsed.events);
  } catch (error) {
    options.onError?.({ messageId, error: `handler failed, message kept: ${errorText(error)}` });
    return;
  }
  if (message.ReceiptHandle === undefined) return;
  await withThrottlingRetry(
    () =>
      options.sqs.send(
        new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }),
      ),
    options.retry,
  );
}

/**
 * Long-polls the queue until `signal` aborts: every message is parsed, its events handed to
 * `onEvents`, and the message deleted. Malformed messages are reported and deleted; queue and
 * handler errors are reported and never end the loop.
 */
export async function consumeInterruptionQueue(options: InterruptionQueueOptions): Promise<void> {
  const { signal } = options;
  const sleep = options.sleep ?? abortableSleep;
  const aborted = () => signal?.aborted === true;
  while (!aborted()) {
    let messages: Message[];
    try {
      const out = await withThrottlingRetry(
        () =>
          options.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: options.queueUrl,
              MaxNumberOfMessages: options.maxMessages ?? 10,
              WaitTimeSeconds: options.waitTimeSeconds ?? 20,
              VisibilityTimeout: 20,
              MessageSystemAttributeNames: ["SentTimestamp"],
            }),
            signal === undefined ? {} : { abortSignal: signal },
          ),
        options.retry,
      );
      messages = out.Messages ?? [];
    } catch (error) {
      if (aborted()) return;
      options.onError?.({ error: `ReceiveMessage failed: ${errorText(error)}` });
      await sleep(options.errorBackoffMillis ?? 1000, signal);
      continue;
    }
    for (const message of messages) {
      try {
        await handleMessage(message, options);
      } catch (error) {
        options.onError?.({
          ...(message.MessageId === undefined ? {} : { messageId: message.MessageId }),
          error: `DeleteMessage failed: ${errorText(error)}`,
        });
      }
    }
  }
}
