// AWS cannot be reached from where these tests run: aws-sdk-client-mock stands in for EC2 and the
// Price List API (the faithful double: real SDK clients and commands, only the transport replaced),
// and the tests assert the exact requests sent.
import type { InstanceTypeInfo, InstanceTypeOffering } from "@aws-sdk/client-ec2";
import type { GetProductsCommandInput } from "@aws-sdk/client-pricing";
import { NodePoolSchema, OfferingSchema, parseCatalog } from "@nodeplan/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CapacityReservationAvailability } from "../capacity-reservations.ts";
import { parseEC2NodeClass } from "../ec2nodeclass.ts";
import { loadEc2Fixture, loadPublishedCatalog } from "../shared-data.test-helper.ts";
import { AwsCatalog } from "./aws-catalog.ts";
import { pricingApiRegion } from "./clients.ts";
import { fetchOnDemandPrices, parsePriceList } from "./pricing.ts";
import { refreshCatalogFile } from "./refresh.ts";
import { isThrottlingError, runBounded, withThrottlingRetry } from "./retry.ts";
import { ec2Sdk, pricingSdk } from "./sdk.ts";

const {
  DescribeCapacityReservationsCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  DescribeSpotPriceHistoryCommand,
  EC2Client,
} = ec2Sdk;
const { GetProductsCommand, PricingClient } = pricingSdk;

const fixture = loadEc2Fixture();
const published = loadPublishedCatalog();
const ec2Mock = mockClient(EC2Client);
const pricingMock = mockClient(PricingClient);
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const ec2 = new EC2Client({ region: "us-east-1", credentials });
const pricing = new PricingClient({ region: pricingApiRegion("us-east-1"), credentials });
const NOW = Date.parse("2026-03-01T12:00:00Z");
const noSleep = { sleep: async () => {}, random: () => 0.5 };

const priceItem = (instanceType: string, usd: string) =>
  JSON.stringify({
    product: { attributes: { instanceType } },
    terms: {
      OnDemand: {
        "ABC.JRTCKXETXF": {
          priceDimensions: { "ABC.JRTCKXETXF.6YS6EN2CT7": { pricePerUnit: { USD: usd } } },
        },
      },
    },
  });
const throttled = () =>
  Object.assign(new Error("Rate exceeded"), {
    name: "ThrottlingException",
    $metadata: { httpStatusCode: 400 },
  });

function mockFixture() {
  const types = fixture.instanceTypes as InstanceTypeInfo[];
  ec2Mock
    .on(DescribeInstanceTypesCommand)
    .resolves({ InstanceTypes: types.slice(9), NextToken: undefined })
    .on(DescribeInstanceTypesCommand, { NextToken: undefined })
    .resolves({ InstanceTypes: types.slice(0, 9), NextToken: "page-2" })
    .on(DescribeInstanceTypesCommand, { NextToken: "page-2" })
    .resolves({ InstanceTypes: types.slice(9) });
  ec2Mock.on(DescribeInstanceTypeOfferingsCommand).resolves({
    InstanceTypeOfferings: fixture.offerings
      .filter((o) => !o.Location.endsWith("-local"))
      .map((o) => ({ ...o, LocationType: "availability-zone" }) as InstanceTypeOffering),
  });
  ec2Mock.on(DescribeSpotPriceHistoryCommand).resolves({
    SpotPriceHistory: [
      {
        InstanceType: "m5.large",
        AvailabilityZone: "test-zone-1a",
        SpotPrice: "0.0400",
        Timestamp: new Date(NOW - 60_000),
      },
      {
        InstanceType: "m5.large",
        AvailabilityZone: "test-zone-1a",
        SpotPrice: "0.0350",
        Timestamp: new Date(NOW - 3_600_000),
      },
      {
        InstanceType: "m5.large",
        AvailabilityZone: "test-zone-1b",
        SpotPrice: "0.0410",
        Timestamp: new Date(NOW - 60_000),
      },
    ],
  });
  pricingMock.on(GetProductsCommand).callsFake(priceListFor);
}

/** What GetProducts answers: instance prices, EBS lines by product family, or VPC lines. */
/** Calls in a stable order (by service, then filters), for comparing calls made concurrently. */
function byText(calls: readonly object[]): object[] {
  const text = (c: object) =>
    JSON.stringify([(c as { ServiceCode?: unknown }).ServiceCode, (c as { Filters?: unknown }).Filters]);
  return [...calls].sort((a, b) => (text(a) < text(b) ? -1 : 1));
}

