// EC2 and SSM cannot be reached here: aws-sdk-client-mock replaces the transport of the real
// clients, and the tests assert the exact requests sent.
import {
  CreateFleetCommand,
  CreateLaunchTemplateCommand,
  DeleteLaunchTemplateCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
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
  isLaunchFailed,
  type NodePool,
  NodePoolSchema,
  NodeSchema,
  type Offering,
  type PlannedNodeClaim,
} from "@nodeplan/core";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { CapacityReservationAvailability } from "../capacity-reservations.ts";
import type { EC2NodeClass } from "../ec2nodeclass.ts";
import { offlineInstanceTypes } from "../offline-catalog.ts";
import { UnavailableOfferings } from "../unavailable-offerings.ts";
import { AwsCatalog } from "./aws-catalog.ts";
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
import { AwsLauncher, fleetClientToken, InsufficientCapacityError, instanceIdOf } from "./launcher.ts";

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
        ClientToken: fleetClientToken("demo", { name: "default-x7k2p" }),
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
    // Written out, not built with userData(): nodeadm's NodeConfig in a MIME multipart document, as
    // Karpenter writes it (A: pkg/providers/amifamily/bootstrap/nodeadm.go), max pods of m6g.large.
    const text = [
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="//"',
      "",
      "--//",
      "Content-Type: application/node.eks.aws",
      "",
      'apiVersion: "node.eks.aws/v1alpha1"',
      'kind: "NodeConfig"',
      "spec:",
      "  cluster:",
      '    name: "demo"',
      '    apiServerEndpoint: "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com"',
      '    certificateAuthority: "LS0tLS1CRUdJTi1DRVJUSUZJQ0FURS0tLS0t"',
      '    cidr: "10.100.0.0/16"',
      "  kubelet:",
      "    config:",
      "      maxPods: 29",
      "    flags:",
      '      - "--node-labels=karpenter.sh/capacity-type=spot,karpenter.sh/nodepool=default,team=a"',
      '      - "--register-with-taints=dedicated=batch:NoSchedule,example.com/not-ready:NoSchedule"',
      "",
      "--//--",
      "",
    ].join("\n");
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
        // Spot and on-demand stay out of open capacity reservations (Karpenter's targeted launch mode).
        CapacityReservationSpecification: { CapacityReservationPreference: "none" },
        SecurityGroupIds: ["sg-cluster", "sg-node"],
        UserData: Buffer.from(text).toString("base64"),
      },
      TagSpecifications: [
        {
          ResourceType: "launch-template",
          Tags: [
            { Key: "eks:eks-cluster-name", Value: "demo" },
            { Key: "karpenter.k8s.aws/ec2nodeclass", Value: "default" },
            { Key: "karpenter.sh/nodepool", Value: "default" },
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
      "NodeClaim default-x7k2p: no instance launched: no available reserved, spot or on-demand offering",
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

const reservedOffering = (
  zone: string,
  reservationId: string,
  reservationCapacity: number,
  pricePerHour: number,
  reservationType?: string,
): Offering => ({
  zone,
  capacityType: "reserved",
  pricePerHour,
  available: true,
  reservationId,
  reservationCapacity,
  ...(reservationType === undefined ? {} : { reservationType }),
});
const withOfferings = (name: string, ...offerings: Offering[]): InstanceType => {
  const t = catalogTypes.find((c) => c.name === name) as InstanceType;
  return { ...t, offerings: [...t.offerings, ...offerings] };
};
/** m5.large: two reservations in us-east-1a and one in us-east-1b; c5.large: one; r5.large: a capacity block. */
const reservedTypes = (blockPrice = 0.0000126): InstanceType[] => [
  withOfferings(
    "m5.large",
    reservedOffering("us-east-1a", "cr-m5-small", 1, 0.0000096),
    reservedOffering("us-east-1a", "cr-m5-big", 4, 0.0000096, "default"),
    reservedOffering("us-east-1b", "cr-m5-b", 2, 0.0000096),
  ),
  withOfferings("m6g.large"),
  withOfferings("c5.large", reservedOffering("us-east-1a", "cr-c5", 1, 0.0000085)),
  withOfferings("r5.large", reservedOffering("us-east-1a", "cr-blk", 1, blockPrice, "capacity-block")),
];
const ALL = ["reserved", "spot", "on-demand"];
const reservedClaim = (capacityTypes = ALL, name = "default-r1"): PlannedNodeClaim => ({
  ...claim(capacityTypes),
  name,
  instanceTypeOptions: ["m6g.large", "m5.large", "c5.large", "r5.large"],
});
const reservedLauncher = (types: InstanceType[], reservations = new CapacityReservationAvailability()) =>
  new AwsLauncher({
    ec2,
    ssm,
    catalog: { instanceTypes: async () => types },
    cluster,
    kubernetesVersion: "1.32",
    retry: noSleep,
    now: () => clock,
    reservationAvailability: reservations,
  });
const overrides = (i: number) =>
  fleetInputs()[i]?.LaunchTemplateConfigs?.map((c) =>
    c.Overrides?.map((o) => `${o.InstanceType}@${o.SubnetId}`).join(","),
  );
const decodedUserData = (i: number) =>
  Buffer.from(templateCreates()[i]?.LaunchTemplateData?.UserData ?? "", "base64").toString("utf8");

describe("reserved capacity", () => {
  it("reserved first: one template per reservation targeting it, one reservation per type and zone, the cheapest reservation type", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-r1", "c5.large"));
    const reservations = new CapacityReservationAvailability({ now: () => clock });
    reservations.sync(
      [
        { id: "cr-c5", availableInstanceCount: 1 },
        { id: "cr-m5-big", availableInstanceCount: 4 },
        { id: "cr-m5-small", availableInstanceCount: 1 },
        { id: "cr-m5-b", availableInstanceCount: 2 },
      ],
      clock,
    );
    const l = reservedLauncher(reservedTypes(), reservations);
    const nc = nodeClass();
    const launched = await l.create(reservedClaim(), nodePool, nc);
    expect(launched).toEqual({
      providerID: "aws:///us-east-1a/i-r1",
      instanceType: "c5.large",
      zone: "us-east-1a",
      capacityType: "reserved",
      imageID: "ami-amd64new",
      annotations: {
        "karpenter.k8s.aws/ec2nodeclass-hash": ec2NodeClassHash(nc),
        "karpenter.k8s.aws/ec2nodeclass-hash-version": "nodeplan-v1",
      },
      labels: {
        "karpenter.k8s.aws/capacity-reservation-id": "cr-c5",
        "karpenter.k8s.aws/capacity-reservation-type": "default",
      },
    });
    const names = templateCreates().map((c) => c.LaunchTemplateName);
    expect(fleetInputs()).toEqual([
      {
        Type: "instant",
        ClientToken: fleetClientToken("demo", { name: "default-r1" }),
        LaunchTemplateConfigs: [
          {
            LaunchTemplateSpecification: { LaunchTemplateName: names[0], Version: "$Latest" },
            Overrides: [{ InstanceType: "c5.large", SubnetId: "subnet-a2" }],
          },
          {
            LaunchTemplateSpecification: { LaunchTemplateName: names[1], Version: "$Latest" },
            Overrides: [{ InstanceType: "m5.large", SubnetId: "subnet-a2" }],
          },
          {
            LaunchTemplateSpecification: { LaunchTemplateName: names[2], Version: "$Latest" },
            Overrides: [{ InstanceType: "m5.large", SubnetId: "subnet-b1" }],
          },
        ],
        TargetCapacitySpecification: { DefaultTargetCapacityType: "on-demand", TotalTargetCapacity: 1 },
        OnDemandOptions: { AllocationStrategy: "lowest-price" },
        TagSpecifications: (["instance", "volume", "fleet"] as const).map((ResourceType) => ({
          ResourceType,
          Tags: expectedTags
            .filter((t) => t.Key !== "owner")
            .map((t) => (t.Value === "default-x7k2p" ? { ...t, Value: "default-r1" } : t)),
        })),
      },
    ]);
    expect(templateCreates().map((t) => t.LaunchTemplateData?.CapacityReservationSpecification)).toEqual(
      ["cr-c5", "cr-m5-big", "cr-m5-b"].map((CapacityReservationId) => ({
        CapacityReservationPreference: "capacity-reservations-only",
        CapacityReservationTarget: { CapacityReservationId },
      })),
    );
    expect(templateCreates().map((t) => t.LaunchTemplateData?.InstanceMarketOptions)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    const text = decodedUserData(0);
    expect(text).toContain("karpenter.k8s.aws/capacity-reservation-id=cr-c5");
    expect(text).toContain("karpenter.k8s.aws/capacity-reservation-type=default");
    expect(text).toContain("karpenter.sh/capacity-type=reserved");
    // The launch used the reservation's last instance: the next claim is not offered it.
    expect(reservations.availableCount("cr-c5")).toBe(0);
    await l.create(reservedClaim(ALL, "default-r2"), nodePool, nc);
    expect(overrides(1)).toEqual(["m5.large@subnet-a2", "m5.large@subnet-b1"]);
  });

  it("a capacity block cheaper than every default reservation: capacity-block market, no allocation strategy", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-r2", "r5.large"));
    const launched = await reservedLauncher(reservedTypes(0.000001)).create(
      reservedClaim(),
      nodePool,
      nodeClass(),
    );
    expect(launched.capacityType).toBe("reserved");
    expect(launched.labels).toEqual({
      "karpenter.k8s.aws/capacity-reservation-id": "cr-blk",
      "karpenter.k8s.aws/capacity-reservation-type": "capacity-block",
    });
    const input = fleetInputs()[0];
    expect(input?.TargetCapacitySpecification).toEqual({
      DefaultTargetCapacityType: "capacity-block",
      TotalTargetCapacity: 1,
    });
    expect(input?.OnDemandOptions).toBeUndefined();
    expect(input?.SpotOptions).toBeUndefined();
    expect(overrides(0)).toEqual(["r5.large@subnet-a2"]);
    const data = templateCreates()[0]?.LaunchTemplateData;
    expect(data?.InstanceMarketOptions).toEqual({ MarketType: "capacity-block" });
    expect(data?.CapacityReservationSpecification).toEqual({
      CapacityReservationPreference: "capacity-reservations-only",
      CapacityReservationTarget: { CapacityReservationId: "cr-blk" },
    });
  });

  it("a claim that does not allow reserved launches spot even with reservations; a reservation requirement picks that reservation", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-r3", "m5.large"));
    const l = reservedLauncher(reservedTypes());
    const spot = await l.create(reservedClaim(["spot", "on-demand"]), nodePool, nodeClass());
    expect(spot.capacityType).toBe("spot");
    expect(spot.labels).toBeUndefined();
    expect(fleetInputs()[0]?.TargetCapacitySpecification?.DefaultTargetCapacityType).toBe("spot");
    const pinned = reservedClaim(ALL, "default-r4");
    pinned.requirements.push({
      key: "karpenter.k8s.aws/capacity-reservation-id",
      operator: "In",
      values: ["cr-m5-small"],
    });
    const launched = await l.create(pinned, nodePool, nodeClass());
    expect(launched.labels?.["karpenter.k8s.aws/capacity-reservation-id"]).toBe("cr-m5-small");
    expect(overrides(1)).toEqual(["m5.large@subnet-a2"]);
    expect(templateCreates().at(-1)?.LaunchTemplateData?.CapacityReservationSpecification).toEqual({
      CapacityReservationPreference: "capacity-reservations-only",
      CapacityReservationTarget: { CapacityReservationId: "cr-m5-small" },
    });
  });

  it("reservation-capacity errors mark the reservation empty (not the offering cache); the next claim falls back only as its requirements allow", async () => {
    mockAws();
    ec2Mock
      .on(CreateFleetCommand)
      .resolvesOnce({
        Instances: [],
        Errors: [
          {
            ErrorCode: "ReservationCapacityExceeded",
            ErrorMessage: "Insufficient capacity in the capacity reservation cr-c5.",
            LaunchTemplateAndOverrides: { Overrides: { InstanceType: "c5.large", SubnetId: "subnet-a2" } },
          },
          {
            ErrorCode: "InsufficientInstanceCapacity",
            ErrorMessage: "Insufficient capacity.",
            LaunchTemplateAndOverrides: {
              Overrides: { InstanceType: "m5.large", SubnetId: "subnet-b1", AvailabilityZone: "us-east-1b" },
            },
          },
        ],
      })
      .resolves(launchedAs("i-r5", "m5.large"));
    const reservations = new CapacityReservationAvailability({ now: () => clock });
    reservations.sync([{ id: "cr-m5-big", availableInstanceCount: 4 }], clock);
    const l = reservedLauncher(reservedTypes(), reservations);
    const failure = await l.create(reservedClaim(), nodePool, nodeClass()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InsufficientCapacityError);
    expect((failure as Error).message).toBe(
      "NodeClaim default-r1: no instance launched (ReservationCapacityExceeded, InsufficientInstanceCapacity)",
    );
    expect(reservations.availableCount("cr-c5")).toBe(0);
    expect(reservations.availableCount("cr-m5-b")).toBe(0);
    expect(reservations.availableCount("cr-m5-big")).toBe(4);
    expect(l.unavailableOfferings()).toEqual([]);
    // Another reservation is left: still reserved.
    await l.create(reservedClaim(ALL, "default-r2"), nodePool, nodeClass());
    expect(overrides(1)).toEqual(["m5.large@subnet-a2"]);

    // Only c5.large's reservation, now empty: spot when allowed, nothing when only reserved is.
    const onlyC5 = [withOfferings("c5.large", reservedOffering("us-east-1a", "cr-c5", 1, 0.0000085))];
    const l2 = reservedLauncher(onlyC5, reservations);
    const fallback = await l2.create(
      reservedClaim(["reserved", "spot"], "default-r3"),
      nodePool,
      nodeClass(),
    );
    expect(fallback.capacityType).toBe("spot");
    expect(fleetInputs()[2]?.TargetCapacitySpecification?.DefaultTargetCapacityType).toBe("spot");
    await expect(l2.create(reservedClaim(["reserved"], "default-r4"), nodePool, nodeClass())).rejects.toThrow(
      "NodeClaim default-r4: no instance launched: no available reserved, spot or on-demand offering",
    );
    expect(fleetInputs()).toHaveLength(3);
    // DescribeCapacityReservations reports capacity again: offered again.
    reservations.sync([{ id: "cr-c5", availableInstanceCount: 1 }], clock);
    await l2.create(reservedClaim(["reserved"], "default-r5"), nodePool, nodeClass());
    expect(fleetInputs()[3]?.TargetCapacitySpecification?.DefaultTargetCapacityType).toBe("on-demand");
  });

  it("an AwsCatalog as the catalog shares its reservation counts with the launcher by default", () => {
    const awsCatalog = new AwsCatalog({ region: "us-east-1", ec2, pricing: {} as never });
    const l = new AwsLauncher({ ec2, ssm, catalog: awsCatalog, cluster, kubernetesVersion: "1.32" });
    expect(l.reservations).toBe(awsCatalog.reservationAvailability);
    expect(launcher().reservations).not.toBe(awsCatalog.reservationAvailability);
  });

  it("terminating an instance in a reservation gives its capacity back once (launched here, or labelled)", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-r6", "c5.large"));
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    const reservations = new CapacityReservationAvailability({ now: () => clock });
    reservations.sync([{ id: "cr-c5", availableInstanceCount: 1 }], clock);
    const l = reservedLauncher(reservedTypes(), reservations);
    const launched = await l.create(reservedClaim(), nodePool, nodeClass());
    expect(reservations.availableCount("cr-c5")).toBe(0);
    await l.delete({ name: "n1", providerID: launched.providerID });
    expect(reservations.availableCount("cr-c5")).toBe(1);
    await l.delete({ name: "n1", providerID: launched.providerID });
    expect(reservations.availableCount("cr-c5")).toBe(1);
    // An instance launched before a restart: its labels name the reservation.
    reservations.sync([{ id: "cr-m5-b", availableInstanceCount: 0 }], clock);
    const restarted = reservedLauncher(reservedTypes(), reservations);
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError("InvalidInstanceID.NotFound"));
    await restarted.delete({
      name: "n2",
      providerID: "aws:///us-east-1b/i-0old",
      labels: { "karpenter.k8s.aws/capacity-reservation-id": "cr-m5-b" },
    });
    expect(reservations.availableCount("cr-m5-b")).toBe(1);
    await restarted.delete({ name: "n3", providerID: "aws:///us-east-1a/i-0spot" });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(4);
  });
});

