// `nodeplan catalog refresh` in-process against aws-sdk-client-mock: the real SDK clients and
// commands with only the transport replaced (AWS is unreachable here), fed the real EC2 responses of
// ../shared/data. The written file must be what `--catalog <file>` plans with.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ec2Sdk, pricingSdk } from "@nodeplan/aws-provider/live";
import { parseCatalog } from "@nodeplan/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { catalogRefresh } from "./catalog-command.ts";
import { loadInputs } from "./inputs.ts";
import { planFor } from "./plan-command.ts";

const {
  DescribeInstanceTypesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeSpotPriceHistoryCommand,
  EC2Client,
} = ec2Sdk;
const { GetProductsCommand, PricingClient } = pricingSdk;

const repo = resolve(import.meta.dirname, "../../..");
const fixture = JSON.parse(
  readFileSync(resolve(repo, "../shared/data/ec2-describe-instance-types.json"), "utf8"),
);
const infos = fixture.DescribeInstanceTypes.InstanceTypes as { InstanceType: string }[];
const offerings = (fixture.DescribeInstanceTypeOfferings.InstanceTypeOfferings as { Location: string }[])
  .filter((o) => !o.Location.endsWith("-local"))
  .map((o) => ({ ...o, LocationType: "availability-zone" }));
const published = new Map(
  (
    JSON.parse(readFileSync(resolve(repo, "../shared/data/aws-catalog-us-east-1.json"), "utf8"))
      .instanceTypes as {
      name: string;
      onDemandPricePerHour: number | null;
    }[]
  ).map((t) => [t.name, t.onDemandPricePerHour]),
);
const NOW = Date.parse("2026-12-01T08:30:00Z");

const ec2Mock = mockClient(EC2Client);
const pricingMock = mockClient(PricingClient);
const tmp = mkdtempSync(join(tmpdir(), "nodeplan-refresh-"));
const saved = { ...process.env };

const priceItem = (instanceType: string, usd: number) =>
  JSON.stringify({
    product: { attributes: { instanceType } },
    terms: { OnDemand: { "A.B": { priceDimensions: { "A.B.C": { pricePerUnit: { USD: String(usd) } } } } } },
  });

function mockAws() {
  ec2Mock.on(DescribeInstanceTypesCommand).resolves({ InstanceTypes: infos as never });
  ec2Mock.on(DescribeInstanceTypeOfferingsCommand).resolves({ InstanceTypeOfferings: offerings as never });
  ec2Mock.on(DescribeSpotPriceHistoryCommand).resolves({
    SpotPriceHistory: [
      {
        InstanceType: "m7i-flex.large",
        AvailabilityZone: "test-zone-1a",
        SpotPrice: "0.0301",
        Timestamp: new Date(NOW - 60_000),
      },
    ],
  });
  pricingMock.on(GetProductsCommand).resolves({
    PriceList: infos.flatMap((t) => {
      const price = published.get(t.InstanceType);
      return price === null || price === undefined ? [] : [priceItem(t.InstanceType, price)];
    }),
  });
}

beforeAll(() => {
  // Ambient credentials as the SDK reads them; never real ones.
  process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  process.env.AWS_CONFIG_FILE = join(tmp, "none");
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(tmp, "none");
});
afterEach(() => {
  ec2Mock.reset();
  pricingMock.reset();
});
afterAll(() => {
  process.env = saved;
});

describe("nodeplan catalog refresh", () => {
  it("reads EC2 and the Price List API and writes a catalog file core parses", async () => {
    mockAws();
    const output = join(tmp, "us-east-1.json");
    const { summary, issues } = await catalogRefresh(
      { region: "us-east-1", output, capacityTypes: "on-demand,spot" },
      () => NOW,
    );
    // Spot prices were mocked for one type only: the others' spot offerings carry the warning.
    expect(issues).toEqual([expect.stringMatching(/^no spot price is known for \d+ instance types/)]);
    const json = JSON.parse(readFileSync(output, "utf8"));
    expect(json).toMatchObject({
      apiVersion: "nodeplan.dev/v1",
      kind: "InstanceCatalog",
      region: "us-east-1",
    });
    expect(json.generatedAt).toBe("2026-12-01T08:30:00.000Z");
    const catalog = parseCatalog(json);
    expect(catalog.errors).toEqual([]);
    const names = catalog.instanceTypes.map((t) => t.name);
    expect(names).toContain("m7i-flex.large");
    expect(summary).toBe(
      `wrote ${names.length} instance types (${catalog.instanceTypes.reduce((n, t) => n + t.offerings.length, 0)} offerings) of us-east-1 to ${output}`,
    );
    const m7i = catalog.instanceTypes.find((t) => t.name === "m7i-flex.large");
    const onDemand = m7i?.offerings.find((o) => o.zone === "test-zone-1a" && o.capacityType === "on-demand");
    const spot = m7i?.offerings.find((o) => o.zone === "test-zone-1a" && o.capacityType === "spot");
    expect(onDemand?.pricePerHour).toBe(published.get("m7i-flex.large"));
    expect(spot?.pricePerHour).toBe(0.0301);
    // The Pricing API was asked in its own region, for this region's Linux on-demand prices.
    const filters = pricingMock.commandCalls(GetProductsCommand)[0]?.args[0].input.Filters ?? [];
    expect(filters).toContainEqual(expect.objectContaining({ Field: "regionCode", Value: "us-east-1" }));
    expect(await pricingMock.call(0).thisValue.config.region()).toBe("us-east-1");

    // `nodeplan plan --catalog <file>` plans with exactly these types.
    const inputs = await loadInputs([resolve(repo, "examples/kubectl-dump")], {
      catalog: output,
      now: "2026-12-01T08:30:00Z",
    });
    const plan = await planFor(inputs);
    expect(plan.errors).toEqual([]);
    expect(plan.placements).toHaveLength(2);
    for (const c of plan.nodeClaims) expect(names).toContain(c.instanceType);
  });

  it("plan --catalog aws reads the ambient region's live catalog", async () => {
    mockAws();
    process.env.AWS_REGION = "us-east-1";
    try {
      const inputs = await loadInputs([resolve(repo, "examples/kubectl-dump")], {
        catalog: "aws",
        now: "2026-12-01T08:30:00Z",
      });
      const plan = await planFor(inputs);
      const live = new Set(infos.map((t) => t.InstanceType));
      expect(plan.placements).toHaveLength(2);
      for (const c of plan.nodeClaims) expect(live.has(c.instanceType)).toBe(true);
      expect(plan.warnings.map((w) => w.code)).toContain("spot_price_unknown");
      expect(ec2Mock.commandCalls(DescribeInstanceTypesCommand).length).toBeGreaterThan(0);
    } finally {
      delete process.env.AWS_REGION;
    }
  });

  it("AWS refusing every call is one clear error, not a stack trace", async () => {
    const denied = Object.assign(new Error("You are not authorized to perform this operation."), {
      name: "UnauthorizedOperation",
      $metadata: { httpStatusCode: 403 },
    });
    ec2Mock.rejects(denied);
    pricingMock.rejects(denied);
    await expect(
      catalogRefresh({ region: "eu-west-1", output: join(tmp, "eu.json") }, () => NOW),
    ).rejects.toThrow(
      /catalog refresh for eu-west-1 failed: no EC2 instance types for eu-west-1: UnauthorizedOperation/,
    );
  });

  it("without a region anywhere, says how to give one", async () => {
    await expect(catalogRefresh({ output: join(tmp, "x.json") })).rejects.toThrow(
      /needs a region: set AWS_REGION .* or pass --region/,
    );
  });
});
