import { beforeAll, describe, expect, test } from "vitest";
import { nodeplanStrategy } from "./decide/strategy.ts";
import {
  type CommandInProgress,
  type DecisionPod,
  type DecisionState,
  initialMemory,
} from "./decide/types.ts";
import { catalog, NOW, node, pod, pool } from "./disruption/fixtures.test-helper.ts";
import { deepFreeze } from "./frozen.ts";
import { checkDecisionInput } from "./input-check.ts";
import { podKey } from "./model.ts";
import { createSolver, type Solver } from "./solver.ts";

let solver: Solver;
beforeAll(async () => {
  solver = await createSolver({ kernel: "reference" });
});

const at = (seconds: number) => new Date(Date.parse(NOW) + seconds * 1000).toISOString();

/** Two pending pods that appeared 5 s ago (the batch window is closed), one empty node. */
function state(extra: Partial<DecisionState> = {}): DecisionState {
  const pending = (name: string): DecisionPod => ({ ...pod(undefined, 500), name, pendingSince: at(-5) });
  return {
    nodes: [node("n1", "small")],
    pods: [pending("a"), pending("b")],
    nodePools: [pool()],
    instanceTypes: { default: catalog },
    changedAt: NOW,
    memory: initialMemory(),
    ...extra,
  };
}

/** A command in progress, as a pass leaves it in memory. */
const command = (id: string): CommandInProgress => ({
  id,
  phase: "validating",
  command: {
    wave: 1,
    method: "emptiness",
    reason: "empty",
    candidates: ["n1"],
    replacements: [],
    evictions: [],
    savingsPerHour: 0.1,
    budget: { nodePool: "default", reason: "Empty", consumed: 1 },
  },
  replacements: [],
  decidedAt: NOW,
  validateAt: at(15),
});

const placed = (d: ReturnType<Solver["decide"]>) =>
  d.actions.flatMap((a) => (a.type === "nominate" ? [a.pod] : [])).sort();

