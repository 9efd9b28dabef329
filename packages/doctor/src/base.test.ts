import { expect, test } from "vitest";
import { doctorOn, readFixture } from "./doctor.test-helper.ts";

test("the fixtures' base cluster has no finding", async () => {
  const report = await doctorOn(readFixture("pdb-missing", "fires-deployment.yaml").texts.slice(0, 1));
  expect(report.findings.map((f) => `${f.rule}: ${f.message}`)).toEqual([]);
});