describe("reserved capacity: invariants", () => {
  it("property: reserved when a reservation has instances left; one reservation type, one reservation per type and zone (the fullest), each template targeting its pool's", async () => {
    mockAws();
    const subnetOfZone: Record<string, string> = { "us-east-1a": "subnet-a2", "us-east-1b": "subnet-b1" };
    const reservation = fc.record({
      type: fc.constantFrom("m5.large", "c5.large", "r5.large"),
      zone: fc.constantFrom("us-east-1a", "us-east-1b"),
      id: fc.constantFrom("cr-1", "cr-2", "cr-3", "cr-4", "cr-5", "cr-6"),
      capacity: fc.nat(3),
      kind: fc.constantFrom("default", "capacity-block"),
      price: fc.integer({ min: 1, max: 20 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(reservation, { selector: (r) => r.id, maxLength: 6 }), async (rs) => {
        const types = ["m5.large", "c5.large", "r5.large"].map((name) =>
          withOfferings(
            name,
            ...rs
              .filter((r) => r.type === name)
              .map((r) => reservedOffering(r.zone, r.id, r.capacity, r.price / 1e7, r.kind)),
          ),
        );
        const l = reservedLauncher(types);
        const nc = nodeClass();
        const { input, capacityType } = await l.fleetRequest(
          reservedClaim(),
          nodePool,
          nc,
          await l.resolve(nc),
        );
        const usable = rs.filter((r) => r.capacity > 0);
        expect(capacityType).toBe(usable.length > 0 ? "reserved" : "spot");
        if (usable.length === 0) return;
        const data = new Map(
          templateCreates().map((t) => [t.LaunchTemplateName, t.LaunchTemplateData] as const),
        );
        const pools = new Set<string>();
        const kinds = new Set<string>();
        for (const config of input.LaunchTemplateConfigs ?? []) {
          const target = data.get(config.LaunchTemplateSpecification?.LaunchTemplateName)
            ?.CapacityReservationSpecification?.CapacityReservationTarget?.CapacityReservationId;
          const r = usable.find((u) => u.id === target);
          expect(r).toBeDefined();
          if (r === undefined) continue;
          kinds.add(r.kind);
          expect(config.Overrides).toEqual([{ InstanceType: r.type, SubnetId: subnetOfZone[r.zone] }]);
          expect(pools.has(`${r.type}/${r.zone}`)).toBe(false);
          pools.add(`${r.type}/${r.zone}`);
          const fullest = Math.max(
            ...usable
              .filter((u) => u.type === r.type && u.zone === r.zone && u.kind === r.kind)
              .map((u) => u.capacity),
          );
          expect(r.capacity).toBe(fullest);
        }
        expect(kinds.size).toBe(1);
        const [kind] = kinds;
        // The chosen type has the cheapest usable reservation (default first on a tie).
        const cheapest = Math.min(...usable.map((u) => u.price));
        const cheapestKinds = new Set(usable.filter((u) => u.price === cheapest).map((u) => u.kind));
        expect(kind).toBe(cheapestKinds.has("default") ? "default" : "capacity-block");
        expect(input.TargetCapacitySpecification?.DefaultTargetCapacityType).toBe(
          kind === "capacity-block" ? "capacity-block" : "on-demand",
        );
        // Every pool of that type with instances left is in the request.
        expect(pools).toEqual(
          new Set(usable.filter((u) => u.kind === kind).map((u) => `${u.type}/${u.zone}`)),
        );
      }),
      { numRuns: 60 },
    );
  });
});

describe("idempotent CreateFleet", () => {
  it("every launch of one claim sends the same client token (also after a restart); other claims, uids and clusters others", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).resolves(launchedAs("i-t1", "m6g.large"));
    await launcher().create(claim(), nodePool, nodeClass());
    await launcher().create(claim(), nodePool, nodeClass());
    await launcher().create({ ...claim(), name: "default-other" }, nodePool, nodeClass());
    await launcher().create(
      { ...claim(), uid: "7d3c6b1e-0000-4000-8000-000000000001" },
      nodePool,
      nodeClass(),
    );
    const tokens = fleetInputs().map((i) => i.ClientToken);
    expect(tokens[0]).toMatch(/^nodeplan-[0-9a-f]{48}$/);
    expect(tokens[0]).toBe(tokens[1]);
    expect(new Set(tokens).size).toBe(3);
    expect(tokens[0]).toBe(fleetClientToken("demo", { name: "default-x7k2p" }));
    expect(fleetClientToken("other", { name: "default-x7k2p" })).not.toBe(tokens[0]);
    // A request retried after a throttle keeps its token.
    ec2Mock.reset();
    mockAws();
    ec2Mock
      .on(CreateFleetCommand)
      .rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "RequestLimitExceeded" }))
      .resolves(launchedAs("i-t2", "m6g.large"));
    await launcher().create(claim(), nodePool, nodeClass());
    expect(fleetInputs().map((i) => i.ClientToken)).toEqual([tokens[0], tokens[0]]);
  });

  it("a token already used by a different request of the claim: its earlier instance is the launch", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).rejects(awsError("IdempotentParameterMismatch"));
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: "i-0older",
              InstanceType: "m5.large",
              LaunchTime: new Date(NOW - 60_000),
              Placement: { AvailabilityZone: "us-east-1b" },
              ImageId: "ami-amd64new",
            },
            {
              InstanceId: "i-0earlier",
              InstanceType: "c5.large",
              LaunchTime: new Date(NOW - 5_000),
              Placement: { AvailabilityZone: "us-east-1a" },
              ImageId: "ami-amd64new",
              CapacityReservationId: "cr-c5",
              CapacityReservationSpecification: {
                CapacityReservationPreference: "capacity-reservations-only",
              },
            },
          ],
        },
      ],
    });
    const nc = nodeClass();
    const launched = await launcher().create(claim(), nodePool, nc);
    expect(launched).toEqual({
      providerID: "aws:///us-east-1a/i-0earlier",
      instanceType: "c5.large",
      zone: "us-east-1a",
      capacityType: "reserved",
      imageID: "ami-amd64new",
      annotations: {
        "karpenter.k8s.aws/ec2nodeclass-hash": ec2NodeClassHash(nc),
        "karpenter.k8s.aws/ec2nodeclass-hash-version": "nodeplan-v1",
      },
      labels: {
        "karpenter.k8s.aws/capacity-reservation-id": "cr-c5",
        "karpenter.k8s.aws/capacity-reservation-type": "default",
      },
    });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input)).toEqual([
      {
        Filters: [
          { Name: "tag:karpenter.sh/nodeclaim", Values: ["default-x7k2p"] },
          { Name: "tag:eks:eks-cluster-name", Values: ["demo"] },
          { Name: "instance-state-name", Values: ["pending", "running"] },
        ],
      },
    ]);
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    await expect(launcher().create(claim(), nodePool, nc)).rejects.toThrow(
      `NodeClaim default-x7k2p: EC2 refused CreateFleet (IdempotentParameterMismatch): client token ${fleetClientToken("demo", { name: "default-x7k2p" })} was used by an earlier, different request of this claim`,
    );
  });
});