describe("solver.decide checks its input at the boundary", () => {
  test("a sound state passes untouched", () => {
    const s = state({ memory: { ...initialMemory(), commands: [command("cmd-0")] } });
    const checked = checkDecisionInput(s, NOW, nodeplanStrategy, { batchIdleSeconds: 2 });
    expect(checked.errors).toEqual([]);
    expect(checked.input?.state).toBe(s);
    const d = solver.decide(state(), NOW, nodeplanStrategy);
    expect(d.errors).toEqual([]);
    expect(placed(d)).toEqual(["default/a", "default/b"]);
  });

  test("a pod with a bad request is left out, named with its field; the other pod is still provisioned", () => {
    const s = state();
    const bad = { ...(s.pods[1] as DecisionPod), requests: { cpuMillis: -1, pods: 1 } };
    const d = solver.decide({ ...s, pods: [s.pods[0] as DecisionPod, bad] }, NOW, nodeplanStrategy);
    expect(d.errors.map((e) => [e.path, e.source])).toEqual([
      ["pods[1].requests.cpuMillis", "DecisionState"],
    ]);
    expect(d.errors[0]?.message).toContain("Pod default/b");
    expect(placed(d)).toEqual(["default/a"]);
  });

  test("a DecisionPod's own fields are checked: a pending time that is not a timestamp", () => {
    const s = state();
    const bad = { ...(s.pods[0] as DecisionPod), pendingSince: "five seconds ago" };
    const d = solver.decide({ ...s, pods: [bad, s.pods[1] as DecisionPod] }, NOW, nodeplanStrategy);
    expect(d.errors.map((e) => e.path)).toEqual(["pods[0].pendingSince"]);
    expect(d.errors[0]?.message).toMatch(/Pod default\/a.*RFC 3339/);
    expect(placed(d)).toEqual(["default/b"]);
  });

  test("a node that cannot be read is left out; the pods still land elsewhere", () => {
    const s = state();
    const broken = { ...node("n2", "large"), allocatable: { cpuMillis: "8" } } as never;
    const d = solver.decide({ ...s, nodes: [...s.nodes, broken] }, NOW, nodeplanStrategy);
    expect(d.errors.map((e) => e.path)).toEqual(["nodes[1].allocatable.cpuMillis"]);
    expect(d.errors[0]?.message).toContain("Node n2");
    expect(placed(d)).toEqual(["default/a", "default/b"]);
  });

  test("memory: a command that cannot be read is dropped and named, the sound one is kept", () => {
    const bad = { ...command("cmd-1"), phase: "waiting" } as unknown as CommandInProgress;
    const s = state({ memory: { ...initialMemory(), commands: [command("cmd-0"), bad], nextCommand: 2 } });
    const checked = checkDecisionInput(s, NOW, nodeplanStrategy, undefined);
    expect(checked.errors.map((e) => e.path)).toEqual([["memory", "commands", 1, "phase"]]);
    expect(checked.input?.state.memory.commands.map((c) => c.id)).toEqual(["cmd-0"]);
    expect(checked.input?.state.memory.nextCommand).toBe(2);
    const d = solver.decide(s, NOW, nodeplanStrategy);
    expect(d.errors[0]?.message).toContain("Command cmd-1");
    expect(d.memory.commands.map((c) => c.id)).toContain("cmd-0");
  });

  test("memory: a time that cannot be read is forgotten (as if that step never ran)", () => {
    const s = state({ memory: { ...initialMemory(), lastProvisioningAt: "yesterday" } });
    const d = solver.decide(s, NOW, nodeplanStrategy);
    expect(d.errors.map((e) => e.path)).toEqual(["memory.lastProvisioningAt"]);
    expect(placed(d)).toEqual(["default/a", "default/b"]);
  });

  test("an option that fails takes its default; a bad disruption option is named inside options", () => {
    const checked = checkDecisionInput(state(), NOW, nodeplanStrategy, {
      batchIdleSeconds: -1,
      batchMaxSeconds: 20,
      disruptionOptions: { minSavingsPerHour: "a lot" as never },
    });
    expect(checked.errors.map((e) => e.path)).toEqual([
      ["options", "batchIdleSeconds"],
      ["options", "disruptionOptions", "minSavingsPerHour"],
    ]);
    expect(checked.input?.options).toEqual({ batchMaxSeconds: 20, disruptionOptions: {} });
  });

  test("other collections: unavailable offerings, launch failures, namespaces lose only their bad entries", () => {
    const good = {
      instanceType: "small",
      zone: "z1",
      capacityType: "on-demand",
      reason: "ICE",
      until: at(60),
    };
    const checked = checkDecisionInput(
      state({
        unavailableOfferings: [good, { ...good, until: "soon" }],
        launchFailures: [{ claim: "default-0", code: "ICE", message: "", unavailable: [], at: 5 as never }],
        namespaces: [{ name: "default", labels: {} }],
      }),
      NOW,
      nodeplanStrategy,
      undefined,
    );
    expect(checked.errors.map((e) => e.path.join("."))).toEqual([
      "unavailableOfferings.1.until",
      "launchFailures.0.at",
    ]);
    expect(checked.input?.state.unavailableOfferings).toEqual([good]);
    expect(checked.input?.state.launchFailures).toEqual([]);
    expect(checked.input?.state.namespaces).toEqual([{ name: "default", labels: {} }]);
  });

  test("arguments that cannot be read at all: no actions, the memory handed back, the errors", () => {
    const memory = { ...initialMemory(), nextClaim: 7 };
    const s = state({ changedAt: "then", memory });
    const d = solver.decide(s, NOW, nodeplanStrategy);
    expect(d.actions).toEqual([]);
    expect(d.memory).toBe(memory);
    expect(d.errors.map((e) => e.path)).toEqual(["changedAt"]);
    const noStrategy = solver.decide(state(), NOW, { ...nodeplanStrategy, disruption: "greedy" } as never);
    expect(noStrategy.errors.map((e) => e.path)).toEqual(["strategy.disruption"]);
    expect(solver.decide(state(), "noon", nodeplanStrategy).errors.map((e) => e.path)).toEqual(["now"]);
    const list = solver.decide({ ...state(), instanceTypes: catalog as never }, NOW, nodeplanStrategy);
    expect(list.errors.map((e) => e.path)).toEqual(["instanceTypes"]);
    expect(solver.decide(null as never, NOW, nodeplanStrategy).errors).toHaveLength(1);
    expect(podKey(state().pods[0] as DecisionPod)).toBe("default/a");
  });

  test("a deeply frozen object that passed is not checked again; anything still mutable is, every pass", () => {
    // A pod frozen at the top only: its labels can still change, so it is checked every pass.
    const shallow = Object.freeze({ ...pod(undefined, 500), name: "shallow", labels: { app: "web" } });
    const deep = deepFreeze({ ...pod(undefined, 500), name: "deep" });
    const s = state({ pods: [shallow, deep] });
    expect(checkDecisionInput(s, NOW, nodeplanStrategy, undefined).errors).toEqual([]);
    (shallow.labels as Record<string, unknown>).app = 7;
    const again = checkDecisionInput(s, NOW, nodeplanStrategy, undefined);
    expect(again.errors.map((e) => [e.object, e.path.join(".")])).toEqual([
      ["Pod default/shallow", "pods.0.labels.app"],
    ]);
    expect(again.input?.state.pods.map((p) => p.name)).toEqual(["deep"]);
    // The frozen pod's verdict is remembered per rule: the same object under another kind's rule is read.
    const asNode = checkDecisionInput(state({ nodes: [deep as never] }), NOW, nodeplanStrategy, undefined);
    expect(asNode.errors.map((e) => e.path.join(".")).some((p) => p.startsWith("nodes.0"))).toBe(true);
  });

  test("a list matched against the last one: removed, inserted and failing objects are each read right", () => {
    const good = Array.from({ length: 6 }, (_, i) =>
      deepFreeze({ ...pod(undefined, 500), name: `good-${i}` }),
    );
    const bad = deepFreeze({ ...pod(undefined, 500), name: "bad", labels: { app: 7 } as never });
    const fresh = deepFreeze({ ...pod(undefined, 500), name: "fresh" });
    const check = (pods: DecisionPod[]) => {
      const out = checkDecisionInput(state({ pods }), NOW, nodeplanStrategy, undefined);
      return { errors: out.errors.map((e) => e.object), kept: out.input?.state.pods.map((p) => p.name) };
    };
    expect(check(good).errors).toEqual([]);
    // Two removed, a failing object and a new one inserted: only the failing one is left out.
    expect(check([good[0], good[2], bad, good[4], fresh, good[5]] as DecisionPod[])).toEqual({
      errors: ["Pod default/bad"],
      kept: ["good-0", "good-2", "good-4", "fresh", "good-5"],
    });
    // A failing object is never remembered: first in the list, after a pass that skipped it, still out.
    expect(check([bad, good[0], fresh] as DecisionPod[])).toEqual({
      errors: ["Pod default/bad"],
      kept: ["good-0", "fresh"],
    });
    // Longer lists after a shorter one (the remembered lists are reused buffers): a mutable object,
    // sound once and broken in place since, is read again each time (only frozen objects are remembered).
    const mutable = { ...pod(undefined, 500), name: "mutable" };
    const names = good.map((p) => p.name);
    expect(check([...good, mutable] as DecisionPod[])).toEqual({ errors: [], kept: [...names, "mutable"] });
    mutable.labels = { app: 7 } as never;
    expect(check([...good, mutable] as DecisionPod[])).toEqual({
      errors: ["Pod default/mutable"],
      kept: names,
    });
    expect(check([fresh, ...good, mutable] as DecisionPod[])).toEqual({
      errors: ["Pod default/mutable"],
      kept: ["fresh", ...names],
    });
  });
});
