import { DescribeInstancesCommand, type DescribeInstancesCommandOutput } from "@aws-sdk/client-ec2";
import type { DriftDetector, DriftReason, Node, NodePool } from "@nodeplan/core";
import type { EC2NodeClass } from "../ec2nodeclass.ts";
import { stableHash } from "./launch-template.ts";
import type { ResolvedNodeClass } from "./resolve.ts";
import { eachPage, type RetryOptions } from "./retry.ts";

/**
 * Drift of a node from its EC2NodeClass, as Karpenter decides it (A: pkg/cloudprovider/drift.go):
 * its AMI is no longer selected, its subnet is no longer selected, its security groups differ from
 * the selected ones, or the node class's spec changed since launch (a hash stamped on the NodeClaim).
 */

/** The NodeClaim annotation holding the node class hash at launch (Karpenter's key). */
export const EC2NODECLASS_HASH_ANNOTATION = "karpenter.k8s.aws/ec2nodeclass-hash";
/** The NodeClaim annotation holding the hash algorithm version (Karpenter's key). */
export const EC2NODECLASS_HASH_VERSION_ANNOTATION = "karpenter.k8s.aws/ec2nodeclass-hash-version";
/**
 * nodeplan's hash version. nodeplan hashes differently from Karpenter's hashstructure, so it uses its
 * own version: a node stamped by Karpenter (another version) is never called drifted by its hash, as
 * Karpenter itself treats a version change.
 */
export const EC2NODECLASS_HASH_VERSION = "nodeplan-v1";

/** Spec fields whose changes are not static drift (they drift through what they resolve to). */
const unhashed = new Set([
  "subnetSelectorTerms",
  "securityGroupSelectorTerms",
  "amiSelectorTerms",
  "capacityReservationSelectorTerms",
]);

/** The hash of the node class's spec, without the selector terms. */
export function ec2NodeClassHash(nodeClass: EC2NodeClass): string {
  const spec = Object.fromEntries(Object.entries(nodeClass.spec).filter(([k]) => !unhashed.has(k)));
  return stableHash(spec, 16);
}

/** The annotations to stamp on a NodeClaim launched from `nodeClass`. */
export function ec2NodeClassHashAnnotations(nodeClass: EC2NodeClass): Record<string, string> {
  return {
    [EC2NODECLASS_HASH_ANNOTATION]: ec2NodeClassHash(nodeClass),
    [EC2NODECLASS_HASH_VERSION_ANNOTATION]: EC2NODECLASS_HASH_VERSION,
  };
}

/** What drift reads about a running instance. */
export interface InstanceFacts {
  imageId?: string;
  subnetId?: string;
  securityGroupIds?: string[];
}

/** Options of `AwsDriftDetector`. */
export interface AwsDriftDetectorOptions {
  /** The node class's current selections (the last `resolveNodeClass`); undefined = not known yet. */
  selections: (nodeClass: EC2NodeClass) => ResolvedNodeClass | undefined;
  /** The node's instance (e.g. from `describeInstanceFacts`); undefined = not known yet. */
  instance: (node: Node) => InstanceFacts | undefined;
}

/** core's DriftDetector for EC2. Unknown facts never make a node drifted. */
export class AwsDriftDetector implements DriftDetector<EC2NodeClass> {
  private readonly options: AwsDriftDetectorOptions;

  constructor(options: AwsDriftDetectorOptions) {
    this.options = options;
  }

  isDrifted(node: Node, _nodePool: NodePool, nodeClass: EC2NodeClass | undefined): DriftReason | undefined {
    if (nodeClass === undefined) return undefined;
    const name = nodeClass.metadata.name;
    const current = this.options.selections(nodeClass);
    const instance = this.options.instance(node);
    if (current !== undefined && instance !== undefined) {
      if (
        instance.imageId !== undefined &&
        current.amis.length > 0 &&
        !current.amis.some((a) => a.id === instance.imageId)
      )
        return {
          code: "AMIDrift",
          message: `AMI ${instance.imageId} is no longer selected by EC2NodeClass ${name} (selected: ${current.amis.map((a) => a.id).join(", ")})`,
        };
      if (
        instance.subnetId !== undefined &&
        current.subnets.length > 0 &&
        !current.subnets.some((s) => s.id === instance.subnetId)
      )
        return {
          code: "SubnetDrift",
          message: `subnet ${instance.subnetId} is no longer selected by EC2NodeClass ${name}`,
        };
      const selected = new Set(current.securityGroups.map((g) => g.id));
      const actual = new Set(instance.securityGroupIds ?? []);
      if (
        instance.securityGroupIds !== undefined &&
        selected.size > 0 &&
        (selected.size !== actual.size || [...actual].some((id) => !selected.has(id)))
      )
        return {
          code: "SecurityGroupDrift",
          message: `security groups ${[...actual].sort().join(", ")} differ from those EC2NodeClass ${name} selects (${[...selected].sort().join(", ")})`,
        };
    }
    const stamped = node.annotations[EC2NODECLASS_HASH_ANNOTATION];
    if (
      stamped !== undefined &&
      node.annotations[EC2NODECLASS_HASH_VERSION_ANNOTATION] === EC2NODECLASS_HASH_VERSION
    ) {
      const hash = ec2NodeClassHash(nodeClass);
      if (hash !== stamped)
        return {
          code: "NodeClassDrift",
          message: `EC2NodeClass ${name} spec changed since launch (hash ${stamped} -> ${hash})`,
        };
    }
    return undefined;
  }
}

/** The EC2 call that reads instances for drift. */
export interface Ec2DescribeInstancesApi {
  send(command: DescribeInstancesCommand): Promise<DescribeInstancesCommandOutput>;
}

/** Image, subnet and security groups of instances, by instance id (missing ids are absent). */
export async function describeInstanceFacts(
  ec2: Ec2DescribeInstancesApi,
  instanceIds: readonly string[],
  retry?: RetryOptions,
): Promise<Map<string, InstanceFacts>> {
  const out = new Map<string, InstanceFacts>();
  for (let i = 0; i < instanceIds.length; i += 1000) {
    for await (const page of eachPage(
      (next) =>
        ec2.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: "instance-id", Values: instanceIds.slice(i, i + 1000) }],
            ...next,
          }),
        ),
      retry,
    )) {
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (instance.InstanceId === undefined) continue;
        out.set(instance.InstanceId, {
          ...(instance.ImageId === undefined ? {} : { imageId: instance.ImageId }),
          ...(instance.SubnetId === undefined ? {} : { subnetId: instance.SubnetId }),
          securityGroupIds: (instance.SecurityGroups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
        });
      }
    }
  }
  return out;
}
