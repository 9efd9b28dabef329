import type { Filter } from "@aws-sdk/client-pricing";
import { type NodeCostPrices, US_EAST_1_NODE_COST_PRICES, type VolumeType } from "../node-costs.ts";
import type { PricingApi } from "./clients.ts";
import { eachPage, type RetryOptions } from "./retry.ts";
import { pricingSdk } from "./sdk.ts";

const { GetProductsCommand } = pricingSdk;

/**
 * On-demand prices from the AWS Price List API (GetProducts), parsed from its JSON strings as
 * Karpenter parses them (A: pkg/providers/pricing/pricing.go onDemandPage): the OnDemand terms'
 * price per unit in USD (CNY in China regions); zero prices are ignored.
 */

/** A price list entry that could not be read; the rest of the page is kept. */
export interface PriceListIssue {
  code: "malformed_price_list";
  /** Page number (from 0) and index of the entry in its PriceList. */
  page: number;
  index: number;
  detail: string;
}

/** Prices by instance type, plus the entries that could not be read. */
export interface OnDemandPrices {
  prices: Map<string, number>;
  issues: PriceListIssue[];
}

/** The filters shared by both queries (tenancy and product family differ: shared vs bare metal). */
export function onDemandFilters(region: string): Filter[] {
  const term = (Field: string, Value: string): Filter => ({ Field, Type: "TERM_MATCH", Value });
  return [
    term("regionCode", region),
    term("serviceCode", "AmazonEC2"),
    term("preInstalledSw", "NA"),
    term("operatingSystem", "Linux"),
    term("capacitystatus", "Used"),
    term("marketoption", "OnDemand"),
  ];
}

/** A Price List entry's OnDemand terms (what every parser here reads prices from). */
interface OnDemandTerms {
  terms?: {
    OnDemand?: Record<
      string,
      { priceDimensions?: Record<string, { unit?: unknown; pricePerUnit?: Record<string, unknown> }> }
    >;
  };
}

interface PriceItem extends OnDemandTerms {
  product?: { attributes?: { instanceType?: unknown } };
}

/**
 * Each entry of one page's PriceList with its positive OnDemand prices in `currency` (zero prices, free
 * tiers, are skipped): `visit(item, price, unit)` per price dimension. An entry that is not price JSON
 * is reported in `issues` and the rest of the page is kept.
 */
function eachOnDemandPrice<T extends OnDemandTerms>(
  priceList: readonly string[],
  currency: string,
  page: number,
  issues: PriceListIssue[],
  visit: (item: T, price: number, unit: unknown) => void,
): void {
  priceList.forEach((raw, index) => {
    let item: T;
    try {
      item = JSON.parse(raw) as T;
    } catch (error) {
      issues.push({
        code: "malformed_price_list",
        page,
        index,
        detail: error instanceof Error ? error.message : String(error),
      });
      return;
    }
    if (typeof item !== "object" || item === null) {
      issues.push({ code: "malformed_price_list", page, index, detail: "entry is not a JSON object" });
      return;
    }
    for (const term of Object.values(item.terms?.OnDemand ?? {})) {
      for (const dimension of Object.values(term.priceDimensions ?? {})) {
        const price = Number(dimension.pricePerUnit?.[currency]);
        if (Number.isFinite(price) && price > 0) visit(item, price, dimension.unit);
      }
    }
  });
}

/** Reads one page's PriceList strings into `into`, reporting entries that are not price JSON. */
export function parsePriceList(
  priceList: readonly string[],
  currency: string,
  page: number,
  into: Map<string, number>,
  issues: PriceListIssue[],
): void {
  eachOnDemandPrice<PriceItem>(priceList, currency, page, issues, (item, price) => {
    const instanceType = item.product?.attributes?.instanceType;
    if (typeof instanceType === "string" && instanceType !== "") into.set(instanceType, price);
  });
}

