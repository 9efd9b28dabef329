import { describe, expect, it } from "vitest";
import type { KubeObject } from "./informers.ts";
import {
  drainStep,
  findOrphans,
  livenessTimeout,
  terminationAnnotation,
  terminationTime,
} from "./lifecycle.ts";

const T0 = Date.parse("2026-12-06T10:00:00Z");
const pod = (
  name: string,
  extra: {
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    grace?: number;
    phase?: string;
    owner?: string;
    tolerations?: unknown[];
  } = {},
): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name,
    namespace: "default",
    uid: `uid-${name}`,
    ...(extra.annotations === undefined ? {} : { annotations: extra.annotations }),
    ...(extra.deletionTimestamp === undefined ? {} : { deletionTimestamp: extra.deletionTimestamp }),
    ...(extra.owner === undefined
      ? {}
      : { ownerReferences: [{ kind: extra.owner, name: "x", controller: true }] }),
  },
  spec: {
    nodeName: "n1",
    ...(extra.grace === undefined ? {} : { terminationGracePeriodSeconds: extra.grace }),
    ...(extra.tolerations === undefined ? {} : { tolerations: extra.tolerations }),
  },
  status: { phase: extra.phase ?? "Running" },
});
const claim = (
  meta: Record<string, unknown>,
  spec: Record<string, unknown> = {},
  status: Record<string, unknown> = {},
) =>
  ({
    apiVersion: "karpenter.sh/v1",
    kind: "NodeClaim",
    metadata: { name: "c1", ...meta },
    spec,
    status,
  }) as KubeObject;
const iso = (ms: number) => new Date(ms).toISOString();
const now0 = () => 0;

describe("terminationGracePeriod", () => {
  it("runs out at deletionTimestamp + spec.terminationGracePeriod, and the annotation wins once written", () => {
    const c = claim({ deletionTimestamp: iso(T0) }, { terminationGracePeriod: "1h30m" });
    expect(terminationTime(c)).toBe(T0 + 90 * 60_000);
    expect(terminationAnnotation(c)).toEqual({
      "karpenter.sh/nodeclaim-termination-timestamp": "2026-12-06T11:30:00Z",
    });
    const annotated = claim(
      {
        deletionTimestamp: iso(T0),
        annotations: { "karpenter.sh/nodeclaim-termination-timestamp": "2026-12-06T10:05:00Z" },
      },
      { terminationGracePeriod: "1h" },
    );
    expect(terminationTime(annotated)).toBe(T0 + 5 * 60_000);
    expect(terminationAnnotation(annotated)).toBeUndefined();
    expect(terminationTime(claim({ deletionTimestamp: iso(T0) }))).toBeUndefined();
    expect(terminationTime(claim({}, { terminationGracePeriod: "1h" }))).toBeUndefined();
  });
});

