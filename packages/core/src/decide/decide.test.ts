import { createKernel, type Kernel } from "@nodeplan/solver-wasm";
import { beforeAll, describe, expect, test } from "vitest";
import { catalog, NOW, node, pod, pool } from "../disruption/fixtures.test-helper.ts";
import type { Node } from "../model.ts";
import { podKey } from "../model.ts";
import { decide } from "./decide.ts";
import { karpenterStrategy, nodeplanStrategy } from "./strategy.ts";
import { type Action, type DecisionPod, type DecisionState, initialMemory } from "./types.ts";

let kernel: Kernel;
beforeAll(() => {
  kernel = createKernel({ flavor: "auto" });
});

const at = (seconds: number) => new Date(Date.parse(NOW) + seconds * 1000).toISOString();
const of = <T extends Action["type"]>(actions: readonly Action[], type: T) =>
  actions.filter((a): a is Extract<Action, { type: T }> => a.type === type);

function state(nodes: Node[], pods: DecisionPod[], extra: Partial<DecisionState> = {}): DecisionState {
  return {
    nodes,
    pods,
    nodePools: [pool({ disruption: { consolidateAfter: "0s", budgets: [{ nodes: "100%" }] } })],
    instanceTypes: { default: catalog },
    changedAt: NOW,
    memory: initialMemory(),
    ...extra,
  };
}

describe("the batch window", () => {
  test("a pending pod is provisioned 1 s after it appeared, not at once", () => {
    const p = { ...pod(undefined, 500), pendingSince: NOW };
    const s = state([], [p]);
    const first = decide(kernel, s, NOW, nodeplanStrategy);
    expect(of(first.actions, "launch")).toEqual([]);
    expect(first.wakeAt).toBe(at(1));
    const second = decide(kernel, { ...s, memory: first.memory }, at(1), nodeplanStrategy);
    const launches = of(second.actions, "launch");
    expect(launches).toHaveLength(1);
    expect(launches[0]?.claim.pods).toEqual([podKey(p)]);
    expect(of(second.actions, "nominate")).toEqual([
      { type: "nominate", pod: podKey(p), node: launches[0]?.claim.name },
    ]);
    expect(second.memory.lastProvisioningAt).toBe(at(1));
  });

  test("pods arriving every 0.5 s keep the window open until 10 s after the first", () => {
    const pods = Array.from({ length: 40 }, (_, i) => ({
      ...pod(undefined, 100),
      pendingSince: new Date(Date.parse(NOW) + i * 500).toISOString(),
    }));
    // At 9.5 s twenty pods have come, the last just now: the idle second has not passed, the max has not.
    const visible = (t: number) => pods.filter((p) => Date.parse(p.pendingSince) <= Date.parse(at(t)));
    const d = decide(kernel, state([], visible(9.5)), at(9.5), nodeplanStrategy);
    expect(of(d.actions, "launch")).toEqual([]);
    expect(d.wakeAt).toBe(at(10));
    const due = decide(kernel, state([], visible(10)), at(10), nodeplanStrategy);
    expect(of(due.actions, "launch").length).toBeGreaterThan(0);
  });

  test("claim names count across passes and never reuse a node's name", () => {
    const s = state([node("default-0", "small")], [{ ...pod(undefined, 3000), pendingSince: NOW }]);
    const d = decide(kernel, s, at(5), nodeplanStrategy);
    expect(of(d.actions, "launch").map((a) => a.claim.name)).toEqual(["default-1"]);
    expect(d.memory.nextClaim).toBe(2);
  });
});

