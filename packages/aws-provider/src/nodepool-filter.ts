import {
  type InstanceType,
  type NodePool,
  type NodeSelectorRequirement,
  type Offering,
  valueSatisfiesRequirement,
} from "@nodeplan/core";
import { awsLabels, awsWellKnownLabelKeys, coreLabels } from "./labels.ts";

/**
 * Narrows a provider's instance types to what a NodePool's requirements (and template labels)
 * allow, as Karpenter does before scheduling: label requirements filter types, zone and capacity
 * type requirements filter offerings, and a type left with no offering is dropped.
 */

// Keys an AWS instance type defines (as a value, or as "does not exist" when it has none); a
// requirement on any other key (a custom label) does not constrain the type.
const definedByInstanceType = new Set<string>([
  ...awsWellKnownLabelKeys,
  coreLabels.instanceType,
  coreLabels.arch,
  coreLabels.os,
  coreLabels.region,
]);

/** Whether a value (undefined = label absent) satisfies one node selector requirement (core's rule). */
export function satisfies(value: string | undefined, requirement: NodeSelectorRequirement): boolean {
  return valueSatisfiesRequirement(value, requirement);
}

function offeringValue(offering: Offering, key: string): string | undefined {
  if (key === coreLabels.zone) return offering.zone;
  if (key === coreLabels.capacityType) return offering.capacityType;
  if (key === awsLabels.topologyZoneId) return offering.zoneId;
  if (key === awsLabels.capacityReservationId) return offering.reservationId;
  return undefined;
}
const offeringKeys = new Set<string>([
  coreLabels.zone,
  coreLabels.capacityType,
  awsLabels.topologyZoneId,
  awsLabels.capacityReservationId,
]);

/** The requirements a NodePool places on instance types: its requirements plus its template labels. */
export function nodePoolRequirements(nodePool: NodePool): NodeSelectorRequirement[] {
  const fromLabels = Object.entries(nodePool.template.labels).map(([key, value]) => ({
    key,
    operator: "In" as const,
    values: [value],
  }));
  return [...nodePool.template.requirements, ...fromLabels];
}

/** The instance types (with only their allowed offerings) a NodePool can launch. */
export function filterInstanceTypes(
  types: readonly InstanceType[],
  requirements: readonly NodeSelectorRequirement[],
): InstanceType[] {
  const labelRequirements = requirements.filter((r) => !offeringKeys.has(r.key));
  const offeringRequirements = requirements.filter((r) => offeringKeys.has(r.key));
  const out: InstanceType[] = [];
  for (const it of types) {
    const fits = labelRequirements.every((r) => {
      const value = it.labels[r.key];
      if (value === undefined && !definedByInstanceType.has(r.key)) return true;
      return satisfies(value, r);
    });
    if (!fits) continue;
    const offerings = it.offerings.filter((o) =>
      offeringRequirements.every((r) => satisfies(offeringValue(o, r.key), r)),
    );
    if (offerings.length === 0) continue;
    out.push({ ...it, offerings });
  }
  return out;
}
