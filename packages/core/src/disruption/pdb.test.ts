import { describe, expect, test } from "vitest";
import { deepFreeze } from "../frozen.ts";
import { type Pod, type PodDisruptionBudget, PodDisruptionBudgetSchema, PodSchema } from "../model.ts";
import { pdbMembership, pdbStatus, scaledValue } from "./pdb.ts";

const pods = Array.from({ length: 5 }, (_, i) =>
  PodSchema.parse({
    namespace: "web",
    name: `api-${i}`,
    uid: `u${i}`,
    creationTimestamp: "2026-11-01T00:00:00Z",
    requests: { cpuMillis: 100, pods: 1 },
    labels: { app: "api" },
    nodeName: "n1",
    phase: i === 4 ? "Pending" : "Running",
    provisionable: false,
  }),
);
const pdb = (spec: Partial<PodDisruptionBudget>) =>
  PodDisruptionBudgetSchema.parse({
    namespace: "web",
    name: "api",
    selector: { matchLabels: { app: "api" } },
    ...spec,
  });

describe("pdbStatus", () => {
  test("maxUnavailable 1 with one pod already unhealthy allows 0", () => {
    expect(pdbStatus(pdb({ maxUnavailable: 1 }), pods)).toMatchObject({
      expectedPods: 5,
      currentHealthy: 4,
      desiredHealthy: 4,
      disruptionsAllowed: 0,
    });
  });
  test("minAvailable as a percentage rounds up", () => {
    expect(pdbStatus(pdb({ minAvailable: "50%" }), pods)).toMatchObject({
      desiredHealthy: 3,
      disruptionsAllowed: 1,
    });
  });
  test("maxUnavailable as a percentage rounds up", () => {
    expect(pdbStatus(pdb({ maxUnavailable: "30%" }), pods)).toMatchObject({
      desiredHealthy: 3,
      disruptionsAllowed: 1,
    });
  });
  test("other namespaces and labels are not selected", () => {
    const other = PodDisruptionBudgetSchema.parse({
      namespace: "other",
      name: "x",
      selector: { matchLabels: { app: "api" } },
      minAvailable: 0,
    });
    expect(pdbStatus(other, pods).expectedPods).toBe(0);
  });
  test("scaledValue", () => {
    expect(scaledValue("10%", 23)).toBe(3);
    expect(scaledValue(2, 23)).toBe(2);
  });
});

describe("pdbMembership", () => {
  const names = (index: ReturnType<typeof pdbMembership>, of: readonly Pod[]) =>
    Object.fromEntries(
      of.flatMap((p) => {
        const list = index.of(p);
        return list.length === 0 ? [] : [[`${p.namespace}/${p.name}`, list.map((e) => e.name)]];
      }),
    );

  test("pods covered by the same PDBs share one list; finished pods and other namespaces are not covered", () => {
    const two = [pdb({}), pdb({ name: "all-web", selector: { matchLabels: {}, matchExpressions: [] } })];
    const other = { ...(pods[0] as Pod), namespace: "batch", name: "job" };
    const done = { ...(pods[1] as Pod), name: "done", phase: "Succeeded" as const };
    const index = pdbMembership(two);
    expect(names(index, [...pods, other, done])["web/api-0"]).toEqual(["web/api", "web/all-web"]);
    // A copy with its own labels object, as a workload's next replica: the same list.
    const copy = { ...(pods[3] as Pod), labels: { app: "api" } };
    expect(index.of(pods[0] as Pod)).toBe(index.of(copy));
    expect(index.of(other)).toEqual([]);
    expect(index.of(done)).toEqual([]);
    expect(index.of({ ...(pods[0] as Pod), labels: { app: "worker" } }).map((e) => e.name)).toEqual([
      "web/all-web",
    ]);
  });

  test("remembered across indexes only for frozen PDBs and labels: labels that change are read again", () => {
    const pdbs = deepFreeze([pdb({})]);
    const labels = { app: "api" };
    const mutable = { ...(pods[0] as Pod), name: "mutable", labels };
    const frozen = deepFreeze({ ...(pods[0] as Pod), name: "frozen", labels: { app: "api" } });
    expect(Object.keys(names(pdbMembership(pdbs), [mutable, frozen]))).toEqual(["web/mutable", "web/frozen"]);
    labels.app = "worker";
    expect(Object.keys(names(pdbMembership(pdbs), [mutable, frozen]))).toEqual(["web/frozen"]);
  });

  test("count: each PDB's pods and healthy pods, the same as looking every pod up, list after list", () => {
    const pdbs = deepFreeze([
      pdb({}),
      pdb({ name: "all-web", selector: { matchLabels: {}, matchExpressions: [] } }),
    ]);
    const make = (i: number, app: string, phase: "Running" | "Pending", terminating = false): Pod =>
      deepFreeze({ ...(pods[0] as Pod), name: `p${i}`, uid: `u${i}`, labels: { app }, phase, terminating });
    const direct = (list: readonly Pod[]) => {
      const expected = new Map<string, number>();
      const healthy = new Map<string, number>();
      for (const name of ["web/api", "web/all-web"]) {
        const p = pdbStatus(
          pdbs.find((x) => `${x.namespace}/${x.name}` === name) as PodDisruptionBudget,
          list,
        );
        if (p.expectedPods > 0) expected.set(name, p.expectedPods);
        if (p.currentHealthy > 0) healthy.set(name, p.currentHealthy);
      }
      return { expected, healthy };
    };
    let list = Array.from({ length: 300 }, (_, i) => make(i, i % 3 === 0 ? "worker" : "api", "Running"));
    // Each round: a run of pods turns unhealthy (new objects, as a pass hands), some go, some come; a
    // mutable pod changes between counts; every count is recomputed from the PDBs themselves.
    const mutable = { ...(pods[0] as Pod), name: "mutable", labels: { app: "api" } };
    for (let round = 0; round < 6; round++) {
      list = [
        ...list.slice(0, 40 * round),
        ...list
          .slice(40 * round, 40 * round + 100)
          .map((p, i) => make(1000 * (round + 1) + i, p.labels.app as string, "Pending")),
        ...list.slice(40 * round + 110),
        make(5000 + round, "api", "Running", round % 2 === 0),
      ];
      mutable.phase = round % 2 === 0 ? "Running" : "Pending";
      const withMutable = [...list, mutable];
      const counted = pdbMembership(pdbs).count(withMutable);
      const want = direct(withMutable);
      expect(counted.expected).toEqual(want.expected);
      expect(Object.fromEntries(counted.healthy)).toEqual(
        Object.fromEntries([...want.healthy].filter(([, k]) => k > 0)),
      );
    }
  });
});
