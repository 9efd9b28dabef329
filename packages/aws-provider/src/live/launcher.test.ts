// EC2 and SSM cannot be reached here: aws-sdk-client-mock replaces the transport of the real
// clients, and the tests assert the exact requests sent.
import {
  CreateFleetCommand,
  CreateLaunchTemplateCommand,
  DeleteLaunchTemplateCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import {
  type CatalogSource,
  type InstanceType,
  type NodePool,
  NodePoolSchema,
  NodeSchema,
  type PlannedNodeClaim,
} from "@nodeplan/core";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { EC2NodeClass } from "../ec2nodeclass.ts";
import { offlineInstanceTypes } from "../offline-catalog.ts";
import { UnavailableOfferings } from "../unavailable-offerings.ts";
import { AwsDriftDetector, ec2NodeClassHash } from "./drift.ts";
import {
  cluster,
  ec2,
  images,
  nodeClass,
  noSleep,
  securityGroups,
  ssm,
  subnets,
} from "./launch-fixtures.test-helper.ts";
import { AwsLauncher, InsufficientCapacityError, instanceIdOf } from "./launcher.ts";
import { userData } from "./user-data.ts";

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const NOW = Date.parse("2026-12-01T09:00:00Z");
let clock = NOW;
const awsError = (name: string) => Object.assign(new Error(name), { name });

const type = (
  name: string,
  arch: string,
  pods: number,
  offerings: [zone: string, capacityType: "spot" | "on-demand", price: number, available?: boolean][],
): InstanceType => ({
  name,
  labels: { "kubernetes.io/arch": arch, "node.kubernetes.io/instance-type": name },
  capacity: { cpuMillis: 2000, memoryBytes: 8 * 2 ** 30, pods },
  allocatable: { cpuMillis: 1930, memoryBytes: 7 * 2 ** 30, pods },
  offerings: offerings.map(([zone, capacityType, pricePerHour, available = true]) => ({
    zone,
    capacityType,
    pricePerHour,
    available,
  })),
});

const catalogTypes = [
  type("m5.large", "amd64", 29, [
    ["us-east-1a", "on-demand", 0.096],
    ["us-east-1a", "spot", 0.04],
    ["us-east-1b", "on-demand", 0.096],
    ["us-east-1b", "spot", 0.035],
    // No selected subnet in us-east-1c: never offered to EC2.
    ["us-east-1c", "spot", 0.01],
  ]),
  type("m6g.large", "arm64", 29, [
    ["us-east-1a", "on-demand", 0.077],
    ["us-east-1a", "spot", 0.03],
    ["us-east-1b", "spot", 0.02, false],
  ]),
  type("c5.large", "amd64", 27, [
    ["us-east-1a", "on-demand", 0.085],
    ["us-east-1a", "spot", 0.05],
  ]),
  type("r5.large", "amd64", 29, [["us-east-1a", "spot", 0.001]]),
];
const catalog: CatalogSource<EC2NodeClass> = { instanceTypes: async () => catalogTypes };

const nodePool: NodePool = NodePoolSchema.parse({
  name: "default",
  template: {
    labels: { team: "a" },
    taints: [{ key: "dedicated", value: "batch", effect: "NoSchedule" }],
    startupTaints: [{ key: "example.com/not-ready", effect: "NoSchedule" }],
  },
});

const claim = (capacityTypes = ["spot", "on-demand"]): PlannedNodeClaim => ({
  name: "default-x7k2p",
  nodePool: "default",
  instanceType: "m6g.large",
  instanceTypeOptions: ["m6g.large", "m5.large", "c5.large"],
  zone: "us-east-1a",
  capacityType: "spot",
  pricePerHour: 0.03,
  worstPricePerHour: 0.05,
  requirements: [
    { key: "karpenter.sh/capacity-type", operator: "In", values: capacityTypes },
    {
      key: "topology.kubernetes.io/zone",
      operator: "In",
      values: ["us-east-1a", "us-east-1b", "us-east-1c"],
    },
  ],
  daemonSetOverhead: {},
  pods: ["default/web-1"],
});

function mockAws() {
  ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: subnets });
  ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: securityGroups });
  ec2Mock.on(DescribeImagesCommand).resolves({ Images: [...images] });
  ssmMock
    .on(GetParameterCommand, {
      Name: "/aws/service/eks/optimized-ami/1.32/amazon-linux-2023/x86_64/standard/recommended/image_id",
    })
    .resolves({ Parameter: { Value: "ami-amd64new" } })
    .on(GetParameterCommand, {
      Name: "/aws/service/eks/optimized-ami/1.32/amazon-linux-2023/arm64/standard/recommended/image_id",
    })
    .resolves({ Parameter: { Value: "ami-arm64" } });
  ec2Mock
    .on(DescribeLaunchTemplatesCommand)
    .rejects(awsError("InvalidLaunchTemplateName.NotFoundException"))
    .on(CreateLaunchTemplateCommand)
    .resolves({});
}

