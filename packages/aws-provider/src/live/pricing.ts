import type { Filter } from "@aws-sdk/client-pricing";
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

interface PriceItem {
  product?: { attributes?: { instanceType?: unknown } };
  terms?: {
    OnDemand?: Record<
      string,
      { priceDimensions?: Record<string, { pricePerUnit?: Record<string, unknown> }> }
    >;
  };
}

/** Reads one page's PriceList strings into `into`, reporting entries that are not price JSON. */
export function parsePriceList(
  priceList: readonly string[],
  currency: string,
  page: number,
  into: Map<string, number>,
  issues: PriceListIssue[],
): void {
  priceList.forEach((raw, index) => {
    let item: PriceItem;
    try {
      item = JSON.parse(raw) as PriceItem;
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
    const instanceType = item.product?.attributes?.instanceType;
    if (typeof instanceType !== "string" || instanceType === "") return;
    for (const term of Object.values(item.terms?.OnDemand ?? {})) {
      for (const dimension of Object.values(term.priceDimensions ?? {})) {
        const price = Number(dimension.pricePerUnit?.[currency]);
        if (!Number.isFinite(price) || price <= 0) continue;
        into.set(instanceType, price);
      }
    }
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
