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