const launcher = (options: { unavailable?: UnavailableOfferings } = {}) =>
  new AwsLauncher({
    ec2,
    ssm,
    catalog,
    cluster,
    kubernetesVersion: "1.32",
    retry: noSleep,
    now: () => clock,
    ...(options.unavailable ? { unavailableOfferings: options.unavailable } : {}),
  });

const launchedAs = (id: string, instanceType: string, subnet = "subnet-a2", zone = "us-east-1a") => ({
  Instances: [
    {
      InstanceIds: [id],
      InstanceType: instanceType as never,
      LaunchTemplateAndOverrides: {
        Overrides: { InstanceType: instanceType as never, SubnetId: subnet, AvailabilityZone: zone },
      },
    },
  ],
});

const fleetInputs = () => ec2Mock.commandCalls(CreateFleetCommand).map((c) => c.args[0].input);
const templateCreates = () => ec2Mock.commandCalls(CreateLaunchTemplateCommand).map((c) => c.args[0].input);

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  clock = NOW;
});

const expectedTags = [
  { Key: "Name", Value: "default-x7k2p" },
  { Key: "eks:eks-cluster-name", Value: "demo" },
  { Key: "karpenter.k8s.aws/ec2nodeclass", Value: "default" },
  { Key: "karpenter.sh/nodeclaim", Value: "default-x7k2p" },
  { Key: "karpenter.sh/nodepool", Value: "default" },
  { Key: "kubernetes.io/cluster/demo", Value: "owned" },
  { Key: "owner", Value: "platform" },
];

