import type { CloudInstance } from "@nodeplan/core";
import type { Ec2DescribeInstancesApi } from "./drift.ts";
import { eachPage, type RetryOptions } from "./retry.ts";
import { ec2Sdk } from "./sdk.ts";

const { DescribeInstancesCommand } = ec2Sdk;

/**
 * Every pending, running, stopping or stopped instance of a cluster's NodePools: tagged
 * `kubernetes.io/cluster/<cluster>: owned` and with a `karpenter.sh/nodepool` tag (instances of EKS
 * managed node groups carry the cluster tag but no NodePool), with the NodeClaim each was launched
 * for. What instance garbage collection compares with the NodeClaims (A:
 * pkg/providers/instance/instance.go List).
 */
export async function describeClusterInstances(
  ec2: Ec2DescribeInstancesApi,
  clusterName: string,
  retry?: RetryOptions,
): Promise<CloudInstance[]> {
  const out: CloudInstance[] = [];
  for await (const page of eachPage(
    (next) =>
      ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: `tag:kubernetes.io/cluster/${clusterName}`, Values: ["owned"] },
            { Name: "tag-key", Values: ["karpenter.sh/nodepool"] },
            { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] },
          ],
          MaxResults: 1000,
          ...next,
        }),
      ),
    retry,
  )) {
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      if (instance.InstanceId === undefined) continue;
      const tag = (key: string) => instance.Tags?.find((t) => t.Key === key)?.Value;
      const nodeClaim = tag("karpenter.sh/nodeclaim");
      const nodePool = tag("karpenter.sh/nodepool");
      out.push({
        providerID: `aws:///${instance.Placement?.AvailabilityZone ?? ""}/${instance.InstanceId}`,
        ...(nodeClaim === undefined ? {} : { nodeClaim }),
        ...(nodePool === undefined ? {} : { nodePool }),
        // An instance without a launch time is treated as old: it is past any grace.
        launchedAt: (instance.LaunchTime ?? new Date(0)).toISOString(),
      });
    }
  }
  return out;
}
