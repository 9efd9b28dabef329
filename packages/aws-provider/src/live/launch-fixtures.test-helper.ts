import { EC2Client } from "@aws-sdk/client-ec2";
import { SQSClient } from "@aws-sdk/client-sqs";
import { SSMClient } from "@aws-sdk/client-ssm";
import { type EC2NodeClass, type EC2NodeClassInput, parseEC2NodeClass } from "../ec2nodeclass.ts";

/**
 * Test-only fixtures of the launch path: real SDK clients (aws-sdk-client-mock replaces only their
 * transport) and a typical EC2NodeClass.
 */

const credentials = { accessKeyId: "test", secretAccessKey: "test" };
export const ec2 = new EC2Client({ region: "us-east-1", credentials });
export const ssm = new SSMClient({ region: "us-east-1", credentials });
export const sqs = new SQSClient({ region: "us-east-1", credentials });
export const noSleep = { sleep: async () => {}, random: () => 0.5 };

/** An EC2NodeClass with `spec` merged over AL2023 defaults selecting by discovery tag. */
export function nodeClass(spec: Partial<EC2NodeClassInput["spec"]> = {}, name = "default"): EC2NodeClass {
  return parseEC2NodeClass({
    apiVersion: "karpenter.k8s.aws/v1",
    kind: "EC2NodeClass",
    metadata: { name },
    spec: {
      subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": "demo" } }],
      securityGroupSelectorTerms: [{ tags: { "karpenter.sh/discovery": "demo" } }],
      amiSelectorTerms: [{ alias: "al2023@latest" }],
      instanceProfile: "KarpenterNodeInstanceProfile-demo",
      ...spec,
    },
  });
}

export const cluster = {
  name: "demo",
  endpoint: "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com",
  caBundle: "LS0tLS1CRUdJTi1DRVJUSUZJQ0FURS0tLS0t",
  serviceCidr: "10.100.0.0/16",
};

export const subnets = [
  {
    SubnetId: "subnet-a1",
    AvailabilityZone: "us-east-1a",
    AvailabilityZoneId: "use1-az1",
    AvailableIpAddressCount: 100,
  },
  {
    SubnetId: "subnet-a2",
    AvailabilityZone: "us-east-1a",
    AvailabilityZoneId: "use1-az1",
    AvailableIpAddressCount: 4000,
  },
  {
    SubnetId: "subnet-b1",
    AvailabilityZone: "us-east-1b",
    AvailabilityZoneId: "use1-az2",
    AvailableIpAddressCount: 250,
  },
];
export const securityGroups = [
  { GroupId: "sg-node", GroupName: "eks-node" },
  { GroupId: "sg-cluster", GroupName: "eks-cluster" },
];
export const images = [
  {
    ImageId: "ami-amd64new",
    Architecture: "x86_64",
    CreationDate: "2026-11-20T00:00:00.000Z",
    State: "available",
    Name: "al2023-amd64",
  },
  {
    ImageId: "ami-arm64",
    Architecture: "arm64",
    CreationDate: "2026-11-18T00:00:00.000Z",
    State: "available",
    Name: "al2023-arm64",
  },
] as const;
