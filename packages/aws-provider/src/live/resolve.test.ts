// EC2 and SSM cannot be reached here: aws-sdk-client-mock replaces the transport of the real
// clients, and the tests assert the exact requests sent.
import {
  DescribeImagesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ec2,
  images,
  nodeClass,
  noSleep,
  securityGroups,
  ssm,
  subnets,
} from "./launch-fixtures.test-helper.ts";
import {
  aliasSsmParameters,
  amiForInstanceType,
  resolveAmis,
  resolveNodeClass,
  resolveSecurityGroups,
  resolveSubnets,
  subnetsAssignPublicIpv4,
  zonalSubnets,
} from "./resolve.ts";

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const notFound = () => Object.assign(new Error("not found"), { name: "ParameterNotFound" });

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
});

describe("subnets", () => {
  it("one DescribeSubnets for all ids, one per tag term; '*' selects by tag key; results merged", async () => {
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: subnets });
    const nc = nodeClass({
      subnetSelectorTerms: [
        { id: "subnet-a1" },
        { tags: { "karpenter.sh/discovery": "demo", tier: "*" } },
        { id: "subnet-b1" },
      ],
    });
    const out = await resolveSubnets(ec2, nc, noSleep);
    expect(ec2Mock.commandCalls(DescribeSubnetsCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: [{ Name: "subnet-id", Values: ["subnet-a1", "subnet-b1"] }], MaxResults: 500 },
      {
        Filters: [
          { Name: "tag:karpenter.sh/discovery", Values: ["demo"] },
          { Name: "tag-key", Values: ["tier"] },
        ],
        MaxResults: 500,
      },
    ]);
    expect(out.map((s) => s.id)).toEqual(["subnet-a1", "subnet-a2", "subnet-b1"]);
  });
  it("follows NextToken", async () => {
    ec2Mock
      .on(DescribeSubnetsCommand)
      .resolvesOnce({ Subnets: subnets.slice(0, 1), NextToken: "t2" })
      .resolvesOnce({ Subnets: subnets.slice(1) });
    const out = await resolveSubnets(ec2, nodeClass(), noSleep);
    expect(ec2Mock.commandCalls(DescribeSubnetsCommand)[1]?.args[0].input.NextToken).toBe("t2");
    expect(out).toHaveLength(3);
  });
  it("per zone, the subnet with the most available IPs", () => {
    const zonal = zonalSubnets([
      { id: "subnet-a1", zone: "us-east-1a", availableIpAddressCount: 100 },
      { id: "subnet-a2", zone: "us-east-1a", availableIpAddressCount: 4000 },
      { id: "subnet-b1", zone: "us-east-1b", availableIpAddressCount: 250 },
      { id: "subnet-b0", zone: "us-east-1b", availableIpAddressCount: 250 },
    ]);
    expect(Object.fromEntries([...zonal].map(([z, s]) => [z, s.id]))).toEqual({
      "us-east-1a": "subnet-a2",
      "us-east-1b": "subnet-b0",
    });
  });
  it("records MapPublicIpOnLaunch: nodes pay for a public IPv4 when a subnet they launch into maps one", async () => {
    ec2Mock.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        {
          SubnetId: "subnet-pub",
          AvailabilityZone: "us-east-1a",
          AvailableIpAddressCount: 10,
          MapPublicIpOnLaunch: true,
        },
        {
          SubnetId: "subnet-priv",
          AvailabilityZone: "us-east-1a",
          AvailableIpAddressCount: 900,
          MapPublicIpOnLaunch: false,
        },
      ],
    });
    const out = await resolveSubnets(ec2, nodeClass(), noSleep);
    expect(out.map((s) => [s.id, s.mapPublicIpOnLaunch])).toEqual([
      ["subnet-priv", false],
      ["subnet-pub", true],
    ]);
    // Launches go to the subnet with the most free addresses: the private one.
    expect(subnetsAssignPublicIpv4(out)).toBe(false);
    expect(subnetsAssignPublicIpv4(out.filter((s) => s.id === "subnet-pub"))).toBe(true);
  });
});

describe("security groups", () => {
  it("ids batched, names by group-name, tags by tag filters", async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: securityGroups });
    const nc = nodeClass({
      securityGroupSelectorTerms: [{ id: "sg-node" }, { name: "eks-cluster" }, { tags: { team: "a" } }],
    });
    const out = await resolveSecurityGroups(ec2, nc, noSleep);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: [{ Name: "group-id", Values: ["sg-node"] }], MaxResults: 1000 },
      { Filters: [{ Name: "group-name", Values: ["eks-cluster"] }], MaxResults: 1000 },
      { Filters: [{ Name: "tag:team", Values: ["a"] }], MaxResults: 1000 },
    ]);
    expect(out).toEqual([
      { id: "sg-cluster", name: "eks-cluster" },
      { id: "sg-node", name: "eks-node" },
    ]);
  });
});