function priceListFor(input: GetProductsCommandInput): { PriceList: string[] } {
  const family = input.Filters?.find((f) => f.Field === "productFamily")?.Value;
  if (input.ServiceCode === "AmazonVPC") return { PriceList: vpcItems };
  if (family === "Storage" || family === "System Operation" || family === "Provisioned Throughput")
    return { PriceList: ebsItems.filter((i) => JSON.parse(i).product.productFamily === family) };
  return {
    PriceList: fixture.instanceTypes.map((t) =>
      priceItem(t.InstanceType ?? "", String(published.get(t.InstanceType ?? "")?.onDemandPricePerHour)),
    ),
  };
}

/** A Price List product as GetProducts returns it (one JSON string per product). */
const usageItem = (productFamily: string | undefined, usagetype: string, unit: string, usd: string) =>
  JSON.stringify({
    product: {
      ...(productFamily === undefined ? {} : { productFamily }),
      attributes: { regionCode: "us-east-1", usagetype },
    },
    terms: {
      OnDemand: {
        "SKU.JRTCKXETXF": {
          priceDimensions: { "SKU.JRTCKXETXF.6YS6EN2CT7": { unit, pricePerUnit: { USD: usd } } },
        },
      },
    },
  });
// us-east-1's EBS lines carry no region prefix; its VPC lines do (USE1-).
const ebsItems = [
  usageItem("Storage", "EBS:VolumeUsage.gp3", "GB-Mo", "0.0800000000"),
  usageItem("Storage", "EBS:VolumeUsage.gp2", "GB-Mo", "0.1000000000"),
  usageItem("Storage", "EBS:VolumeUsage.piops", "GB-Mo", "0.1250000000"),
  usageItem("Storage", "EBS:VolumeUsage.io2", "GB-Mo", "0.1250000000"),
  usageItem("Storage", "EBS:VolumeUsage.st1", "GB-Mo", "0.0450000000"),
  usageItem("Storage", "EBS:VolumeUsage.sc1", "GB-Mo", "0.0150000000"),
  usageItem("Storage", "EBS:VolumeUsage", "GB-Mo", "0.0500000000"),
  usageItem("System Operation", "EBS:VolumeP-IOPS.gp3", "IOPS-Mo", "0.0050000000"),
  usageItem("System Operation", "EBS:VolumeP-IOPS.piops", "IOPS-Mo", "0.0650000000"),
  usageItem("System Operation", "EBS:VolumeP-IOPS.io2", "IOPS-Mo", "0.0650000000"),
  usageItem("System Operation", "EBS:VolumeP-IOPS.io2.tier2", "IOPS-Mo", "0.0455000000"),
  usageItem("System Operation", "EBS:VolumeP-IOPS.io2.tier3", "IOPS-Mo", "0.0320000000"),
  usageItem("System Operation", "EBS:VolumeIOUsage", "IOs", "0.0000000500"),
  usageItem("Provisioned Throughput", "EBS:VolumeP-Throughput.gp3", "GiBps-mo", "40.9600000000"),
];
const vpcItems = [
  usageItem(undefined, "USE1-PublicIPv4:InUseAddress", "Hrs", "0.0050000000"),
  usageItem(undefined, "USE1-PublicIPv4:IdleAddress", "Hrs", "0.0050000000"),
  usageItem("VpcEndpoint", "USE1-VpcEndpoint-Hours", "Hrs", "0.0100000000"),
];

beforeEach(() => {
  ec2Mock.reset();
  pricingMock.reset();
});
afterEach(() => {
  ec2Mock.reset();
  pricingMock.reset();
});

