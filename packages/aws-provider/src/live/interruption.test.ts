// SQS cannot be reached here: aws-sdk-client-mock replaces the transport of the real client, and the
// tests assert the exact requests sent. Event bodies follow the EventBridge samples in the AWS docs
// (EC2 User Guide: Spot interruption notices, rebalance recommendations, EC2 state-change events;
// AWS Health User Guide: EventBridge schema), with the docs' "yyyy-mm-ddThh:mm:ssZ" filled in.
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { InterruptionEvent } from "@nodeplan/core";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { consumeInterruptionQueue, parseInterruptionMessage } from "./interruption.ts";
import { noSleep, sqs } from "./launch-fixtures.test-helper.ts";

const spotWarning = {
  version: "0",
  id: "12345678-1234-1234-1234-123456789012",
  "detail-type": "EC2 Spot Instance Interruption Warning",
  source: "aws.ec2",
  account: "123456789012",
  time: "2026-12-01T09:00:00Z",
  region: "us-east-2",
  resources: ["arn:aws:ec2:us-east-2a:instance/i-1234567890abcdef0"],
  detail: { "instance-id": "i-1234567890abcdef0", "instance-action": "terminate" },
};
const rebalance = {
  version: "0",
  id: "12345678-1234-1234-1234-123456789013",
  "detail-type": "EC2 Instance Rebalance Recommendation",
  source: "aws.ec2",
  account: "123456789012",
  time: "2026-12-01T09:00:00Z",
  region: "us-east-2",
  resources: ["arn:aws:ec2:us-east-2:123456789012:instance/i-1234567890abcdef0"],
  detail: { "instance-id": "i-1234567890abcdef0" },
};
const stateChange = (state: string) => ({
  version: "0",
  id: "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "123456789012",
  time: "2021-11-11T21:29:54Z",
  region: "us-east-1",
  resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
  detail: { "instance-id": "i-abcd1111", state },
});
const health = (service = "EC2", category = "scheduledChange") => ({
  version: "0",
  id: "3b4b8a5d-aa79-ef4c-e1d4-e9a4a4d2f3b5",
  "detail-type": "AWS Health Event",
  source: "aws.health",
  account: "123456789012",
  time: "2026-11-20T16:18:00Z",
  region: "us-east-1",
  resources: ["i-abcd1111", "i-abcd2222"],
  detail: {
    eventArn:
      "arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED_ABC123-DEF456",
    service,
    eventTypeCode: "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
    eventTypeCategory: category,
    startTime: "Wed, 02 Dec 2026 00:00:00 GMT",
    endTime: "Wed, 02 Dec 2026 02:00:00 GMT",
    eventDescription: [
      { language: "en_US", latestDescription: "EC2 has detected degradation of the hardware." },
    ],
    affectedEntities: [{ entityValue: "i-abcd1111" }, { entityValue: "i-abcd2222" }],
  },
});

const parse = (o: unknown) => parseInterruptionMessage(JSON.stringify(o));

describe("parsing EventBridge messages", () => {
  it("spot interruption warning: deadline two minutes after the event", () => {
    expect(parse(spotWarning)).toEqual({
      kind: "events",
      events: [
        {
          kind: "spot_interruption",
          instanceId: "i-1234567890abcdef0",
          time: "2026-12-01T09:00:00.000Z",
          deadline: "2026-12-01T09:02:00.000Z",
          id: "12345678-1234-1234-1234-123456789012",
          detail: "terminate",
        },
      ],
    });
  });
  it("rebalance recommendation", () => {
    expect(parse(rebalance)).toEqual({
      kind: "events",
      events: [
        {
          kind: "rebalance_recommendation",
          instanceId: "i-1234567890abcdef0",
          time: "2026-12-01T09:00:00.000Z",
          id: "12345678-1234-1234-1234-123456789013",
        },
      ],
    });
  });
  it("state changes: stopping/stopped -> instance_stopping, shutting-down/terminated -> instance_terminating, others ignored", () => {
    const kind = (state: string) => {
      const r = parse(stateChange(state));
      return r.kind === "events" ? r.events.map((e) => [e.kind, e.detail]) : r;
    };
    expect(kind("stopping")).toEqual([["instance_stopping", "stopping"]]);
    expect(kind("stopped")).toEqual([["instance_stopping", "stopped"]]);
    expect(kind("shutting-down")).toEqual([["instance_terminating", "shutting-down"]]);
    expect(kind("terminated")).toEqual([["instance_terminating", "terminated"]]);
    expect(kind("pending")).toEqual({ kind: "ignored", reason: "instance state pending" });
    expect(kind("running")).toEqual({ kind: "ignored", reason: "instance state running" });
  });
  it("AWS Health scheduled change for EC2: one event per affected instance, deadline at the start time", () => {
    expect(parse(health())).toEqual({
      kind: "events",
      events: ["i-abcd1111", "i-abcd2222"].map((instanceId) => ({
        kind: "scheduled_change",
        instanceId,
        time: "2026-11-20T16:18:00.000Z",
        deadline: "2026-12-02T00:00:00.000Z",
        id: "3b4b8a5d-aa79-ef4c-e1d4-e9a4a4d2f3b5",
        detail: "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
      })),
    });
    expect(parse(health("RDS"))).toEqual({ kind: "ignored", reason: "health event RDS/scheduledChange" });
    expect(parse(health("EC2", "issue"))).toEqual({ kind: "ignored", reason: "health event EC2/issue" });
  });
  it("other events are ignored", () => {
    expect(parse({ ...rebalance, "detail-type": "EC2 Fast Launch State-change Notification" })).toEqual({
      kind: "ignored",
      reason: "event aws.ec2/EC2 Fast Launch State-change Notification",
    });
  });
  it("malformed messages: a clear error naming the field, never a throw", () => {
    expect(parseInterruptionMessage("not json")).toEqual({
      kind: "malformed",
      error: "message body is not JSON",
    });
    expect(parseInterruptionMessage(undefined)).toEqual({
      kind: "malformed",
      error: "message body is not JSON",
    });
    // The docs' sample verbatim, with its placeholder time.
    expect(parse({ ...spotWarning, time: "yyyy-mm-ddThh:mm:ssZ" })).toEqual({
      kind: "malformed",
      error: "event.time: expected a timestamp",
    });
    expect(parse({ ...spotWarning, detail: { "instance-action": "terminate" } })).toMatchObject({
      kind: "malformed",
      error: expect.stringContaining("event.detail.instance-id"),
    });
    const noEntities = health();
    noEntities.detail.affectedEntities = [];
    expect(parse(noEntities)).toMatchObject({
      kind: "malformed",
      error: expect.stringContaining("affectedEntities"),
    });
    expect(parse([1, 2])).toMatchObject({ kind: "malformed" });
  });
});