describe("AMIs", () => {
  it("alias parameters per family and version: standard and accelerated images per architecture", () => {
    const names = (alias: string, k8s: string) =>
      aliasSsmParameters(alias, k8s).map((p) => [p.name, p.architecture, p.serves.join("+")]);
    const eks = "/aws/service/eks/optimized-ami";
    expect(names("al2023@latest", "1.32")).toEqual([
      [`${eks}/1.32/amazon-linux-2023/x86_64/standard/recommended/image_id`, "amd64", "standard"],
      [`${eks}/1.32/amazon-linux-2023/arm64/standard/recommended/image_id`, "arm64", "standard"],
      [`${eks}/1.32/amazon-linux-2023/x86_64/nvidia/recommended/image_id`, "amd64", "nvidia"],
      [`${eks}/1.32/amazon-linux-2023/arm64/nvidia/recommended/image_id`, "arm64", "nvidia"],
      [`${eks}/1.32/amazon-linux-2023/x86_64/neuron/recommended/image_id`, "amd64", "neuron"],
    ]);
    expect(names("al2023@v20241106", "1.31")[1]).toEqual([
      `${eks}/1.31/amazon-linux-2023/arm64/standard/amazon-eks-node-al2023-arm64-standard-1.31-v20241106/image_id`,
      "arm64",
      "standard",
    ]);
    expect(names("al2@latest", "1.30")).toEqual([
      [`${eks}/1.30/amazon-linux-2/recommended/image_id`, "amd64", "standard"],
      [`${eks}/1.30/amazon-linux-2-arm64/recommended/image_id`, "arm64", "standard"],
      [`${eks}/1.30/amazon-linux-2-gpu/recommended/image_id`, "amd64", "nvidia+neuron"],
    ]);
    expect(names("al2@v20240807", "1.30")[2]?.[0]).toBe(
      `${eks}/1.30/amazon-linux-2-gpu/amazon-eks-gpu-node-1.30-v20240807/image_id`,
    );
    expect(names("bottlerocket@v1.26.2", "1.32")).toEqual([
      ["/aws/service/bottlerocket/aws-k8s-1.32/x86_64/1.26.2/image_id", "amd64", "standard"],
      ["/aws/service/bottlerocket/aws-k8s-1.32/arm64/1.26.2/image_id", "arm64", "standard"],
      ["/aws/service/bottlerocket/aws-k8s-1.32-nvidia/x86_64/1.26.2/image_id", "amd64", "nvidia"],
      ["/aws/service/bottlerocket/aws-k8s-1.32-nvidia/arm64/1.26.2/image_id", "arm64", "nvidia"],
    ]);
    expect(names("windows2022@latest", "1.32")).toEqual([
      [
        "/aws/service/ami-windows-latest/Windows_Server-2022-English-Core-EKS_Optimized-1.32/image_id",
        "amd64",
        "standard",
      ],
    ]);
  });
  it("al2023@latest: GetParameter per image, then one DescribeImages on the ids; newest per architecture and variant", async () => {
    const eks = "/aws/service/eks/optimized-ami/1.32/amazon-linux-2023";
    ssmMock
      .on(GetParameterCommand)
      .rejects(notFound())
      .on(GetParameterCommand, { Name: `${eks}/x86_64/standard/recommended/image_id` })
      .resolves({ Parameter: { Value: "ami-amd64new" } })
      .on(GetParameterCommand, { Name: `${eks}/arm64/standard/recommended/image_id` })
      .resolves({ Parameter: { Value: "ami-arm64" } })
      .on(GetParameterCommand, { Name: `${eks}/x86_64/nvidia/recommended/image_id` })
      .resolves({ Parameter: { Value: "ami-nvidia" } });
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        ...images,
        {
          ImageId: "ami-nvidia",
          Architecture: "x86_64",
          CreationDate: "2026-11-19T00:00:00.000Z",
          State: "available",
        },
      ],
    });
    const amis = await resolveAmis(ec2, ssm, nodeClass(), { kubernetesVersion: "1.32", retry: noSleep });
    expect(ssmMock.commandCalls(GetParameterCommand).map((c) => c.args[0].input.Name)).toEqual([
      `${eks}/x86_64/standard/recommended/image_id`,
      `${eks}/arm64/standard/recommended/image_id`,
      `${eks}/x86_64/nvidia/recommended/image_id`,
      `${eks}/arm64/nvidia/recommended/image_id`,
      `${eks}/x86_64/neuron/recommended/image_id`,
    ]);
    expect(ec2Mock.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([
      {
        Filters: [{ Name: "image-id", Values: ["ami-amd64new", "ami-arm64", "ami-nvidia"] }],
        MaxResults: 1000,
      },
    ]);
    expect(amis).toEqual([
      {
        id: "ami-nvidia",
        architecture: "amd64",
        creationDate: "2026-11-19T00:00:00.000Z",
        serves: ["nvidia"],
      },
      {
        id: "ami-amd64new",
        name: "al2023-amd64",
        architecture: "amd64",
        creationDate: "2026-11-20T00:00:00.000Z",
        serves: ["standard"],
      },
      {
        id: "ami-arm64",
        name: "al2023-arm64",
        architecture: "arm64",
        creationDate: "2026-11-18T00:00:00.000Z",
        serves: ["standard"],
      },
    ]);
    const gpu = { "kubernetes.io/arch": "amd64", "karpenter.k8s.aws/instance-gpu-manufacturer": "nvidia" };
    expect(amiForInstanceType(amis, gpu)?.id).toBe("ami-nvidia");
    expect(amiForInstanceType(amis, { "kubernetes.io/arch": "amd64" })?.id).toBe("ami-amd64new");
    const neuron = {
      "kubernetes.io/arch": "amd64",
      "karpenter.k8s.aws/instance-accelerator-manufacturer": "aws",
    };
    expect(amiForInstanceType(amis, neuron)).toBeUndefined();
  });
  it("a missing alias parameter (ParameterNotFound) is skipped; other SSM errors propagate", async () => {
    ssmMock
      .on(GetParameterCommand)
      .rejects(notFound())
      .on(GetParameterCommand, { Name: "/aws/service/bottlerocket/aws-k8s-1.32/x86_64/latest/image_id" })
      .resolves({ Parameter: { Value: "ami-amd64new" } });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [images[0]] });
    const nc = nodeClass({ amiSelectorTerms: [{ alias: "bottlerocket@latest" }] });
    const amis = await resolveAmis(ec2, ssm, nc, { kubernetesVersion: "1.32" });
    expect(amis.map((a) => a.id)).toEqual(["ami-amd64new"]);
    ssmMock.reset();
    ssmMock
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    await expect(resolveAmis(ec2, ssm, nc, { kubernetesVersion: "1.32" })).rejects.toThrow("denied");
  });
  it("name, tags and owner terms: one DescribeImages each, names default to owners self and amazon", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: "ami-old",
          Architecture: "x86_64",
          CreationDate: "2025-01-01T00:00:00.000Z",
          State: "available",
        },
        {
          ImageId: "ami-new",
          Architecture: "x86_64",
          CreationDate: "2026-01-01T00:00:00.000Z",
          State: "available",
        },
        {
          ImageId: "ami-pending",
          Architecture: "x86_64",
          CreationDate: "2027-01-01T00:00:00.000Z",
          State: "pending",
        },
        {
          ImageId: "ami-i386",
          Architecture: "i386",
          CreationDate: "2027-01-01T00:00:00.000Z",
          State: "available",
        },
      ],
    });
    const nc = nodeClass({
      amiFamily: "AL2023",
      amiSelectorTerms: [
        { name: "my-ami-*" },
        { tags: { golden: "true" } },
        { name: "shared-*", owner: "123456789012" },
        { id: "ami-0123abcd" },
      ],
    });
    const amis = await resolveAmis(ec2, ssm, nc, { kubernetesVersion: "1.32" });
    expect(ec2Mock.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: [{ Name: "image-id", Values: ["ami-0123abcd"] }], MaxResults: 1000 },
      { Filters: [{ Name: "name", Values: ["my-ami-*"] }], Owners: ["self", "amazon"], MaxResults: 1000 },
      { Filters: [{ Name: "tag:golden", Values: ["true"] }], MaxResults: 1000 },
      { Filters: [{ Name: "name", Values: ["shared-*"] }], Owners: ["123456789012"], MaxResults: 1000 },
    ]);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(0);
    expect(amis.map((a) => a.id)).toEqual(["ami-new"]);
  });
  it("nothing selected: an error naming the node class and field", async () => {
    ssmMock.on(GetParameterCommand).rejects(notFound());
    await expect(resolveAmis(ec2, ssm, nodeClass(), { kubernetesVersion: "1.32" })).rejects.toThrow(
      "EC2NodeClass default: spec.amiSelectorTerms select no available amd64 or arm64 image",
    );
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    await expect(resolveNodeClass(ec2, ssm, nodeClass(), { kubernetesVersion: "1.32" })).rejects.toThrow(
      "EC2NodeClass default: spec.subnetSelectorTerms select no subnet",
    );
  });
});