describe("launch outcomes: definite failure or unknown", () => {
  const serviceError = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it("EC2 refusing the request (4xx) or no capacity is a definite failure: no instance exists", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).rejects(serviceError("UnauthorizedOperation", 403));
    const refused = await launcher()
      .create(claim(), nodePool, nodeClass())
      .catch((e: unknown) => e);
    expect(isLaunchFailed(refused)).toBe(true);
    expect(String(refused)).toContain("EC2 refused CreateFleet: UnauthorizedOperation");
    ec2Mock.on(CreateFleetCommand).resolves({ Instances: [], Errors: [] });
    const empty = await launcher()
      .create(claim(), nodePool, nodeClass())
      .catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(InsufficientCapacityError);
    expect(isLaunchFailed(empty)).toBe(true);
    expect(
      isLaunchFailed(
        await launcher()
          .create(claim(), nodePool, undefined)
          .catch((e: unknown) => e),
      ),
    ).toBe(true);
  });

  it("a 5xx or a lost connection leaves the outcome unknown (the claim is kept and the token reused)", async () => {
    mockAws();
    ec2Mock.on(CreateFleetCommand).rejects(serviceError("InternalError", 500));
    const internal = await launcher()
      .create(claim(), nodePool, nodeClass())
      .catch((e: unknown) => e);
    expect(internal).toBeInstanceOf(Error);
    expect(isLaunchFailed(internal)).toBe(false);
    ec2Mock
      .on(CreateFleetCommand)
      .rejects(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    const lost = await launcher()
      .create(claim(), nodePool, nodeClass())
      .catch((e: unknown) => e);
    expect(isLaunchFailed(lost)).toBe(false);
  });
});