describe("CreateFleet", () => {
  it("spot: price-capacity-optimized, overrides by price in zones with a subnet, one template per (AMI, max pods)", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves({
      Instances: [
        {
          InstanceIds: ["i-0abc1234"],
          InstanceType: "m6g.large",
          Lifecycle: "spot",
          LaunchTemplateAndOverrides: {
            LaunchTemplateSpecification: { LaunchTemplateName: "x" },
            Overrides: { InstanceType: "m6g.large", SubnetId: "subnet-a2", AvailabilityZone: "us-east-1a" },
          },
        },
      ],
    });
    const nc = nodeClass({ tags: { owner: "platform" } });
    const launched = await launcher().create(claim(), nodePool, nc);
    expect(launched).toEqual({
      providerID: "aws:///us-east-1a/i-0abc1234",
      instanceType: "m6g.large",
      zone: "us-east-1a",
      capacityType: "spot",
      imageID: "ami-arm64",
      annotations: {
        "karpenter.k8s.aws/ec2nodeclass-hash": ec2NodeClassHash(nc),
        "karpenter.k8s.aws/ec2nodeclass-hash-version": "nodeplan-v1",
      },
    });
    const creates = templateCreates();
    expect(creates).toHaveLength(3);
    const names = creates.map((c) => c.LaunchTemplateName);
    for (const name of names) expect(name).toMatch(/^nodeplan\.dev\/[0-9a-f]{32}$/);
    expect(new Set(names).size).toBe(3);
    expect(fleetInputs()).toEqual([
      {
        Type: "instant",
        LaunchTemplateConfigs: [
          {
            LaunchTemplateSpecification: { LaunchTemplateName: names[0], Version: "$Latest" },
            Overrides: [{ InstanceType: "m6g.large", SubnetId: "subnet-a2" }],
          },
          {
            LaunchTemplateSpecification: { LaunchTemplateName: names[1], Version: "$Latest" },
            Overrides: [
              { InstanceType: "m5.large", SubnetId: "subnet-b1" },
              { InstanceType: "m5.large", SubnetId: "subnet-a2" },
            ],
          },
          {
            LaunchTemplateSpecification: { LaunchTemplateName: names[2], Version: "$Latest" },
            Overrides: [{ InstanceType: "c5.large", SubnetId: "subnet-a2" }],
          },
        ],
        TargetCapacitySpecification: { DefaultTargetCapacityType: "spot", TotalTargetCapacity: 1 },
        SpotOptions: { AllocationStrategy: "price-capacity-optimized" },
        TagSpecifications: [
          { ResourceType: "instance", Tags: expectedTags },
          { ResourceType: "volume", Tags: expectedTags },
          { ResourceType: "fleet", Tags: expectedTags },
        ],
      },
    ]);
  });

  it("launch template: the exact data, tagged with the cluster; user data is the AL2023 NodeConfig", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-1", "m6g.large"));
    await launcher().create(claim(), nodePool, nodeClass({ tags: { owner: "platform" } }));
    const arm = templateCreates()[0];
    const text = userData({
      family: "AL2023",
      cluster,
      maxPods: 29,
      labels: { team: "a", "karpenter.sh/nodepool": "default", "karpenter.sh/capacity-type": "spot" },
      taints: [
        { key: "dedicated", value: "batch", effect: "NoSchedule" },
        { key: "example.com/not-ready", effect: "NoSchedule" },
      ],
    });
    expect(arm).toEqual({
      LaunchTemplateName: arm?.LaunchTemplateName,
      LaunchTemplateData: {
        BlockDeviceMappings: [
          { DeviceName: "/dev/xvda", Ebs: { Encrypted: true, VolumeSize: 20, VolumeType: "gp3" } },
        ],
        IamInstanceProfile: { Name: "KarpenterNodeInstanceProfile-demo" },
        ImageId: "ami-arm64",
        MetadataOptions: {
          HttpEndpoint: "enabled",
          HttpProtocolIpv6: "disabled",
          HttpPutResponseHopLimit: 1,
          HttpTokens: "required",
        },
        Monitoring: { Enabled: false },
        SecurityGroupIds: ["sg-cluster", "sg-node"],
        UserData: Buffer.from(text).toString("base64"),
      },
      TagSpecifications: [
        {
          ResourceType: "launch-template",
          Tags: [
            { Key: "eks:eks-cluster-name", Value: "demo" },
            { Key: "karpenter.k8s.aws/ec2nodeclass", Value: "default" },
            { Key: "kubernetes.io/cluster/demo", Value: "owned" },
            { Key: "owner", Value: "platform" },
            { Key: "nodeplan.dev/cluster", Value: "demo" },
          ],
        },
      ],
    });
    expect(ec2Mock.commandCalls(DescribeLaunchTemplatesCommand)[0]?.args[0].input).toEqual({
      LaunchTemplateNames: [arm?.LaunchTemplateName],
    });
  });

  it("on-demand only: lowest-price, no spot overrides; context and public IP honoured", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-2", "m6g.large"));
    const nc = nodeClass({
      context: "ctx-1",
      associatePublicIPAddress: false,
      blockDeviceMappings: [
        {
          deviceName: "/dev/xvda",
          rootVolume: true,
          ebs: { volumeSize: "100Gi", volumeType: "gp3", encrypted: true, iops: 4000 },
        },
      ],
    });
    const launched = await launcher().create(claim(["on-demand"]), nodePool, nc);
    expect(launched.capacityType).toBe("on-demand");
    const input = fleetInputs()[0];
    expect(input?.Context).toBe("ctx-1");
    expect(input?.OnDemandOptions).toEqual({ AllocationStrategy: "lowest-price" });
    expect(input?.SpotOptions).toBeUndefined();
    expect(input?.TargetCapacitySpecification).toEqual({
      DefaultTargetCapacityType: "on-demand",
      TotalTargetCapacity: 1,
    });
    expect(input?.LaunchTemplateConfigs?.flatMap((c) => c.Overrides)).toEqual([
      { InstanceType: "m6g.large", SubnetId: "subnet-a2" },
      { InstanceType: "c5.large", SubnetId: "subnet-a2" },
      { InstanceType: "m5.large", SubnetId: "subnet-a2" },
      { InstanceType: "m5.large", SubnetId: "subnet-b1" },
    ]);
    const data = templateCreates()[0]?.LaunchTemplateData;
    expect(data?.SecurityGroupIds).toBeUndefined();
    expect(data?.NetworkInterfaces).toEqual([
      { DeviceIndex: 0, AssociatePublicIpAddress: false, Groups: ["sg-cluster", "sg-node"] },
    ]);
    expect(data?.BlockDeviceMappings).toEqual([
      { DeviceName: "/dev/xvda", Ebs: { Encrypted: true, Iops: 4000, VolumeSize: 100, VolumeType: "gp3" } },
    ]);
  });

  it("at most maxInstanceTypes instance types, the cheapest", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-3", "m6g.large"));
    const l = new AwsLauncher({ ec2, ssm, catalog, cluster, kubernetesVersion: "1.32", maxInstanceTypes: 2 });
    await l.create(claim(), nodePool, nodeClass());
    const types = fleetInputs()[0]?.LaunchTemplateConfigs?.flatMap((c) =>
      c.Overrides?.map((o) => o.InstanceType),
    );
    expect(types).toEqual(["m6g.large", "m5.large", "m5.large"]);
  });
});

