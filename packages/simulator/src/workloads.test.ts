import { PodDisruptionBudgetSchema } from "@nodeplan/core";
import { describe, expect, test } from "vitest";
import type { SimPod } from "./cluster.ts";
import { desiredHealthy, evictionRefusal } from "./eviction.ts";
import { app, basePod, simPod } from "./fixtures.test-helper.ts";
import { type App, deletionOrder, reconcileDeployment, reconcileStatefulSet } from "./workloads.ts";

/** `n` Ready pods of the app on its current revision (or `revision`). */
function pods(a: App, n: number, revision = a.current.hash): SimPod[] {
  const out: SimPod[] = [];
  for (let i = 0; i < n; i++) {
    const p = simPod(basePod({ labels: { app: a.name } }), a);
    p.revision = revision;
    p.state = "ready";
    p.readyMs = 0;
    a.pods.add(p);
    out.push(p);
  }
  return out;
}

function rollingOut(a: App): void {
  const next = { hash: "rev2", template: a.current.template };
  a.revisions.set("rev2", next);
  a.current = next;
}

describe("the Deployment controller", () => {
  test("scales the current ReplicaSet without a rollout", () => {
    const a = app("web", basePod(), 5);
    pods(a, 3);
    expect(reconcileDeployment(a, 0).create).toHaveLength(2);
    a.replicas = 1;
    expect(reconcileDeployment(a, 0).delete).toHaveLength(2);
  });

  test("maxSurge 0, maxUnavailable 1: one old pod goes before one new pod comes", () => {
    const a = app("web", basePod(), 4, {
      strategy: { type: "RollingUpdate", maxSurge: 0, maxUnavailable: 1 },
    });
    pods(a, 4);
    rollingOut(a);
    const r = reconcileDeployment(a, 0);
    expect(r.create).toHaveLength(0); // 4 pods already: no room above replicas
    expect(r.delete).toHaveLength(1); // 4 available - (4 - 1) = 1
  });

  test("maxSurge 25%, maxUnavailable 0: a new pod first, no old pod goes until it is available", () => {
    const a = app("web", basePod(), 4, {
      strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: 0 },
    });
    pods(a, 4);
    rollingOut(a);
    const r = reconcileDeployment(a, 0);
    expect(r.create).toHaveLength(1);
    expect(r.delete).toHaveLength(0);
    // The new pod is there but not Ready: still nothing goes.
    const fresh = simPod(basePod(), a);
    fresh.revision = "rev2";
    fresh.state = "starting";
    a.pods.add(fresh);
    expect(reconcileDeployment(a, 0)).toEqual({ create: [], delete: [] });
    // Once it is available, one old pod goes.
    fresh.state = "ready";
    fresh.readyMs = 0;
    expect(reconcileDeployment(a, 0).delete).toHaveLength(1);
  });

  test("minReadySeconds: a Ready pod is available only after it", () => {
    const a = app("web", basePod(), 2, {
      minReadySeconds: 30,
      strategy: { type: "RollingUpdate", maxSurge: 1, maxUnavailable: 0 },
    });
    pods(a, 2);
    rollingOut(a);
    const fresh = simPod(basePod(), a);
    fresh.revision = "rev2";
    fresh.state = "ready";
    fresh.readyMs = 10_000;
    a.pods.add(fresh);
    expect(reconcileDeployment(a, 20_000).delete).toHaveLength(0);
    expect(reconcileDeployment(a, 40_000).delete).toHaveLength(1);
  });

  test("Recreate deletes every old pod, then starts the new ones once they are gone", () => {
    const a = app("web", basePod(), 3, { strategy: { type: "Recreate", maxSurge: 0, maxUnavailable: 0 } });
    const old = pods(a, 3);
    rollingOut(a);
    expect(reconcileDeployment(a, 0)).toEqual({ create: [], delete: old });
    for (const p of old) p.state = "terminating";
    expect(reconcileDeployment(a, 0).create).toHaveLength(0);
    for (const p of old) a.pods.delete(p);
    expect(reconcileDeployment(a, 0).create).toHaveLength(3);
  });

  test("scale-down deletes unbound and not-ready pods first, then the newest", () => {
    const a = app("web", basePod(), 3);
    const [p1, p2, p3] = pods(a, 3) as [SimPod, SimPod, SimPod];
    p2.state = "running"; // started, not Ready
    p3.createdMs = 10;
    const pending = simPod(basePod(), a);
    pending.revision = a.current.hash;
    a.pods.add(pending);
    expect(deletionOrder([p1, p2, p3, pending]).slice(0, 2)).toEqual([pending, p2]);
  });
});