describe("instances (garbage collection)", () => {
  it("lists the cluster's NodePool instances, every page, with the claim each was launched for", async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              {
                InstanceId: "i-1",
                Placement: { AvailabilityZone: "us-east-1a" },
                LaunchTime: new Date(NOW - 60_000),
                Tags: [
                  { Key: "karpenter.sh/nodeclaim", Value: "default-a" },
                  { Key: "karpenter.sh/nodepool", Value: "default" },
                ],
              },
            ],
          },
        ],
        NextToken: "page-2",
      })
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              {
                InstanceId: "i-2",
                Placement: { AvailabilityZone: "us-east-1b" },
                LaunchTime: new Date(NOW),
                Tags: [{ Key: "karpenter.sh/nodepool", Value: "default" }],
              },
            ],
          },
        ],
      });
    expect(await launcher().instances()).toEqual([
      {
        providerID: "aws:///us-east-1a/i-1",
        nodeClaim: "default-a",
        nodePool: "default",
        launchedAt: new Date(NOW - 60_000).toISOString(),
      },
      { providerID: "aws:///us-east-1b/i-2", nodePool: "default", launchedAt: new Date(NOW).toISOString() },
    ]);
    const inputs = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(inputs[0]?.Filters).toEqual([
      { Name: "tag:kubernetes.io/cluster/demo", Values: ["owned"] },
      { Name: "tag-key", Values: ["karpenter.sh/nodepool"] },
      { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] },
    ]);
    expect(inputs[1]?.NextToken).toBe("page-2");
  });
});
