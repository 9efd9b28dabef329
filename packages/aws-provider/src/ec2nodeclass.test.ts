import { isInputValidationError } from "@nodeplan/core";
import { describe, expect, it } from "vitest";
import { instanceMathOptions, parseEC2NodeClass, resolvedAmiFamily } from "./ec2nodeclass.ts";

const valid = () => ({
  apiVersion: "karpenter.k8s.aws/v1",
  kind: "EC2NodeClass",
  metadata: { name: "default" },
  spec: {
    role: "KarpenterNodeRole-demo",
    amiSelectorTerms: [{ alias: "al2023@latest" }],
    subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": "demo" } }, { id: "subnet-0abc" }],
    securityGroupSelectorTerms: [{ tags: { "karpenter.sh/discovery": "demo" } }, { name: "nodes" }],
  } as Record<string, unknown>,
});

function errorsOf(spec: Record<string, unknown>): { path: (string | number)[]; detail?: string }[] {
  const obj = valid();
  obj.spec = { ...obj.spec, ...spec };
  try {
    parseEC2NodeClass(obj, "nodeclass.yaml");
  } catch (e) {
    if (isInputValidationError(e))
      return e.errors.map((x) => ({
        path: [...x.path],
        ...(x.detail === undefined ? {} : { detail: x.detail }),
      }));
    throw e;
  }
  return [];
}