describe("consolidation waits 15 s and is re-validated on fresh state", () => {
  // Two medium nodes ($0.20/h each) with one 1-cpu pod each: one node can go, its pod moving over.
  const cluster = () => {
    // 1.2-cpu pods: two do not fit a small node, so deleting one node (its pod moving over) saves as
    // much as any replacement would, with less churn.
    const nodes = [node("a", "medium"), node("b", "medium")];
    const pods = [pod("a", 1200), pod("b", 1200)];
    return { nodes, pods };
  };

  for (const strategy of [nodeplanStrategy, karpenterStrategy])
    test(`${strategy.name}: a command found now is acted on only after the wait, if it still holds`, () => {
      const { nodes, pods } = cluster();
      const first = decide(kernel, state(nodes, pods), NOW, strategy);
      expect(first.memory.commands).toHaveLength(1);
      const c = first.memory.commands[0];
      expect(c?.phase).toBe("validating");
      expect(c?.validateAt).toBe(at(15));
      // Nothing is done before the wait: no taint, no eviction.
      expect(of(first.actions, "taint")).toEqual([]);
      expect(of(first.actions, "evict")).toEqual([]);
      expect(first.wakeAt).toBe(at(15));
      // At 15 s, the cluster unchanged: the candidates are tainted; a delete drains at once, a replace
      // launches first.
      const later = decide(kernel, { ...state(nodes, pods), memory: first.memory }, at(15), strategy);
      const candidates = c?.command.candidates ?? [];
      expect(of(later.actions, "taint").map((a) => a.node)).toEqual(candidates);
      const replaced = (c?.command.replacements.length ?? 0) > 0;
      expect(of(later.actions, "launch")).toHaveLength(c?.command.replacements.length ?? 0);
      expect(of(later.actions, "evict").length > 0).toBe(!replaced);
      expect(later.memory.commands[0]?.phase).toBe(replaced ? "launching" : "draining");
    });

  test("a command that no longer fits after the wait is dropped and nothing is touched", () => {
    const { nodes, pods } = cluster();
    const first = decide(kernel, state(nodes, pods), NOW, nodeplanStrategy);
    const candidate = first.memory.commands[0]?.command.candidates[0] as string;
    const other = candidate === "a" ? "b" : "a";
    // Meanwhile a 2.5-cpu pod landed on the node that was to take the candidate's pod, and the NodePool
    // is at its cpu limit: the candidate's pod has nowhere to go.
    const limited = [
      pool({
        limits: { cpuMillis: 8000 },
        disruption: { consolidateAfter: "0s", budgets: [{ nodes: "100%" }] },
      }),
    ];
    const stale = state(
      nodes.map((n) => (n.name === other ? { ...n, lastPodEventAt: at(-600) } : n)),
      [...pods, pod(other, 2500)],
      { memory: first.memory, changedAt: at(10), nodePools: limited },
    );
    const later = decide(kernel, stale, at(15), nodeplanStrategy);
    expect(later.ended).toEqual([
      expect.objectContaining({ outcome: "dropped", why: expect.stringContaining("would no longer fit") }),
    ]);
    expect(of(later.actions, "taint")).toEqual([]);
    expect(of(later.actions, "evict")).toEqual([]);
    expect(later.memory.commands.filter((x) => x.id === first.memory.commands[0]?.id)).toEqual([]);
  });

  test("a delete that would now need a replacement is dropped: it is another command", () => {
    const { nodes, pods } = cluster();
    const first = decide(kernel, state(nodes, pods), NOW, nodeplanStrategy);
    expect(first.memory.commands[0]?.command.replacements).toEqual([]);
    const candidate = first.memory.commands[0]?.command.candidates[0] as string;
    const other = candidate === "a" ? "b" : "a";
    const later = decide(
      kernel,
      state(nodes, [...pods, pod(other, 2500)], { memory: first.memory, changedAt: at(10) }),
      at(15),
      nodeplanStrategy,
    );
    expect(later.ended[0]).toMatchObject({ outcome: "dropped" });
    expect(later.ended[0]?.why).toMatch(/needs 1 replacement\(s\), the command 0/);
  });

  test("a command whose candidate had a pod event during the wait is dropped (consolidateAfter)", () => {
    const nodes = [node("a", "medium"), node("b", "medium")];
    const pods = [pod("a", 1000), pod("b", 1000)];
    const pools = [pool({ disruption: { consolidateAfter: "10s", budgets: [{ nodes: "100%" }] } })];
    const first = decide(kernel, { ...state(nodes, pods), nodePools: pools }, NOW, nodeplanStrategy);
    const candidate = first.memory.commands[0]?.command.candidates[0] as string;
    const touched = nodes.map((n) => (n.name === candidate ? { ...n, lastPodEventAt: at(12) } : n));
    const later = decide(
      kernel,
      { ...state(touched, pods), nodePools: pools, memory: first.memory, changedAt: at(12) },
      at(15),
      nodeplanStrategy,
    );
    expect(later.ended[0]).toMatchObject({ outcome: "dropped" });
    expect(later.ended[0]?.why).toMatch(/consolidat/);
  });
});

