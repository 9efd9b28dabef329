import { describe, expect, test } from "vitest";
import {
  type Node,
  type NodeInput,
  NodePoolSchema,
  NodeSchema,
  type Pod,
  PodDisruptionBudgetSchema,
  type PodInput,
  PodSchema,
} from "../model.ts";
import {
  candidateContext,
  consolidationBlocker,
  evictionCost,
  gracefulBlocker,
  rescheduleCost,
} from "./candidates.ts";

const now = Date.parse("2026-11-01T12:00:00Z");
const node = (name: string, extra: Partial<NodeInput> = {}): Node =>
  NodeSchema.parse({
    name,
    nodePool: "general",
    allocatable: { cpuMillis: 2000 },
    createdAt: "2026-10-01T00:00:00Z",
    ...extra,
  });
const pod = (name: string, nodeName: string, extra: Partial<PodInput> = {}): Pod =>
  PodSchema.parse({
    namespace: "web",
    name,
    uid: name,
    creationTimestamp: "2026-11-01T00:00:00Z",
    startTime: "2026-11-01T00:00:00Z",
    requests: { cpuMillis: 100, pods: 1 },
    nodeName,
    phase: "Running",
    provisionable: false,
    labels: { app: "api" },
    ...extra,
  });
const general = NodePoolSchema.parse({ name: "general", disruption: { consolidateAfter: "30m" } });
const ctx = (
  pods: Pod[],
  pdbs = [] as ReturnType<typeof PodDisruptionBudgetSchema.parse>[],
  pool = general,
) => candidateContext(pods, [pool], pdbs, now);

describe("gracefulBlocker", () => {
  test("unmanaged, deleting, uninitialized and annotated nodes are kept with their reason", () => {
    expect(gracefulBlocker(node("a", { nodePool: undefined }), ctx([]))).toEqual({ code: "not_managed" });
    expect(gracefulBlocker(node("a", { deleting: true }), ctx([]))).toEqual({ code: "being_deleted" });
    expect(gracefulBlocker(node("a", { initialized: false }), ctx([]))).toEqual({ code: "not_initialized" });
    expect(
      gracefulBlocker(node("a", { annotations: { "karpenter.sh/do-not-disrupt": "true" } }), ctx([])),
    ).toEqual({ code: "do_not_disrupt_node" });
  });
  test("do-not-disrupt pods: true blocks, a duration blocks until start + duration", () => {
    expect(
      gracefulBlocker(
        node("a"),
        ctx([pod("p", "a", { annotations: { "karpenter.sh/do-not-disrupt": "true" } })]),
      ),
    ).toEqual({ code: "do_not_disrupt_pod", pod: "web/p" });
    expect(
      gracefulBlocker(
        node("a"),
        ctx([pod("p", "a", { annotations: { "karpenter.sh/do-not-disrupt": "24h" } })]),
      ),
    ).toEqual({
      code: "do_not_disrupt_pod",
      pod: "web/p",
      until: "2026-11-02T00:00:00.000Z",
    });
    expect(
      gracefulBlocker(
        node("a"),
        ctx([pod("p", "a", { annotations: { "karpenter.sh/do-not-disrupt": "1h" } })]),
      ),
    ).toBeUndefined();
  });
  test("a PDB allowing 0 blocks, and a pod under two PDBs blocks", () => {
    const pods = [pod("p1", "a"), pod("p2", "b")];
    const strict = PodDisruptionBudgetSchema.parse({
      namespace: "web",
      name: "strict",
      selector: { matchLabels: { app: "api" } },
      minAvailable: 2,
    });
    const loose = PodDisruptionBudgetSchema.parse({
      namespace: "web",
      name: "loose",
      selector: { matchLabels: { app: "api" } },
      maxUnavailable: 1,
    });
    expect(gracefulBlocker(node("a"), ctx(pods, [strict]))).toEqual({
      code: "pdb_blocks_eviction",
      pdb: "web/strict",
      pod: "web/p1",
    });
    expect(gracefulBlocker(node("a"), ctx(pods, [loose]))).toBeUndefined();
    expect(gracefulBlocker(node("a"), ctx(pods, [strict, loose]))).toEqual({
      code: "pod_under_multiple_pdbs",
      pod: "web/p1",
      pdbs: ["web/loose", "web/strict"],
    });
  });
  test("DaemonSet pods do not block", () => {
    expect(
      gracefulBlocker(
        node("a"),
        ctx([pod("ds", "a", { daemonSet: true, annotations: { "karpenter.sh/do-not-disrupt": "true" } })]),
      ),
    ).toBeUndefined();
  });
});

describe("consolidationBlocker", () => {
  test("consolidateAfter counts from the last pod event", () => {
    const n = node("a", { lastPodEventAt: "2026-11-01T11:45:00Z" });
    expect(consolidationBlocker(n, ctx([pod("p", "a")]))).toEqual({
      code: "consolidate_after_pending",
      consolidatableAt: "2026-11-01T12:15:00.000Z",
    });
    expect(
      consolidationBlocker(node("a", { lastPodEventAt: "2026-11-01T11:00:00Z" }), ctx([pod("p", "a")])),
    ).toBeUndefined();
  });
  test("Never disables, WhenEmpty keeps non-empty nodes", () => {
    const never = NodePoolSchema.parse({ name: "general", disruption: { consolidateAfter: "Never" } });
    expect(consolidationBlocker(node("a"), ctx([], [], never))).toEqual({
      code: "consolidation_disabled",
      nodePool: "general",
    });
    const whenEmpty = NodePoolSchema.parse({
      name: "general",
      disruption: { consolidationPolicy: "WhenEmpty" },
    });
    expect(consolidationBlocker(node("a"), ctx([pod("p", "a")], [], whenEmpty))).toEqual({
      code: "policy_when_empty",
      nodePool: "general",
    });
    expect(consolidationBlocker(node("a"), ctx([], [], whenEmpty))).toBeUndefined();
  });
});

describe("costs", () => {
  test("eviction cost follows deletion cost and priority, clamped", () => {
    expect(evictionCost(pod("p", "a"))).toBe(1);
    expect(evictionCost(pod("p", "a", { priority: 2 ** 25 }))).toBe(2);
    expect(
      evictionCost(
        pod("p", "a", { annotations: { "controller.kubernetes.io/pod-deletion-cost": String(-(2 ** 31)) } }),
      ),
    ).toBe(-10);
    expect(
      rescheduleCost([
        pod("p", "a"),
        pod("q", "a", { priority: 2 ** 25 }),
        pod("d", "a", { daemonSet: true }),
      ]),
    ).toBe(4);
  });
});