/** On-demand Linux prices for `region`: shared-tenancy instances and bare metal, paginated. */
export async function fetchOnDemandPrices(
  pricing: PricingApi,
  region: string,
  retry?: RetryOptions,
): Promise<OnDemandPrices> {
  const currency = region.startsWith("cn-") ? "CNY" : "USD";
  const prices = new Map<string, number>();
  const issues: PriceListIssue[] = [];
  let page = 0;
  const queries: Filter[][] = [
    [
      { Field: "tenancy", Type: "TERM_MATCH", Value: "Shared" },
      { Field: "productFamily", Type: "TERM_MATCH", Value: "Compute Instance" },
    ],
    [
      { Field: "tenancy", Type: "TERM_MATCH", Value: "Dedicated" },
      { Field: "productFamily", Type: "TERM_MATCH", Value: "Compute Instance (bare metal)" },
    ],
  ];
  for (const extra of queries) {
    for await (const output of eachPage(
      (next) =>
        pricing.send(
          new GetProductsCommand({
            ServiceCode: "AmazonEC2",
            Filters: [...onDemandFilters(region), ...extra],
            MaxResults: 100,
            ...next,
          }),
        ),
      retry,
    )) {
      parsePriceList(output.PriceList ?? [], currency, page++, prices, issues);
    }
  }
  return { prices, issues };
}

/** A price the Price List did not have for the region: the us-east-1 figure stands in for it. */
export interface NodeCostPriceIssue {
  code: "node_cost_price_missing";
  /** Which price (`ebs gp3 per GB-month`, `public IPv4 per hour`, ...). */
  price: string;
  detail: string;
}

/** EBS and public IPv4 prices of a region, with what could not be read. */
export interface NodeCostPriceList {
  prices: NodeCostPrices;
  issues: (PriceListIssue | NodeCostPriceIssue)[];
}

interface ProductItem extends OnDemandTerms {
  product?: { productFamily?: unknown; attributes?: { usagetype?: unknown } };
}

/** EBS usage types (suffix after the region prefix) priced per GB-month, by volume type. */
const STORAGE_USAGE: Readonly<Record<string, VolumeType>> = {
  "EBS:VolumeUsage.gp3": "gp3",
  "EBS:VolumeUsage.gp2": "gp2",
  "EBS:VolumeUsage.piops": "io1",
  "EBS:VolumeUsage.io2": "io2",
  "EBS:VolumeUsage.st1": "st1",
  "EBS:VolumeUsage.sc1": "sc1",
  "EBS:VolumeUsage": "standard",
};

/**
 * Reads one page of price items into (usage type suffix, unit) -> price, as Karpenter reads its price
 * lists: the OnDemand terms' price per unit in `currency`; zero prices are skipped (free tiers).
 */
export function parseUsagePrices(
  priceList: readonly string[],
  currency: string,
  page: number,
  into: Map<string, { unit: string; price: number }>,
  issues: PriceListIssue[],
): void {
  eachOnDemandPrice<ProductItem>(priceList, currency, page, issues, (item, price, unit) => {
    const usage = item.product?.attributes?.usagetype;
    if (typeof usage !== "string") return;
    // Usage types carry a region prefix (USE2-EBS:VolumeUsage.gp3) except, for EBS, in us-east-1.
    const suffix = usage.replace(/^[A-Z]{2,4}[0-9]*-/, "");
    into.set(suffix, { unit: typeof unit === "string" ? unit : "", price });
  });
}

/**
 * EBS (per GB-month by volume type, gp3 IOPS and throughput, io1 / io2 IOPS) and public IPv4 prices
 * for `region` from the Price List API: AmazonEC2's Storage, System Operation and Provisioned
 * Throughput products and AmazonVPC's in-use public IPv4 address. A price the list lacks keeps the
 * us-east-1 figure and is reported.
 */