describe("requests sent to AWS", () => {
  it("DescribeInstanceTypes: Karpenter's filters, page size 100, following NextToken", async () => {
    mockFixture();
    const catalog = new AwsCatalog({ region: "us-east-1", ec2, pricing, now: () => NOW, retry: noSleep });
    const types = await catalog.allInstanceTypes();
    expect(types).toHaveLength(17);
    const calls = ec2Mock.commandCalls(DescribeInstanceTypesCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      {
        Filters: [
          { Name: "supported-usage-class", Values: ["on-demand", "spot"] },
          { Name: "supported-virtualization-type", Values: ["hvm"] },
          { Name: "processor-info.supported-architecture", Values: ["x86_64", "arm64"] },
        ],
        MaxResults: 100,
      },
      {
        Filters: [
          { Name: "supported-usage-class", Values: ["on-demand", "spot"] },
          { Name: "supported-virtualization-type", Values: ["hvm"] },
          { Name: "processor-info.supported-architecture", Values: ["x86_64", "arm64"] },
        ],
        MaxResults: 100,
        NextToken: "page-2",
      },
    ]);
  });
  it("offerings by availability zone, Linux spot prices from now, on-demand price filters", async () => {
    mockFixture();
    await new AwsCatalog({ region: "us-east-1", ec2, pricing, now: () => NOW, retry: noSleep }).refresh();
    expect(ec2Mock.commandCalls(DescribeInstanceTypeOfferingsCommand)[0]?.args[0].input).toEqual({
      LocationType: "availability-zone",
      MaxResults: 1000,
    });
    expect(ec2Mock.commandCalls(DescribeSpotPriceHistoryCommand)[0]?.args[0].input).toEqual({
      ProductDescriptions: ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
      StartTime: new Date(NOW),
      MaxResults: 1000,
    });
    const pricingCalls = pricingMock.commandCalls(GetProductsCommand).map((c) => c.args[0].input);
    const term = (Field: string, Value: string) => ({ Field, Type: "TERM_MATCH", Value });
    const common = [
      term("regionCode", "us-east-1"),
      term("serviceCode", "AmazonEC2"),
      term("preInstalledSw", "NA"),
      term("operatingSystem", "Linux"),
      term("capacitystatus", "Used"),
      term("marketoption", "OnDemand"),
    ];
    // Two datasets are read at once (concurrency 2): compare the calls in a stable order.
    expect(byText(pricingCalls)).toEqual(
      byText([
        {
          ServiceCode: "AmazonEC2",
          MaxResults: 100,
          Filters: [...common, term("tenancy", "Shared"), term("productFamily", "Compute Instance")],
        },
        {
          ServiceCode: "AmazonEC2",
          MaxResults: 100,
          Filters: [
            ...common,
            term("tenancy", "Dedicated"),
            term("productFamily", "Compute Instance (bare metal)"),
          ],
        },
      ]),
    );
    expect(ec2Mock.commandCalls(DescribeCapacityReservationsCommand)).toHaveLength(0);
  });
  it("capacity reservations, when asked, become reserved offerings priced at a sliver of on-demand", async () => {
    mockFixture();
    ec2Mock.on(DescribeCapacityReservationsCommand).resolves({
      CapacityReservations: [
        {
          CapacityReservationId: "cr-1",
          InstanceType: "m5.large",
          AvailabilityZone: "test-zone-1b",
          AvailableInstanceCount: 3,
          State: "active",
        },
      ],
    });
    const catalog = new AwsCatalog({
      region: "us-east-1",
      ec2,
      pricing,
      now: () => NOW,
      retry: noSleep,
      capacityReservations: ["cr-1"],
    });
    const m5 = (await catalog.allInstanceTypes()).find((t) => t.name === "m5.large");
    expect(ec2Mock.commandCalls(DescribeCapacityReservationsCommand)[0]?.args[0].input).toEqual({
      Filters: [{ Name: "state", Values: ["active"] }],
      CapacityReservationIds: ["cr-1"],
    });
    expect(m5?.offerings.filter((o) => o.capacityType === "reserved")).toEqual([
      {
        zone: "test-zone-1b",
        capacityType: "reserved",
        pricePerHour: 0.096 / 10_000_000,
        available: true,
        reservationCapacity: 3,
        reservationId: "cr-1",
      },
    ]);
  });
  it("capacity this process launched into is not offered until DescribeCapacityReservations reflects it; terminations give it back", async () => {
    mockFixture();
    let clock = NOW;
    let ec2Count = 2;
    const reservations = new CapacityReservationAvailability({ now: () => clock });
    ec2Mock.on(DescribeCapacityReservationsCommand).callsFake(async () => {
      // An answer read while a launch happens still counts that instance as available.
      clock += 1;
      return {
        CapacityReservations: [
          {
            CapacityReservationId: "cr-1",
            InstanceType: "m5.large",
            AvailabilityZone: "test-zone-1b",
            AvailableInstanceCount: ec2Count,
            ReservationType: "capacity-block",
          },
        ],
      };
    });
    const catalog = new AwsCatalog({
      region: "us-east-1",
      ec2,
      pricing,
      now: () => clock,
      retry: noSleep,
      capacityReservations: true,
      reservationAvailability: reservations,
      ttlMillis: { reservations: 60_000 },
    });
    const reserved = async () =>
      (await catalog.allInstanceTypes())
        .find((t) => t.name === "m5.large")
        ?.offerings.filter((o) => o.capacityType === "reserved")
        .map((o) => [o.reservationId, o.reservationType, o.reservationCapacity, o.available]);
    expect(await reserved()).toEqual([["cr-1", "capacity-block", 2, true]]);
    reservations.markLaunched("cr-1");
    reservations.markLaunched("cr-1");
    // Within the TTL the catalog has not asked EC2 again: the tracked count says no capacity is left.
    expect(await reserved()).toEqual([["cr-1", "capacity-block", 0, false]]);
    reservations.markTerminated("cr-1");
    expect(await reserved()).toEqual([["cr-1", "capacity-block", 1, true]]);
    // EC2 has caught up with the two launches and the termination.
    clock += 60_000;
    ec2Count = 1;
    expect(await reserved()).toEqual([["cr-1", "capacity-block", 1, true]]);
    expect(ec2Mock.commandCalls(DescribeCapacityReservationsCommand)).toHaveLength(2);
  });
  it("a launch made while DescribeCapacityReservations is in flight stays counted", async () => {
    mockFixture();
    let clock = NOW;
    const reservations = new CapacityReservationAvailability({ now: () => clock });
    reservations.sync([{ id: "cr-1", availableInstanceCount: 1 }], clock - 1);
    ec2Mock.on(DescribeCapacityReservationsCommand).callsFake(async () => {
      clock += 1;
      reservations.markLaunched("cr-1");
      return {
        CapacityReservations: [
          {
            CapacityReservationId: "cr-1",
            InstanceType: "m5.large",
            AvailabilityZone: "test-zone-1b",
            AvailableInstanceCount: 1,
          },
        ],
      };
    });
    const catalog = new AwsCatalog({
      region: "us-east-1",
      ec2,
      pricing,
      now: () => clock,
      retry: noSleep,
      capacityReservations: true,
      reservationAvailability: reservations,
    });
    const m5 = (await catalog.allInstanceTypes()).find((t) => t.name === "m5.large");
    expect(m5?.offerings.find((o) => o.capacityType === "reserved")).toMatchObject({
      reservationId: "cr-1",
      reservationCapacity: 0,
      available: false,
    });
  });
  it("the Pricing endpoint region is chosen as Karpenter chooses", () => {
    expect(pricingApiRegion("us-west-2")).toBe("us-east-1");
    expect(pricingApiRegion("ap-northeast-1")).toBe("ap-south-1");
    expect(pricingApiRegion("eu-west-3")).toBe("eu-central-1");
    expect(pricingApiRegion("cn-north-1")).toBe("cn-northwest-1");
  });
});

