import { describe, expect, test } from "vitest";
import { type PodDisruptionBudget, PodDisruptionBudgetSchema, PodSchema } from "../model.ts";
import { pdbStatus, scaledValue } from "./pdb.ts";

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