describe("selections", () => {
  it("subnets, security groups and AMIs are read once per TTL and feed the drift detector", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-9", "m6g.large"));
    const l = launcher();
    const nc = nodeClass();
    expect(l.selections(nc)).toBeUndefined();
    const launched = await l.create(claim(), nodePool, nc);
    await l.create(claim(), nodePool, nc);
    expect(ec2Mock.commandCalls(DescribeSubnetsCommand)).toHaveLength(1);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(5);
    clock += 60_000;
    await l.create(claim(), nodePool, nc);
    expect(ec2Mock.commandCalls(DescribeSubnetsCommand)).toHaveLength(2);
    const drift = new AwsDriftDetector({
      selections: (c) => l.selections(c),
      instance: () => ({
        imageId: "ami-arm64-old",
        subnetId: "subnet-a2",
        securityGroupIds: ["sg-node", "sg-cluster"],
      }),
    });
    const node = NodeSchema.parse({
      name: "n1",
      providerID: launched.providerID,
      allocatable: {},
      createdAt: "2026-12-01T09:00:00Z",
      annotations: launched.annotations,
    });
    expect(drift.isDrifted(node, nodePool, nc)?.code).toBe("AMIDrift");
  });
  it("spot priced above the cheapest allowed on-demand offering is left out", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-10", "m6g.large"));
    const pricey: CatalogSource<EC2NodeClass> = {
      instanceTypes: async () => [
        type("m6g.large", "arm64", 29, [["us-east-1a", "spot", 0.03]]),
        type("m5.large", "amd64", 29, [["us-east-1a", "spot", 0.09]]),
        type("c5.large", "amd64", 27, [["us-east-1a", "on-demand", 0.085]]),
      ],
    };
    const l = new AwsLauncher({ ec2, ssm, catalog: pricey, cluster, kubernetesVersion: "1.32" });
    await l.create(claim(), nodePool, nodeClass());
    expect(fleetInputs()[0]?.LaunchTemplateConfigs?.flatMap((c) => c.Overrides)).toEqual([
      { InstanceType: "m6g.large", SubnetId: "subnet-a2" },
    ]);
  });
});