describe("offerings and prices", () => {
  it("prices each NodePool's offerings with its node costs, at the region's EBS and IPv4 prices", async () => {
    mockFixture();
    // eu-central-1's lines carry its prefix; this list has no gp3 throughput line.
    pricingMock.on(GetProductsCommand).callsFake((input: GetProductsCommandInput) => {
      const family = input.Filters?.find((f) => f.Field === "productFamily")?.Value;
      if (input.ServiceCode === "AmazonVPC")
        return { PriceList: [usageItem(undefined, "EUC1-PublicIPv4:InUseAddress", "Hrs", "0.0050000000")] };
      if (family === "Storage")
        return { PriceList: [usageItem("Storage", "EUC1-EBS:VolumeUsage.gp3", "GB-Mo", "0.0952000000")] };
      if (family !== undefined && family !== "Compute Instance" && family !== "Compute Instance (bare metal)")
        return { PriceList: [] };
      return priceListFor(input);
    });
    const catalog = new AwsCatalog({
      region: "eu-central-1",
      ec2,
      pricing,
      now: () => NOW,
      retry: noSleep,
      nodeCosts: { burstableLoad: 0.5 },
    });
    const nodeClass = parseEC2NodeClass({
      apiVersion: "karpenter.k8s.aws/v1",
      kind: "EC2NodeClass",
      metadata: { name: "public" },
      spec: {
        role: "KarpenterNodeRole",
        amiSelectorTerms: [{ alias: "al2023@latest" }],
        subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": "c" } }],
        securityGroupSelectorTerms: [{ tags: { "karpenter.sh/discovery": "c" } }],
        associatePublicIPAddress: true,
      },
    });
    const pool = NodePoolSchema.parse({
      name: "default",
      annotations: { "nodeplan.dev/node-fee-per-hour": "0.03" },
    });
    const types = await catalog.instanceTypes(pool, nodeClass);
    const m5 = types.find((t) => t.name === "m5.large");
    const onDemand = m5?.offerings.find((o) => o.capacityType === "on-demand" && o.available);
    const instance = published.get("m5.large")?.onDemandPricePerHour as number;
    expect(onDemand?.costs).toEqual({
      instancePerHour: instance,
      storagePerHour: (20 * 0.0952) / 730,
      networkPerHour: 0.005,
      burstableCreditsPerHour: 0,
      feesPerHour: 0.03,
    });
    expect(onDemand?.pricePerHour).toBeCloseTo(instance + (20 * 0.0952) / 730 + 0.005 + 0.03, 12);
    // EBS and public IPv4 prices come from the Price List, once a NodePool's catalog is asked for.
    const nodeCostCalls = pricingMock
      .commandCalls(GetProductsCommand)
      .map((c) => c.args[0].input)
      .filter(
        (c) =>
          c.ServiceCode === "AmazonVPC" ||
          c.Filters?.some((f) => f.Field === "productFamily" && !String(f.Value).startsWith("Compute")),
      );
    const term = (Field: string, Value: string) => ({ Field, Type: "TERM_MATCH", Value });
    expect(byText(nodeCostCalls)).toEqual(
      byText([
        ...["Storage", "System Operation", "Provisioned Throughput"].map((family) => ({
          ServiceCode: "AmazonEC2",
          MaxResults: 100,
          Filters: [
            term("serviceCode", "AmazonEC2"),
            term("regionCode", "eu-central-1"),
            term("productFamily", family),
          ],
        })),
        {
          ServiceCode: "AmazonVPC",
          MaxResults: 100,
          Filters: [term("serviceCode", "AmazonVPC"), term("regionCode", "eu-central-1")],
        },
      ]),
    );
    // A price the list lacks keeps us-east-1's figure and says so.
    expect(catalog.issues()).toContainEqual(
      expect.objectContaining({ code: "node_cost_price_missing", price: "gp3 throughput per MiB/s-month" }),
    );
    // allInstanceTypes (what `catalog refresh` writes) stays the instance prices alone.
    const raw = (await catalog.allInstanceTypes()).find((t) => t.name === "m5.large");
    expect(raw?.offerings.every((o) => o.costs === undefined)).toBe(true);
  });
  it("prices spot per zone from the latest record, falls back to on-demand with a warning, honours zones and unavailability", async () => {
    mockFixture();
    const catalog = new AwsCatalog({
      region: "us-east-1",
      ec2,
      pricing,
      now: () => NOW,
      retry: noSleep,
      unavailableOfferings: () => [
        {
          instanceType: "m5.large",
          zone: "test-zone-1b",
          capacityType: "spot",
          reason: "InsufficientInstanceCapacity",
          until: "2026-03-01T12:03:00Z",
        },
      ],
    });
    const types = await catalog.allInstanceTypes();
    const m5 = types.find((t) => t.name === "m5.large");
    expect(m5?.offerings).toEqual([
      { zone: "test-zone-1a", capacityType: "on-demand", pricePerHour: 0.096, available: true },
      { zone: "test-zone-1a", capacityType: "spot", pricePerHour: 0.04, available: true },
      { zone: "test-zone-1b", capacityType: "on-demand", pricePerHour: 0.096, available: true },
      { zone: "test-zone-1b", capacityType: "spot", pricePerHour: 0.041, available: false },
      { zone: "test-zone-1c", capacityType: "on-demand", pricePerHour: 0.096, available: true },
      { zone: "test-zone-1c", capacityType: "spot", pricePerHour: 0.096, available: true },
    ]);
    const c6g = types.find((t) => t.name === "c6g.large");
    expect(c6g?.offerings.filter((o) => o.available).map((o) => o.zone)).toEqual([
      "test-zone-1a",
      "test-zone-1a",
    ]);
    // 14: the three t4g types are offered in no zone of the fixture, so no price stood in for them.
    expect(catalog.warnings()).toEqual([
      { code: "spot_price_unknown", message: expect.stringContaining("14 instance types") },
    ]);
    expect(m5?.allocatable).toMatchObject({ cpuMillis: 1930, pods: 29 });
  });
  it("filters per NodePool requirements (a CatalogSource)", async () => {
    mockFixture();
    const catalog = new AwsCatalog({ region: "us-east-1", ec2, pricing, now: () => NOW, retry: noSleep });
    const nodePool = {
      name: "gpu",
      weight: 0,
      template: {
        labels: {},
        annotations: {},
        taints: [],
        startupTaints: [],
        requirements: [
          { key: "karpenter.k8s.aws/instance-gpu-manufacturer", operator: "In" as const, values: ["nvidia"] },
          { key: "karpenter.sh/capacity-type", operator: "In" as const, values: ["on-demand"] },
        ],
        expireAfter: "720h",
      },
      limits: {},
      disruption: { consolidationPolicy: "WhenEmpty" as const, consolidateAfter: "0s", budgets: [] },
      annotations: {},
    };
    const types = await catalog.instanceTypes(nodePool, undefined);
    expect(types.map((t) => t.name)).toEqual(["g4dn.8xlarge", "g5.12xlarge", "p5.48xlarge"]);
    expect(types.every((t) => t.offerings.every((o) => o.capacityType === "on-demand"))).toBe(true);
  });
});

