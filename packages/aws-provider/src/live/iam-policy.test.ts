import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";

// deploy/iam-policy.json is the controller role's policy: it must grant every AWS API this provider
// calls (and what CreateFleet needs besides), or acting mode fails at the first launch.
const policy = JSON.parse(
  readFileSync(new URL("../../../../deploy/iam-policy.json", import.meta.url), "utf8"),
) as { Statement: { Effect: string; Action: string | string[] }[] };
const granted = new Set(
  policy.Statement.filter((s) => s.Effect === "Allow").flatMap((s) =>
    Array.isArray(s.Action) ? s.Action : [s.Action],
  ),
);
const service: Record<string, string> = {
  GetProducts: "pricing",
  GetParameter: "ssm",
  ReceiveMessage: "sqs",
  DeleteMessage: "sqs",
};

describe("deploy/iam-policy.json", () => {
  test("grants every API call the live provider sends", () => {
    const dir = import.meta.dirname;
    const calls = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.includes(".test")))
      for (const m of readFileSync(join(dir, file), "utf8").matchAll(/new (\w+)Command\(/g))
        calls.add(`${service[m[1] as string] ?? "ec2"}:${m[1]}`);
    expect(calls.size).toBeGreaterThan(10);
    expect([...calls].filter((c) => !granted.has(c)).sort()).toEqual([]);
  });

  test("grants what a CreateFleet launch needs besides the call itself", () => {
    for (const action of ["ec2:RunInstances", "ec2:CreateTags", "iam:PassRole"])
      expect(granted.has(action)).toBe(true);
  });
});