describe("the StatefulSet controller (OrderedReady)", () => {
  test("creates the lowest missing ordinal only when every lower one is Ready", () => {
    const a = app("db", basePod(), 3, { kind: "StatefulSet" });
    expect(reconcileStatefulSet(a).create).toEqual([{ revision: a.current, ordinal: 0 }]);
    const p0 = simPod(basePod(), a);
    p0.ordinal = 0;
    p0.state = "running";
    a.pods.add(p0);
    expect(reconcileStatefulSet(a)).toEqual({ create: [], delete: [] });
    p0.state = "ready";
    expect(reconcileStatefulSet(a).create).toEqual([{ revision: a.current, ordinal: 1 }]);
  });

  test("rolls out from the highest ordinal, one pod at a time", () => {
    const a = app("db", basePod(), 3, { kind: "StatefulSet" });
    const all = [0, 1, 2].map((i) => {
      const p = simPod(basePod(), a);
      p.ordinal = i;
      p.state = "ready";
      a.pods.add(p);
      return p;
    });
    rollingOut(a);
    expect(reconcileStatefulSet(a).delete).toEqual([all[2]]);
  });
});

describe("the eviction API", () => {
  const pdb = (extra: Record<string, unknown>) =>
    PodDisruptionBudgetSchema.parse({
      namespace: "shop",
      name: "api",
      selector: { matchLabels: { app: "api" } },
      ...extra,
    });

  test("a healthy pod is evicted only while the PDB allows a disruption", () => {
    const b = pdb({ maxUnavailable: 1 });
    expect(
      evictionRefusal(true, [{ name: "shop/api", pdb: b, counts: { healthy: 10, desired: 9 } }]),
    ).toBeUndefined();
    expect(evictionRefusal(true, [{ name: "shop/api", pdb: b, counts: { healthy: 9, desired: 9 } }])).toEqual(
      {
        code: "too_many_requests",
        pdb: "shop/api",
        healthy: 9,
        desired: 9,
      },
    );
  });

  test("an unhealthy pod: IfHealthyBudget needs the budget healthy, AlwaysAllow always lets it go", () => {
    const strict = pdb({ minAvailable: 3 });
    const lax = pdb({ minAvailable: 3, unhealthyPodEvictionPolicy: "AlwaysAllow" });
    expect(
      evictionRefusal(false, [{ name: "p", pdb: strict, counts: { healthy: 3, desired: 3 } }]),
    ).toBeUndefined();
    expect(
      evictionRefusal(false, [{ name: "p", pdb: strict, counts: { healthy: 2, desired: 3 } }]),
    ).toBeDefined();
    expect(
      evictionRefusal(false, [{ name: "p", pdb: lax, counts: { healthy: 2, desired: 3 } }]),
    ).toBeUndefined();
  });

  test("a pod under two PDBs cannot be evicted", () => {
    const b = pdb({ maxUnavailable: 1 });
    expect(
      evictionRefusal(true, [
        { name: "a", pdb: b, counts: { healthy: 10, desired: 1 } },
        { name: "b", pdb: b, counts: { healthy: 10, desired: 1 } },
      ]),
    ).toEqual({ code: "multiple_pdbs", pdbs: ["a", "b"] });
  });

  test("desired healthy: maxUnavailable and percentages round as Kubernetes does", () => {
    expect(desiredHealthy({ maxUnavailable: 1 }, 80)).toBe(79);
    expect(desiredHealthy({ maxUnavailable: "10%" }, 15)).toBe(13); // 10% of 15 rounds up to 2
    expect(desiredHealthy({ minAvailable: "50%" }, 5)).toBe(3);
    expect(desiredHealthy({}, 5)).toBe(1);
  });
});