describe("commands in progress", () => {
  test("their nodes are not disrupted again, and a drain asks again until the node is empty", () => {
    const nodes = [node("a", "medium"), node("b", "medium"), node("c", "medium")];
    const pods = [pod("a", 1000), pod("b", 1000), pod("c", 3000)];
    const s0 = state(nodes, pods, {
      nodePools: [pool({ disruption: { consolidateAfter: "0s", budgets: [{ nodes: "1" }] } })],
    });
    const first = decide(kernel, s0, NOW, nodeplanStrategy);
    expect(first.memory.commands).toHaveLength(1);
    const started = decide(kernel, { ...s0, memory: first.memory }, at(15), nodeplanStrategy);
    const c = started.memory.commands[0];
    expect(c?.phase).toBe("draining");
    const candidate = c?.command.candidates[0] as string;
    // The eviction was refused (the pod is still there, not terminating): 25 s later it is asked again,
    // and no new command takes the tainted node or exceeds the budget of 1.
    const tainted = nodes.map((n) =>
      n.name === candidate
        ? { ...n, taints: [{ key: "karpenter.sh/disrupted", effect: "NoSchedule" as const }] }
        : n,
    );
    const again = decide(
      kernel,
      { ...s0, nodes: tainted, memory: started.memory, changedAt: at(15) },
      at(40),
      nodeplanStrategy,
    );
    expect(of(again.actions, "evict").map((a) => a.node)).toEqual([candidate]);
    expect(again.memory.commands).toHaveLength(1);
    expect(again.wakeAt).toBe(at(45));
    // Once the pod is gone, the node is deleted; once the node is gone, the command is complete.
    const empty = pods.filter((p) => p.nodeName !== candidate);
    const emptied = decide(
      kernel,
      { ...s0, nodes: tainted, pods: empty, memory: again.memory, changedAt: at(40) },
      at(45),
      nodeplanStrategy,
    );
    expect(of(emptied.actions, "delete")).toEqual([
      { type: "delete", node: candidate, reason: "disrupted", command: c?.id },
    ]);
    const gone = decide(
      kernel,
      {
        ...s0,
        nodes: tainted.filter((n) => n.name !== candidate),
        pods: empty,
        memory: emptied.memory,
        changedAt: at(46),
      },
      at(46),
      nodeplanStrategy,
    );
    expect(gone.ended).toEqual([expect.objectContaining({ id: c?.id, outcome: "completed" })]);
  });

  test("a failed launch puts its offerings in the unavailable cache for 3 minutes and deletes the claim", () => {
    const claim = node("default-7", "small", {
      inFlight: true,
      initialized: false,
      ready: false,
      createdAt: NOW,
    });
    const d = decide(
      kernel,
      state([claim], [], {
        launchFailures: [
          {
            claim: "default-7",
            code: "InsufficientInstanceCapacity",
            message: "no capacity",
            unavailable: [{ instanceType: "small", zone: "z1", capacityType: "on-demand" }],
            at: NOW,
          },
        ],
      }),
      at(2),
      nodeplanStrategy,
    );
    expect(of(d.actions, "mark_unavailable")).toEqual([
      {
        type: "mark_unavailable",
        offering: {
          instanceType: "small",
          zone: "z1",
          capacityType: "on-demand",
          reason: "InsufficientInstanceCapacity",
          until: at(182),
        },
      },
    ]);
    expect(of(d.actions, "delete")).toEqual([{ type: "delete", node: "default-7", reason: "launch_failed" }]);
  });

  test("a pending pod is provisioned on what is still available", () => {
    const p = { ...pod(undefined, 1500), pendingSince: NOW };
    const d = decide(
      kernel,
      state([], [p], {
        unavailableOfferings: [
          { instanceType: "small", zone: "z1", capacityType: "on-demand", reason: "ICE", until: at(100) },
        ],
      }),
      at(2),
      nodeplanStrategy,
    );
    expect(of(d.actions, "launch")[0]?.claim.instanceTypeOptions).not.toContain("small");
  });
});
