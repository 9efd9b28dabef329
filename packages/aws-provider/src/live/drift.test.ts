import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { type Node, type NodePool, NodePoolSchema, NodeSchema } from "@nodeplan/core";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AwsDriftDetector,
  describeInstanceFacts,
  EC2NODECLASS_HASH_ANNOTATION,
  EC2NODECLASS_HASH_VERSION_ANNOTATION,
  ec2NodeClassHash,
  ec2NodeClassHashAnnotations,
  type InstanceFacts,
} from "./drift.ts";
import { ec2, nodeClass } from "./launch-fixtures.test-helper.ts";
import type { ResolvedNodeClass } from "./resolve.ts";

const nodePool: NodePool = NodePoolSchema.parse({ name: "default" });
const selections: ResolvedNodeClass = {
  subnets: [
    { id: "subnet-a2", zone: "us-east-1a", availableIpAddressCount: 10 },
    { id: "subnet-b1", zone: "us-east-1b", availableIpAddressCount: 10 },
  ],
  securityGroups: [{ id: "sg-cluster" }, { id: "sg-node" }],
  amis: [
    { id: "ami-amd64new", architecture: "amd64", creationDate: "2026-11-20" },
    { id: "ami-arm64", architecture: "arm64", creationDate: "2026-11-18" },
  ],
};
const facts: InstanceFacts = {
  imageId: "ami-amd64new",
  subnetId: "subnet-a2",
  securityGroupIds: ["sg-node", "sg-cluster"],
};

const node = (annotations: Record<string, string> = {}): Node =>
  NodeSchema.parse({
    name: "ip-10-0-1-1.ec2.internal",
    providerID: "aws:///us-east-1a/i-0abc",
    nodePool: "default",
    allocatable: { cpuMillis: 1930 },
    createdAt: "2026-12-01T08:00:00Z",
    annotations,
  });

const detector = (instance: InstanceFacts | undefined, current: ResolvedNodeClass | undefined = selections) =>
  new AwsDriftDetector({ selections: () => current, instance: () => instance });

describe("drift", () => {
  const nc = nodeClass();
  const stamped = node(ec2NodeClassHashAnnotations(nc));

  it("nothing changed: not drifted", () => {
    expect(detector(facts).isDrifted(stamped, nodePool, nc)).toBeUndefined();
  });
  it("AMI no longer selected", () => {
    expect(detector({ ...facts, imageId: "ami-amd64old" }).isDrifted(stamped, nodePool, nc)).toEqual({
      code: "AMIDrift",
      message:
        "AMI ami-amd64old is no longer selected by EC2NodeClass default (selected: ami-amd64new, ami-arm64)",
    });
  });
  it("subnet no longer selected", () => {
    expect(detector({ ...facts, subnetId: "subnet-a1" }).isDrifted(stamped, nodePool, nc)?.code).toBe(
      "SubnetDrift",
    );
  });
  it("security groups differ from the selected set (missing or extra)", () => {
    expect(detector({ ...facts, securityGroupIds: ["sg-node"] }).isDrifted(stamped, nodePool, nc)).toEqual({
      code: "SecurityGroupDrift",
      message: "security groups sg-node differ from those EC2NodeClass default selects (sg-cluster, sg-node)",
    });
    expect(
      detector({ ...facts, securityGroupIds: ["sg-node", "sg-cluster", "sg-extra"] }).isDrifted(
        stamped,
        nodePool,
        nc,
      )?.code,
    ).toBe("SecurityGroupDrift");
  });
  it("spec changed since launch: NodeClassDrift; selector changes alone are not static drift", () => {
    const changed = nodeClass({ tags: { owner: "platform" } });
    expect(detector(facts).isDrifted(stamped, nodePool, changed)).toEqual({
      code: "NodeClassDrift",
      message: `EC2NodeClass default spec changed since launch (hash ${ec2NodeClassHash(nc)} -> ${ec2NodeClassHash(changed)})`,
    });
    const reselected = nodeClass({
      subnetSelectorTerms: [{ id: "subnet-a2" }],
      amiSelectorTerms: [{ alias: "al2023@v20261101" }],
    });
    expect(ec2NodeClassHash(reselected)).toBe(ec2NodeClassHash(nc));
  });
  it("a hash of another version (Karpenter's), no hash, or unknown facts never drift", () => {
    const changed = nodeClass({ tags: { owner: "platform" } });
    const karpenter = node({
      [EC2NODECLASS_HASH_ANNOTATION]: "4014420789567361",
      [EC2NODECLASS_HASH_VERSION_ANNOTATION]: "v4",
    });
    expect(detector(facts).isDrifted(karpenter, nodePool, changed)).toBeUndefined();
    expect(detector(facts).isDrifted(node(), nodePool, changed)).toBeUndefined();
    expect(detector(undefined).isDrifted(stamped, nodePool, nc)).toBeUndefined();
    const unresolved = new AwsDriftDetector({
      selections: () => undefined,
      instance: () => ({ imageId: "ami-x" }),
    });
    expect(unresolved.isDrifted(stamped, nodePool, nc)).toBeUndefined();
    expect(detector(facts).isDrifted(stamped, nodePool, undefined)).toBeUndefined();
  });
  it("the hash ignores key order and changes with any hashed field", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !k.startsWith("kubernetes.io/cluster")),
          fc.string({ minLength: 1, maxLength: 8 }),
          { maxKeys: 5 },
        ),
        fc.string({ minLength: 1, maxLength: 8 }),
        (tags, extra) => {
          const a = nodeClass({ tags });
          const reversed = nodeClass({ tags: Object.fromEntries(Object.entries(tags).reverse()) });
          expect(ec2NodeClassHash(reversed)).toBe(ec2NodeClassHash(a));
          const b = nodeClass({ tags: { ...tags, "zz-extra": extra } });
          expect(ec2NodeClassHash(b)).not.toBe(ec2NodeClassHash(a));
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("describeInstanceFacts", () => {
  it("DescribeInstances by instance-id filter; image, subnet and security groups per instance", async () => {
    const ec2Mock = mockClient(EC2Client);
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: "i-0abc",
              ImageId: "ami-amd64new",
              SubnetId: "subnet-a2",
              SecurityGroups: [{ GroupId: "sg-node", GroupName: "eks-node" }],
            },
          ],
        },
      ],
    });
    const out = await describeInstanceFacts(ec2, ["i-0abc", "i-gone"]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: [{ Name: "instance-id", Values: ["i-0abc", "i-gone"] }] },
    ]);
    expect([...out]).toEqual([
      ["i-0abc", { imageId: "ami-amd64new", subnetId: "subnet-a2", securityGroupIds: ["sg-node"] }],
    ]);
    ec2Mock.restore();
  });
});