describe("resilience", () => {
  it("retries throttling with exponential backoff and jitter, then succeeds", async () => {
    mockFixture();
    ec2Mock
      .on(DescribeInstanceTypeOfferingsCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ InstanceTypeOfferings: [] });
    const waits: number[] = [];
    const catalog = new AwsCatalog({
      region: "us-east-1",
      ec2,
      pricing,
      now: () => NOW,
      retry: { sleep: async (ms) => void waits.push(ms), random: () => 0.5, baseDelayMillis: 100 },
    });
    expect(await catalog.refresh()).toEqual([]);
    expect(ec2Mock.commandCalls(DescribeInstanceTypeOfferingsCommand)).toHaveLength(3);
    expect(waits).toEqual([50, 100]);
  });
  it("a failed refresh keeps the last good data and reports it", async () => {
    mockFixture();
    let now = NOW;
    const catalog = new AwsCatalog({
      region: "us-east-1",
      ec2,
      pricing,
      now: () => now,
      retry: { ...noSleep, maxAttempts: 2 },
    });
    const before = await catalog.allInstanceTypes();
    ec2Mock.on(DescribeInstanceTypesCommand).rejects(new Error("UnauthorizedOperation"));
    ec2Mock.on(DescribeSpotPriceHistoryCommand).rejects(throttled());
    now += 2 * 3_600_000;
    const after = await catalog.allInstanceTypes();
    expect(after).toEqual(before);
    expect(catalog.issues()).toEqual([
      { code: "refresh_failed", dataset: "instance types", detail: "Error: UnauthorizedOperation" },
      { code: "refresh_failed", dataset: "spot prices", detail: "ThrottlingException: Rate exceeded" },
    ]);
    expect(ec2Mock.commandCalls(DescribeSpotPriceHistoryCommand)).toHaveLength(3);
  });
  it("within the TTL nothing is fetched again", async () => {
    mockFixture();
    const catalog = new AwsCatalog({ region: "us-east-1", ec2, pricing, now: () => NOW, retry: noSleep });
    await catalog.allInstanceTypes();
    await catalog.allInstanceTypes();
    expect(ec2Mock.commandCalls(DescribeInstanceTypeOfferingsCommand)).toHaveLength(1);
  });
  it("with no data at all, instance types cannot be served", async () => {
    ec2Mock.on(DescribeInstanceTypesCommand).rejects(new Error("boom"));
    const catalog = new AwsCatalog({ region: "us-east-1", ec2, pricing, now: () => NOW, retry: noSleep });
    await expect(catalog.allInstanceTypes()).rejects.toThrow(/no EC2 instance types/);
    expect(catalog.issues()[0]).toMatchObject({ code: "no_data", dataset: "instance types" });
  });
  it("bounds concurrency", async () => {
    let inFlight = 0;
    let peak = 0;
    const task = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return 1;
    };
    const results = await runBounded(
      Array.from({ length: 7 }, () => task),
      2,
    );
    expect(peak).toBe(2);
    expect(results.every((r) => r.status === "fulfilled")).toBe(true);
  });
  it("does not retry other errors, and gives up after maxAttempts", async () => {
    let calls = 0;
    await expect(
      withThrottlingRetry(async () => {
        calls++;
        throw new Error("AccessDenied");
      }, noSleep),
    ).rejects.toThrow("AccessDenied");
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withThrottlingRetry(
        async () => {
          calls++;
          throw throttled();
        },
        { ...noSleep, maxAttempts: 3 },
      ),
    ).rejects.toThrow("Rate exceeded");
    expect(calls).toBe(3);
    expect(isThrottlingError({ $metadata: { httpStatusCode: 429 } })).toBe(true);
  });
});