describe("parseEC2NodeClass", () => {
  it("accepts a typical node class, applies metadata defaults and infers the family from the alias", () => {
    const nc = parseEC2NodeClass(valid());
    expect(nc.spec.metadataOptions).toEqual({
      httpEndpoint: "enabled",
      httpProtocolIPv6: "disabled",
      httpPutResponseHopLimit: 1,
      httpTokens: "required",
    });
    expect(resolvedAmiFamily(nc)).toBe("AL2023");
  });
  it("requires exactly one of role and instanceProfile", () => {
    expect(errorsOf({ instanceProfile: "p" })[0]?.detail).toMatch(
      /exactly one of \['role', 'instanceProfile'\]/,
    );
    expect(errorsOf({ role: undefined })[0]?.detail).toMatch(/exactly one/);
  });
  it("checks the alias format, its family and Windows versions", () => {
    expect(errorsOf({ amiSelectorTerms: [{ alias: "al2023" }] })[0]).toMatchObject({
      path: ["spec", "amiSelectorTerms", 0, "alias"],
    });
    expect(errorsOf({ amiSelectorTerms: [{ alias: "ubuntu@latest" }] })[0]?.detail).toMatch(
      /family is not supported/,
    );
    expect(errorsOf({ amiSelectorTerms: [{ alias: "windows2022@v1" }] })[0]?.detail).toMatch(
      /only specify version 'latest'/,
    );
    expect(
      errorsOf({ amiSelectorTerms: [{ alias: "al2023@latest" }, { id: "ami-123" }] })[0]?.detail,
    ).toMatch(/'alias' is mutually exclusive/);
    expect(errorsOf({ amiSelectorTerms: [{ alias: "al2023@latest", owner: "self" }] })[0]?.detail).toMatch(
      /mutually exclusive/,
    );
  });
  it("requires amiFamily without an alias and restricts it with one", () => {
    expect(errorsOf({ amiSelectorTerms: [{ tags: { a: "b" } }] })[0]).toMatchObject({
      path: ["spec", "amiFamily"],
    });
    expect(errorsOf({ amiFamily: "Bottlerocket" })[0]?.detail).toMatch(/must be 'AL2023' or 'Custom'/);
    expect(errorsOf({ amiFamily: "Custom" })).toEqual([]);
  });
  it("checks selector terms", () => {
    expect(errorsOf({ subnetSelectorTerms: [] })[0]?.detail).toMatch(/cannot be empty/);
    expect(errorsOf({ subnetSelectorTerms: [{ id: "subnet-1", tags: { a: "b" } }] })[0]?.detail).toMatch(
      /'id' is mutually exclusive/,
    );
    expect(errorsOf({ securityGroupSelectorTerms: [{}] })[0]?.detail).toMatch(/expected at least one/);
    expect(errorsOf({ subnetSelectorTerms: [{ tags: { a: "" } }] })[0]?.detail).toMatch(
      /empty tag keys or values/,
    );
    expect(
      errorsOf({ capacityReservationSelectorTerms: [{ id: "cr-1", ownerID: "123456789012" }] })[0]?.detail,
    ).toMatch(/mutually exclusive/);
    expect(errorsOf({ capacityReservationSelectorTerms: [{ instanceMatchCriteria: "open" }] })).toEqual([]);
  });
  it("rejects restricted tags as Karpenter does", () => {
    expect(errorsOf({ tags: { "kubernetes.io/cluster/demo": "owned" } })[0]).toMatchObject({
      path: ["spec", "tags", "kubernetes.io/cluster/demo"],
    });
    for (const key of [
      "karpenter.sh/nodepool",
      "karpenter.sh/nodeclaim",
      "eks:eks-cluster-name",
      "karpenter.k8s.aws/ec2nodeclass",
    ]) {
      expect(errorsOf({ tags: { [key]: "x" } })).toHaveLength(1);
    }
    expect(errorsOf({ tags: { team: "a", "karpenter.sh/discovery": "demo" } })).toEqual([]);
  });
  it("validates kubelet fields", () => {
    expect(errorsOf({ kubelet: { maxPods: "vcpus * 8" } })[0]).toMatchObject({
      path: ["spec", "kubelet", "maxPods"],
    });
    expect(errorsOf({ kubelet: { kubeReserved: { gpu: "1" } } })[0]?.path.slice(0, 3)).toEqual([
      "spec",
      "kubelet",
      "kubeReserved",
    ]);
    expect(errorsOf({ kubelet: { kubeReserved: { cpu: "lots" } } })[0]?.path).toEqual([
      "spec",
      "kubelet",
      "kubeReserved",
      "cpu",
    ]);
    expect(errorsOf({ kubelet: { evictionHard: { "memory.available": "120%" } } })[0]?.path).toEqual([
      "spec",
      "kubelet",
      "evictionHard",
      "memory.available",
    ]);
    expect(errorsOf({ kubelet: { evictionSoft: { "memory.available": "1Gi" } } })[0]?.detail).toMatch(
      /no matching evictionSoftGracePeriod/,
    );
    expect(errorsOf({ kubelet: { registerWithTaints: [] } })[0]?.path).toEqual([
      "spec",
      "kubelet",
      "registerWithTaints",
    ]);
    expect(
      errorsOf({ kubelet: { imageGCHighThresholdPercent: 50, imageGCLowThresholdPercent: 60 } }),
    ).toHaveLength(1);
    expect(
      errorsOf({
        kubelet: {
          evictionSoft: { "memory.available": "5%" },
          evictionSoftGracePeriod: { "memory.available": "1m30s" },
          cpuManagerPolicy: "static",
        },
      }),
    ).toEqual([]);
  });
  it("validates block device mappings and the instance store policy", () => {
    expect(
      errorsOf({
        blockDeviceMappings: [
          { rootVolume: true, ebs: { volumeSize: "10Gi" } },
          { rootVolume: true, ebs: { volumeSize: "10Gi" } },
        ],
      })[0]?.detail,
    ).toMatch(/only one/);
    expect(errorsOf({ blockDeviceMappings: [{ ebs: { volumeType: "gp3" } }] })[0]?.detail).toMatch(
      /snapshotID or volumeSize/,
    );
    expect(errorsOf({ blockDeviceMappings: [{ ebs: { volumeSize: "100Mi" } }] })[0]?.path).toEqual([
      "spec",
      "blockDeviceMappings",
      0,
      "ebs",
      "volumeSize",
    ]);
    expect(errorsOf({ instanceStorePolicy: "RAID1" })[0]?.path).toEqual(["spec", "instanceStorePolicy"]);
    expect(errorsOf({ metadataOptions: { httpPutResponseHopLimit: 65 } })[0]?.path).toEqual([
      "spec",
      "metadataOptions",
      "httpPutResponseHopLimit",
    ]);
  });
  it("reports errors as data with source and object", () => {
    try {
      parseEC2NodeClass({ ...valid(), kind: "NodeClass" }, "f.yaml");
      expect.unreachable();
    } catch (e) {
      expect(isInputValidationError(e) && e.errors[0]).toMatchObject({
        code: "invalid_schema",
        source: "f.yaml",
        object: "EC2NodeClass default",
        path: ["kind"],
      });
    }
  });
  it("maps to instance-math options", () => {
    const obj = valid();
    obj.spec = {
      ...obj.spec,
      amiFamily: "Custom",
      instanceStorePolicy: "RAID0",
      kubelet: {
        maxPods: 50,
        podsPerCore: 4,
        kubeReserved: { cpu: "200m" },
        evictionHard: { "memory.available": "5%" },
      },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", rootVolume: true, ebs: { volumeSize: "1T" } }],
    };
    expect(instanceMathOptions(parseEC2NodeClass(obj), { reservedENIs: 1 })).toEqual({
      reservedENIs: 1,
      amiFamily: "Custom",
      maxPods: 50,
      podsPerCore: 4,
      kubeReserved: { cpu: "200m" },
      evictionHard: { "memory.available": "5%" },
      instanceStorePolicy: "RAID0",
      blockDeviceMappings: [{ deviceName: "/dev/xvda", rootVolume: true, volumeSizeBytes: 1e12 }],
    });
  });
});
