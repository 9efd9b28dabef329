import { readFileSync } from "node:fs";
import type { Ec2InstanceTypeInfo } from "./ec2-info.ts";

/**
 * Test-only access to the public facts in ../shared/data (read at test time, never bundled).
 * Named *.test-helper.ts so the build and the runtime never see it.
 */

/** One entry of the published catalog table. */
export interface PublishedInstanceType {
  name: string;
  labels: Record<string, string>;
  allocatable: Record<string, string>;
  onDemandPricePerHour: number | null;
}

const dataUrl = (file: string) => new URL(`../../../../shared/data/${file}`, import.meta.url);

/** The 17 raw DescribeInstanceTypes entries and their offerings. */
export function loadEc2Fixture(): {
  instanceTypes: Ec2InstanceTypeInfo[];
  offerings: { InstanceType: string; Location: string }[];
} {
  const raw = JSON.parse(readFileSync(dataUrl("ec2-describe-instance-types.json"), "utf8"));
  return {
    instanceTypes: raw.DescribeInstanceTypes.InstanceTypes,
    offerings: raw.DescribeInstanceTypeOfferings.InstanceTypeOfferings,
  };
}

/** The published us-east-1 catalog, by instance type name. */
export function loadPublishedCatalog(): Map<string, PublishedInstanceType> {
  const raw = JSON.parse(readFileSync(dataUrl("aws-catalog-us-east-1.json"), "utf8"));
  return new Map((raw.instanceTypes as PublishedInstanceType[]).map((t) => [t.name, t]));
}

/** ../shared/data/aws-node-costs-us-east-1.json as published. */
export function loadNodeCosts(): {
  hoursPerMonth: number;
  ebsPerGbMonth: Record<string, number>;
  ebsProvisioned: {
    gp3: {
      includedIops: number;
      perIopsMonth: number;
      includedThroughputMiBps: number;
      perMiBpsMonth: number;
    };
    io1: { perIopsMonth: number };
    io2: { perIopsMonthTiers: { upTo: number | null; price: number }[] };
  };
  publicIpv4PerHour: number;
  defaultBlockDeviceMappings: Record<
    string,
    { deviceName: string; volumeSize: string; volumeType: string }[]
  >;
  burstable: {
    surplusCreditPerVcpuHour: { linux: number };
    defaultCreditSpecification: Record<string, string>;
    baselinePercentPerVcpu: Record<string, number>;
  };
} {
  const raw = JSON.parse(readFileSync(dataUrl("aws-node-costs-us-east-1.json"), "utf8"));
  return { ...raw, hoursPerMonth: raw.meta.hoursPerMonth };
}

/** ../shared/data/aws-offerings-us-east-1.json: per type, the zones and zone IDs EC2 offers it in. */
export function loadOfferings(): {
  zoneNameToId: Record<string, string>;
  offerings: Record<string, { zones: string[]; zoneIds: string[] }>;
} {
  const raw = JSON.parse(readFileSync(dataUrl("aws-offerings-us-east-1.json"), "utf8"));
  return { zoneNameToId: raw.meta.zoneNameToId, offerings: raw.offerings };
}

/** ../shared/data/aws-spot-prices-us-east-1-2022-05.json: per type, spot price by zone ID. */
export function loadSpotPrices2022(): Record<string, Record<string, number>> {
  return JSON.parse(readFileSync(dataUrl("aws-spot-prices-us-east-1-2022-05.json"), "utf8")).spotPricePerHour;
}