const sqsMock = mockClient(SQSClient);
const QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/demo";
beforeEach(() => sqsMock.reset());

describe("the queue consumer", () => {
  it("long-polls, hands events over, deletes every message (malformed ones reported), stops on abort", async () => {
    const controller = new AbortController();
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: "m1", ReceiptHandle: "r1", Body: JSON.stringify(spotWarning) },
          { MessageId: "m2", ReceiptHandle: "r2", Body: "{oops" },
          { MessageId: "m3", ReceiptHandle: "r3", Body: JSON.stringify(stateChange("running")) },
          { MessageId: "m4", ReceiptHandle: "r4", Body: JSON.stringify(health()) },
        ],
      })
      .callsFake(() => {
        controller.abort();
        return { Messages: [] };
      });
    sqsMock.on(DeleteMessageCommand).resolves({});
    const seen: InterruptionEvent[][] = [];
    const problems: unknown[] = [];
    await consumeInterruptionQueue({
      sqs,
      queueUrl: QUEUE,
      onEvents: (events) => {
        seen.push(events);
      },
      onError: (p) => problems.push(p),
      signal: controller.signal,
      retry: noSleep,
    });
    expect(sqsMock.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 20,
      VisibilityTimeout: 20,
      MessageSystemAttributeNames: ["SentTimestamp"],
    });
    expect(seen.map((events) => events.map((e) => [e.kind, e.instanceId]))).toEqual([
      [["spot_interruption", "i-1234567890abcdef0"]],
      [
        ["scheduled_change", "i-abcd1111"],
        ["scheduled_change", "i-abcd2222"],
      ],
    ]);
    expect(problems).toEqual([{ messageId: "m2", error: "message body is not JSON" }]);
    expect(sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual(
      ["r1", "r2", "r3", "r4"].map((ReceiptHandle) => ({ QueueUrl: QUEUE, ReceiptHandle })),
    );
  });

  it("a failing handler keeps its message (redelivered later); queue errors are reported and the loop goes on", async () => {
    const controller = new AbortController();
    let receives = 0;
    sqsMock.on(ReceiveMessageCommand).callsFake(() => {
      receives++;
      if (receives === 1) throw Object.assign(new Error("boom"), { name: "InternalError" });
      if (receives === 2)
        return { Messages: [{ MessageId: "m1", ReceiptHandle: "r1", Body: JSON.stringify(rebalance) }] };
      controller.abort();
      return {};
    });
    sqsMock.on(DeleteMessageCommand).resolves({});
    const problems: { messageId?: string; error: string }[] = [];
    const slept: number[] = [];
    await consumeInterruptionQueue({
      sqs,
      queueUrl: QUEUE,
      onEvents: () => {
        throw new Error("apiserver down");
      },
      onError: (p) => problems.push(p),
      signal: controller.signal,
      retry: noSleep,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    expect(problems).toEqual([
      { error: "ReceiveMessage failed: InternalError: boom" },
      { messageId: "m1", error: "handler failed, message kept: Error: apiserver down" },
    ]);
    expect(slept).toEqual([1000]);
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
  });

  it("aborting during the error backoff ends the loop without waiting the backoff out", async () => {
    const controller = new AbortController();
    sqsMock.on(ReceiveMessageCommand).rejects(Object.assign(new Error("down"), { name: "InternalError" }));
    setTimeout(() => controller.abort(), 20);
    await consumeInterruptionQueue({
      sqs,
      queueUrl: QUEUE,
      onEvents: () => {},
      signal: controller.signal,
      retry: noSleep,
      errorBackoffMillis: 600_000,
    });
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
  });

  it("an already-aborted signal sends nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    await consumeInterruptionQueue({ sqs, queueUrl: QUEUE, onEvents: () => {}, signal: controller.signal });
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });
});