describe("price lists", () => {
  it("reports malformed price JSON and keeps the rest", async () => {
    pricingMock
      .on(GetProductsCommand)
      .resolves({ PriceList: [] })
      .on(GetProductsCommand, { NextToken: undefined })
      .resolves({ PriceList: ["{not json", priceItem("m5.large", "0.0960000000"), "42"], NextToken: "t2" })
      .on(GetProductsCommand, { NextToken: "t2" })
      .resolves({
        PriceList: [priceItem("c6g.large", "0.0680000000"), priceItem("x1.free", "0.0000000000")],
      });
    const { prices, issues } = await fetchOnDemandPrices(pricing, "us-east-1", noSleep);
    expect(Object.fromEntries(prices)).toEqual({ "m5.large": 0.096, "c6g.large": 0.068 });
    // The mock answers the shared-tenancy and the bare-metal query alike: pages 0-1 and 2-3.
    expect(issues).toEqual([
      { code: "malformed_price_list", page: 0, index: 0, detail: expect.any(String) },
      { code: "malformed_price_list", page: 0, index: 2, detail: "entry is not a JSON object" },
      { code: "malformed_price_list", page: 2, index: 0, detail: expect.any(String) },
      { code: "malformed_price_list", page: 2, index: 2, detail: "entry is not a JSON object" },
    ]);
    expect(pricingMock.commandCalls(GetProductsCommand).map((c) => c.args[0].input.NextToken)).toEqual([
      undefined,
      "t2",
      undefined,
      "t2",
    ]);
  });
  it("reads CNY in China regions", () => {
    const prices = new Map<string, number>();
    parsePriceList(
      [
        JSON.stringify({
          product: { attributes: { instanceType: "m5.large" } },
          terms: { OnDemand: { a: { priceDimensions: { b: { pricePerUnit: { CNY: "0.7" } } } } } },
        }),
      ],
      "CNY",
      0,
      prices,
      [],
    );
    expect(prices.get("m5.large")).toBe(0.7);
  });
});

describe("refreshCatalogFile", () => {
  it("writes a catalog file whose allocatable equals the published figures and core accepts", async () => {
    mockFixture();
    const { file, issues } = await refreshCatalogFile({
      region: "us-east-1",
      ec2,
      pricing,
      now: () => NOW,
      retry: noSleep,
    });
    expect(issues).toEqual([]);
    expect(file).toMatchObject({
      apiVersion: "nodeplan.dev/v1",
      kind: "InstanceCatalog",
      region: "us-east-1",
      generatedAt: "2026-03-01T12:00:00.000Z",
    });
    for (const t of file.instanceTypes)
      expect(t.allocatable, t.name).toEqual(published.get(t.name)?.allocatable);
    for (const t of file.instanceTypes)
      for (const o of t.offerings) expect(OfferingSchema.safeParse(o).success).toBe(true);
    // What `nodeplan catalog refresh` writes is what core's parseCatalog reads, anywhere.
    const parsed = parseCatalog(JSON.parse(JSON.stringify(file)));
    expect(parsed.errors).toEqual([]);
    expect(parsed.instanceTypes).toHaveLength(17);
  });
});