describe("accelerated instance types", () => {
  it("a GPU type launches from the NVIDIA AMI in its own launch template", async () => {
    mockAws();
    ssmMock
      .on(GetParameterCommand, {
        Name: "/aws/service/eks/optimized-ami/1.32/amazon-linux-2023/x86_64/nvidia/recommended/image_id",
      })
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
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-11", "g5.xlarge"));
    const g5 = type("g5.xlarge", "amd64", 58, [["us-east-1a", "on-demand", 1.006]]);
    g5.labels["karpenter.k8s.aws/instance-gpu-manufacturer"] = "nvidia";
    const gpuCatalog: CatalogSource<EC2NodeClass> = {
      instanceTypes: async () => [g5, type("m5.large", "amd64", 58, [["us-east-1a", "on-demand", 0.096]])],
    };
    const l = new AwsLauncher({ ec2, ssm, catalog: gpuCatalog, cluster, kubernetesVersion: "1.32" });
    const c = { ...claim(["on-demand"]), instanceTypeOptions: ["g5.xlarge", "m5.large"] };
    const launched = await l.create(c, nodePool, nodeClass());
    expect(launched.imageID).toBe("ami-nvidia");
    expect(templateCreates().map((t) => t.LaunchTemplateData?.ImageId)).toEqual([
      "ami-amd64new",
      "ami-nvidia",
    ]);
    expect(
      fleetInputs()[0]?.LaunchTemplateConfigs?.map((t) => t.Overrides?.map((o) => o.InstanceType)),
    ).toEqual([["m5.large"], ["g5.xlarge"]]);
  });
});