describe("drainStep", () => {
  it("evicts active pods only: not terminating, not do-not-disrupt, not DaemonSet or mirror, not tolerating the taint", () => {
    const pods = [
      pod("web"),
      pod("leaving", { deletionTimestamp: iso(T0 + 5000) }),
      pod("pinned", { annotations: { "karpenter.sh/do-not-disrupt": "true" } }),
      pod("ds", { owner: "DaemonSet" }),
      pod("static", { annotations: { "kubernetes.io/config.mirror": "x" } }),
      pod("tolerant", { tolerations: [{ operator: "Exists" }] }),
      pod("done", { phase: "Succeeded" }),
    ];
    const step = drainStep(pods, T0, undefined, now0);
    expect(step.evict.map((p) => p.metadata.name)).toEqual(["web"]);
    expect(step.delete).toEqual([]);
    // web, leaving (terminating, waited for) and pinned (do-not-disrupt blocks with no grace period).
    expect(step.waiting).toBe(3);
    expect(step.drained).toBe(false);
  });

  it("a pod whose eviction was refused waits for its backoff; an evicted one is never evicted again", () => {
    const pods = [pod("blocked"), pod("evicted")];
    const next = (p: KubeObject) => (p.metadata.name === "blocked" ? T0 + 1000 : Number.POSITIVE_INFINITY);
    expect(drainStep(pods, T0, undefined, next).evict).toEqual([]);
    expect(drainStep(pods, T0 + 1000, undefined, next).evict.map((p) => p.metadata.name)).toEqual([
      "blocked",
    ]);
  });

  it("deletes pods whose own grace would outlast the node's grace period, clamping their grace", () => {
    const end = T0 + 60_000;
    const pods = [
      pod("pinned", { annotations: { "karpenter.sh/do-not-disrupt": "true" }, grace: 30 }),
      pod("slow", { grace: 120 }),
      pod("quick", { grace: 5 }),
    ];
    const step = drainStep(pods, T0, end, now0);
    expect(step.delete.map((d) => [d.pod.metadata.name, d.graceSeconds])).toEqual([["slow", 60]]);
    expect(step.evict.map((p) => p.metadata.name)).toEqual(["quick"]);
    const later = drainStep(pods, end - 30_000, end, now0);
    expect(later.delete.map((d) => [d.pod.metadata.name, d.graceSeconds])).toEqual([
      ["pinned", 30],
      ["slow", 30],
    ]);
    expect(later.drained).toBe(false);
  });

  it("once the grace period is over, whatever remains is deleted at once and the drain is done", () => {
    const end = T0 + 60_000;
    const pods = [
      pod("pinned", { annotations: { "karpenter.sh/do-not-disrupt": "true" } }),
      pod("terminating", { deletionTimestamp: iso(end + 100_000) }),
    ];
    const step = drainStep(pods, end, end, now0);
    expect(step.delete.map((d) => [d.pod.metadata.name, d.graceSeconds])).toEqual([
      ["pinned", 0],
      ["terminating", 0],
    ]);
    expect(step.drained).toBe(true);
  });

  it("a pod stuck terminating a minute past its deadline no longer blocks", () => {
    const step = drainStep([pod("stuck", { deletionTimestamp: iso(T0 - 61_000) })], T0, undefined, now0);
    expect(step.drained).toBe(true);
  });
});

describe("liveness", () => {
  const t = { registrationMs: 900_000, launchMs: 300_000 };
  it("a launched claim whose node has not registered within 15 min times out; one registered never does", () => {
    const launched = claim(
      { creationTimestamp: iso(T0) },
      {},
      {
        providerID: "aws:///a/i-1",
        conditions: [{ type: "Launched", status: "True", lastTransitionTime: iso(T0 + 60_000) }],
      },
    );
    expect(livenessTimeout(launched, false, T0 + 900_000, t)).toBeUndefined();
    expect(livenessTimeout(launched, false, T0 + 960_001, t)).toBe("registration_timeout");
    expect(livenessTimeout(launched, true, T0 + 9e9, t)).toBeUndefined();
  });
  it("a claim that has not launched within 5 min of creation times out; a deleting one is left alone", () => {
    expect(livenessTimeout(claim({ creationTimestamp: iso(T0) }), false, T0 + 300_001, t)).toBe(
      "launch_timeout",
    );
    expect(
      livenessTimeout(claim({ creationTimestamp: iso(T0), deletionTimestamp: iso(T0) }), false, T0 + 9e9, t),
    ).toBeUndefined();
  });
});

describe("findOrphans", () => {
  it("instances no claim names by providerID or by name, past the grace, in provider id order", () => {
    const old = iso(T0 - 600_000);
    const instances = [
      { providerID: "aws:///a/i-2", nodeClaim: "gone-b", launchedAt: old },
      { providerID: "aws:///a/i-1", nodeClaim: "gone-a", launchedAt: old },
      { providerID: "aws:///a/i-3", nodeClaim: "young", launchedAt: iso(T0 - 10_000) },
      { providerID: "aws:///a/i-4", nodeClaim: "by-id", launchedAt: old },
      { providerID: "aws:///a/i-5", nodeClaim: "launching", launchedAt: old },
    ];
    const claims = [
      claim({ name: "other" }, {}, { providerID: "aws:///a/i-4" }),
      claim({ name: "launching" }),
    ];
    expect(findOrphans(instances, claims, T0, 30_000).map((i) => i.providerID)).toEqual([
      "aws:///a/i-1",
      "aws:///a/i-2",
    ]);
  });
});