export async function fetchNodeCostPrices(
  pricing: PricingApi,
  region: string,
  retry?: RetryOptions,
): Promise<NodeCostPriceList> {
  const currency = region.startsWith("cn-") ? "CNY" : "USD";
  const found = new Map<string, { unit: string; price: number }>();
  const issues: NodeCostPriceList["issues"] = [];
  const parseIssues: PriceListIssue[] = [];
  const term = (Field: string, Value: string): Filter => ({ Field, Type: "TERM_MATCH", Value });
  const queries: { service: string; filters: Filter[] }[] = [
    ...["Storage", "System Operation", "Provisioned Throughput"].map((family) => ({
      service: "AmazonEC2",
      filters: [term("regionCode", region), term("productFamily", family)],
    })),
    { service: "AmazonVPC", filters: [term("regionCode", region)] },
  ];
  let page = 0;
  for (const { service, filters } of queries) {
    for await (const output of eachPage(
      (next) =>
        pricing.send(
          new GetProductsCommand({
            ServiceCode: service,
            Filters: [term("serviceCode", service), ...filters],
            MaxResults: 100,
            ...next,
          }),
        ),
      retry,
    )) {
      parseUsagePrices(output.PriceList ?? [], currency, page++, found, parseIssues);
    }
  }
  issues.push(...parseIssues);
  const base = US_EAST_1_NODE_COST_PRICES;
  const take = (usage: string, units: readonly string[], what: string, fallback: number, scale = 1) => {
    const hit = found.get(usage);
    if (hit !== undefined && units.includes(hit.unit)) return hit.price * scale;
    issues.push({
      code: "node_cost_price_missing",
      price: what,
      detail: `no ${usage} price in ${units.join(" or ")} for ${region}; using us-east-1's ${fallback}`,
    });
    return fallback;
  };
  const ebsPerGbMonth = { ...base.ebsPerGbMonth };
  for (const [usage, type] of Object.entries(STORAGE_USAGE))
    ebsPerGbMonth[type] = take(
      usage,
      ["GB-Mo", "GB-month"],
      `ebs ${type} per GB-month`,
      base.ebsPerGbMonth[type],
    );
  const io2 = base.io2IopsTiers;
  const prices: NodeCostPrices = {
    region,
    ebsPerGbMonth,
    gp3: {
      includedIops: base.gp3.includedIops,
      perIopsMonth: take("EBS:VolumeP-IOPS.gp3", ["IOPS-Mo"], "gp3 IOPS per month", base.gp3.perIopsMonth),
      includedThroughputMiBps: base.gp3.includedThroughputMiBps,
      // Listed per GiB/s-month: 1,024 MiB/s to the GiB/s.
      perMiBpsMonth: take(
        "EBS:VolumeP-Throughput.gp3",
        ["GiBps-mo"],
        "gp3 throughput per MiB/s-month",
        base.gp3.perMiBpsMonth * 1024,
        1 / 1024,
      ),
    },
    io1PerIopsMonth: take("EBS:VolumeP-IOPS.piops", ["IOPS-Mo"], "io1 IOPS per month", base.io1PerIopsMonth),
    io2IopsTiers: [
      {
        upTo: io2[0]?.upTo ?? 32000,
        perIopsMonth: take(
          "EBS:VolumeP-IOPS.io2",
          ["IOPS-Mo"],
          "io2 IOPS per month",
          io2[0]?.perIopsMonth ?? 0,
        ),
      },
      {
        upTo: io2[1]?.upTo ?? 64000,
        perIopsMonth: take(
          "EBS:VolumeP-IOPS.io2.tier2",
          ["IOPS-Mo"],
          "io2 tier 2 IOPS per month",
          io2[1]?.perIopsMonth ?? 0,
        ),
      },
      {
        upTo: null,
        perIopsMonth: take(
          "EBS:VolumeP-IOPS.io2.tier3",
          ["IOPS-Mo"],
          "io2 tier 3 IOPS per month",
          io2[2]?.perIopsMonth ?? 0,
        ),
      },
    ],
    publicIpv4PerHour: take(
      "PublicIPv4:InUseAddress",
      ["Hrs"],
      "public IPv4 per hour",
      base.publicIpv4PerHour,
    ),
    hoursPerMonth: base.hoursPerMonth,
    // The Price List has no line for surplus credits; AWS publishes one Linux price for every region.
    surplusCreditPerVcpuHour: base.surplusCreditPerVcpuHour,
  };
  return { prices, issues };
}