describe("launch templates", () => {
  it("an existing template (DescribeLaunchTemplates finds it) is reused, not created; later launches skip the lookup", async () => {
    mockAws();
    ec2Mock
      .on(DescribeLaunchTemplatesCommand)
      .resolves({ LaunchTemplates: [{ LaunchTemplateName: "found" }] });
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-4", "m6g.large"));
    const l = launcher();
    await l.create(claim(), nodePool, nodeClass());
    expect(templateCreates()).toHaveLength(0);
    expect(ec2Mock.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(3);
    await l.create(claim(), nodePool, nodeClass());
    expect(ec2Mock.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(3);
    const [first, second] = fleetInputs();
    expect(second?.LaunchTemplateConfigs).toEqual(first?.LaunchTemplateConfigs);
  });

  it("the same combination always gets the same name; a changed node class a new one", async () => {
    const l = launcher();
    const data = { ImageId: "ami-1", UserData: "eA==" };
    expect(l.launchTemplates.nameFor(data, { a: "1" })).toBe(
      l.launchTemplates.nameFor({ UserData: "eA==", ImageId: "ami-1" }, { a: "1" }),
    );
    expect(l.launchTemplates.nameFor(data, { a: "1" })).not.toBe(l.launchTemplates.nameFor(data, { a: "2" }));
  });

  it("a create race (AlreadyExists) counts as success", async () => {
    mockAws();
    ec2Mock
      .on(CreateLaunchTemplateCommand)
      .rejects(awsError("InvalidLaunchTemplateName.AlreadyExistsException"));
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-5", "m6g.large"));
    await expect(launcher().create(claim(), nodePool, nodeClass())).resolves.toMatchObject({
      providerID: "aws:///us-east-1a/i-5",
    });
  });

  it("garbage collection deletes this cluster's templates not used within the TTL", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-6", "m6g.large"));
    const l = launcher();
    await l.create(claim(), nodePool, nodeClass());
    const used = templateCreates().map((c) => c.LaunchTemplateName ?? "");
    ec2Mock
      .on(DescribeLaunchTemplatesCommand, {
        Filters: [{ Name: "tag:nodeplan.dev/cluster", Values: ["demo"] }],
      })
      .resolves({
        LaunchTemplates: [...used, "nodeplan.dev/stale"].map((LaunchTemplateName) => ({
          LaunchTemplateName,
        })),
      });
    ec2Mock.on(DeleteLaunchTemplateCommand).resolves({});
    expect(await l.launchTemplates.garbageCollect()).toEqual(["nodeplan.dev/stale"]);
    expect(ec2Mock.commandCalls(DeleteLaunchTemplateCommand).map((c) => c.args[0].input)).toEqual([
      { LaunchTemplateName: "nodeplan.dev/stale" },
    ]);
    const gcCall = ec2Mock.commandCalls(DescribeLaunchTemplatesCommand).at(-1)?.args[0].input;
    expect(gcCall).toEqual({
      Filters: [{ Name: "tag:nodeplan.dev/cluster", Values: ["demo"] }],
      MaxResults: 200,
    });
    clock += 2 * 3_600_000;
    expect((await l.launchTemplates.garbageCollect()).sort()).toEqual([...used, "nodeplan.dev/stale"].sort());
  });
});

describe("fleet errors and the unavailable-offerings cache", () => {
  it("unfulfillable-capacity errors mark their offerings unavailable for 3 minutes; the next launch skips them", async () => {
    mockAws();
    ec2Mock
      .on(CreateFleetCommand)
      .resolvesOnce({
        Instances: [],
        Errors: [
          {
            ErrorCode: "InsufficientInstanceCapacity",
            ErrorMessage: "We currently do not have sufficient m6g.large capacity in us-east-1a.",
            Lifecycle: "spot",
            LaunchTemplateAndOverrides: { Overrides: { InstanceType: "m6g.large", SubnetId: "subnet-a2" } },
          },
          {
            ErrorCode: "UnfulfillableCapacity",
            ErrorMessage: "Unable to fulfill capacity",
            LaunchTemplateAndOverrides: {
              Overrides: { InstanceType: "m5.large", SubnetId: "subnet-b1", AvailabilityZone: "us-east-1b" },
            },
          },
          {
            ErrorCode: "InvalidParameterValue",
            ErrorMessage: "not a capacity error",
            LaunchTemplateAndOverrides: { Overrides: { InstanceType: "c5.large", SubnetId: "subnet-a2" } },
          },
        ],
      })
      .resolves(launchedAs("i-7", "m5.large"));
    const unavailable = new UnavailableOfferings({ now: () => clock });
    const l = launcher({ unavailable });
    const failure = await l.create(claim(), nodePool, nodeClass()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InsufficientCapacityError);
    expect((failure as Error).message).toBe(
      "NodeClaim default-x7k2p: no instance launched (InsufficientInstanceCapacity, UnfulfillableCapacity, InvalidParameterValue)",
    );
    const until = new Date(NOW + 180_000).toISOString();
    expect(l.unavailableOfferings()).toEqual([
      {
        instanceType: "m5.large",
        zone: "us-east-1b",
        capacityType: "spot",
        reason: "UnfulfillableCapacity",
        until,
      },
      {
        instanceType: "m6g.large",
        zone: "us-east-1a",
        capacityType: "spot",
        reason: "InsufficientInstanceCapacity",
        until,
      },
    ]);
    await l.create(claim(), nodePool, nodeClass());
    expect(fleetInputs()[1]?.LaunchTemplateConfigs?.flatMap((c) => c.Overrides)).toEqual([
      { InstanceType: "m5.large", SubnetId: "subnet-a2" },
      { InstanceType: "c5.large", SubnetId: "subnet-a2" },
    ]);
    clock += 180_000;
    expect(l.unavailableOfferings()).toEqual([]);
  });

  it("spot without its service-linked role: every spot offering of the request is marked unavailable", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves({
      Instances: [],
      Errors: [
        {
          ErrorCode: "AuthFailure.ServiceLinkedRoleCreationNotPermitted",
          ErrorMessage:
            "The provided credentials do not have permission to create the service-linked role for EC2 Spot Instances.",
        },
      ],
    });
    const l = launcher();
    await expect(l.create(claim(), nodePool, nodeClass())).rejects.toThrow(InsufficientCapacityError);
    expect(l.unavailableOfferings().map((u) => `${u.instanceType}/${u.zone}/${u.capacityType}`)).toEqual([
      "c5.large/us-east-1a/spot",
      "m5.large/us-east-1a/spot",
      "m5.large/us-east-1b/spot",
      "m6g.large/us-east-1a/spot",
    ]);
  });

  it("no spot offering left: falls back to on-demand", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-8", "m6g.large"));
    const unavailable = new UnavailableOfferings({ now: () => clock });
    for (const [t, z] of [
      ["m6g.large", "us-east-1a"],
      ["m5.large", "us-east-1a"],
      ["m5.large", "us-east-1b"],
      ["c5.large", "us-east-1a"],
    ] as const)
      unavailable.markUnavailable(t, z, "spot", "InsufficientInstanceCapacity");
    const launched = await launcher({ unavailable }).create(claim(), nodePool, nodeClass());
    expect(launched.capacityType).toBe("on-demand");
    expect(fleetInputs()[0]?.OnDemandOptions).toEqual({ AllocationStrategy: "lowest-price" });
  });

  it("nothing launchable: a clear error, no CreateFleet", async () => {
    mockAws();
    const c = { ...claim(), instanceTypeOptions: ["x9.nope"] };
    await expect(launcher().create(c, nodePool, nodeClass())).rejects.toThrow(
      "NodeClaim default-x7k2p: no instance launched: no available spot or on-demand offering",
    );
    expect(fleetInputs()).toEqual([]);
    await expect(launcher().create(claim(), nodePool, undefined)).rejects.toThrow(
      "NodePool default has no EC2NodeClass",
    );
  });

  it("spec.role without an instance profile resolver: a clear error naming the field", async () => {
    mockAws();
    const nc = nodeClass({ instanceProfile: undefined, role: "KarpenterNodeRole" });
    await expect(launcher().create(claim(), nodePool, nc)).rejects.toThrow(
      "EC2NodeClass default: spec.role needs an instance profile",
    );
  });

  it("the offline catalog honours the cache", () => {
    const unavailable = new UnavailableOfferings({ now: () => clock });
    unavailable.markUnavailable("m5.large", "us-east-1a", "on-demand", "InsufficientInstanceCapacity");
    const { instanceTypes } = offlineInstanceTypes({ unavailableOfferings: () => unavailable.list() });
    const m5 = instanceTypes.find((t) => t.name === "m5.large");
    expect(m5?.offerings.map((o) => [o.zone, o.available])).toEqual([
      ["us-east-1a", false],
      ["us-east-1b", true],
      ["us-east-1c", true],
    ]);
  });
});

describe("TerminateInstances", () => {
  it("terminates by instance id; an instance already gone is not an error; others are", async () => {
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    const l = launcher();
    await l.delete({ name: "n1", providerID: "aws:///us-east-1a/i-0abc1234" });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceIds: ["i-0abc1234"] },
    ]);
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError("InvalidInstanceID.NotFound"));
    await expect(
      l.delete({ name: "n1", providerID: "aws:///us-east-1a/i-0abc1234" }),
    ).resolves.toBeUndefined();
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError("UnauthorizedOperation"));
    await expect(l.delete({ name: "n1", providerID: "aws:///us-east-1a/i-0abc1234" })).rejects.toThrow(
      "UnauthorizedOperation",
    );
  });
  it("a providerID that is not aws:///zone/id is refused", () => {
    expect(instanceIdOf("aws:///us-east-1a/i-0abc")).toBe("i-0abc");
    expect(() => instanceIdOf("kind://docker/n1")).toThrow(
      'providerID "kind://docker/n1" is not aws:///<zone>/<instance-id>',
    );
  });
});
