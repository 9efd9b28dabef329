import { describe, expect, test } from "vitest";
import { NodePoolSchema } from "../model.ts";
import { allowedDisruptions, budgetWindow } from "./budgets.ts";

const at = (iso: string) => Date.parse(iso);

describe("budgetWindow", () => {
  const weekdays = { nodes: "0", schedule: "0 9 * * 1-5", duration: "8h" };
  test("active inside the window after a fire, with its end", () => {
    // 2026-11-02 is a Monday.
    expect(budgetWindow(weekdays, at("2026-11-02T12:00:00Z"))).toEqual({
      active: true,
      until: "2026-11-02T17:00:00.000Z",
    });
  });
  test("inactive after the window and on weekends", () => {
    expect(budgetWindow(weekdays, at("2026-11-02T17:00:00Z")).active).toBe(false);
    expect(budgetWindow(weekdays, at("2026-11-01T12:00:00Z")).active).toBe(false);
  });
  test("a fire exactly at now counts", () => {
    expect(budgetWindow(weekdays, at("2026-11-02T09:00:00Z")).active).toBe(true);
  });
  test("macros", () => {
    expect(
      budgetWindow({ nodes: "1", schedule: "@daily", duration: "1h" }, at("2026-11-02T00:30:00Z")).active,
    ).toBe(true);
  });
});

describe("allowedDisruptions", () => {
  const pool = NodePoolSchema.parse({
    name: "general",
    disruption: {
      budgets: [
        { nodes: "10%" },
        { nodes: "0", schedule: "0 9 * * 1-5", duration: "8h", reasons: ["Underutilized"] },
      ],
    },
  });
  test("percentages round up", () => {
    expect(allowedDisruptions(pool, "Empty", at("2026-11-02T12:00:00Z"), 23, 0).allowed).toBe(3);
  });
  test("the minimum of active budgets that name the reason", () => {
    const during = allowedDisruptions(pool, "Underutilized", at("2026-11-02T12:00:00Z"), 23, 0);
    expect(during.allowed).toBe(0);
    expect(during.until).toBe("2026-11-02T17:00:00.000Z");
    expect(allowedDisruptions(pool, "Underutilized", at("2026-11-02T18:00:00Z"), 23, 0).allowed).toBe(3);
  });
  test("nodes already disrupting count against the budget", () => {
    expect(allowedDisruptions(pool, "Drifted", at("2026-11-02T18:00:00Z"), 23, 2).allowed).toBe(1);
    expect(allowedDisruptions(pool, "Drifted", at("2026-11-02T18:00:00Z"), 23, 5).allowed).toBe(0);
  });
  test("an invalid budget allows 0", () => {
    const bad = NodePoolSchema.parse({
      name: "bad",
      disruption: { budgets: [{ nodes: "5", schedule: "not a cron", duration: "1h" }] },
    });
    expect(allowedDisruptions(bad, "Empty", at("2026-11-02T12:00:00Z"), 10, 0).allowed).toBe(0);
  });
  test("the default budget is 10%", () => {
    const d = NodePoolSchema.parse({ name: "d" });
    expect(allowedDisruptions(d, "Empty", at("2026-11-02T12:00:00Z"), 5, 0).allowed).toBe(1);
  });
});
