import { describe, expect, it } from "vitest";
import { awsWellKnownLabelKeys, coreLabels, instanceTypeLabels, lowerKebabCase } from "./labels.ts";
import { loadEc2Fixture, loadPublishedCatalog } from "./shared-data.test-helper.ts";

const published = loadPublishedCatalog();
const fixture = loadEc2Fixture();

describe("instance type labels", () => {
  for (const info of fixture.instanceTypes) {
    const name = info.InstanceType ?? "";
    it(`${name}: equal the published labels, plus the region`, () => {
      const labels = instanceTypeLabels(info, "us-east-1");
      expect(labels).toEqual({ ...published.get(name)?.labels, [coreLabels.region]: "us-east-1" });
    });
  }
  it("Windows adds the build label and drops arm64 types", () => {
    const m5 = fixture.instanceTypes.find((t) => t.InstanceType === "m5.large");
    const c6g = fixture.instanceTypes.find((t) => t.InstanceType === "c6g.large");
    expect(m5 && instanceTypeLabels(m5, undefined, "Windows2022")).toMatchObject({
      "kubernetes.io/os": "windows",
      "node.kubernetes.io/windows-build": "10.0.20348",
    });
    expect(c6g && instanceTypeLabels(c6g, undefined, "Windows2022")).toBeUndefined();
  });
  it("network bandwidth falls back to the network cards for types newer than the embedded facts", () => {
    const labels = instanceTypeLabels(
      {
        InstanceType: "zz9.large",
        ProcessorInfo: { SupportedArchitectures: ["x86_64"] },
        NetworkInfo: { NetworkCards: [{ NetworkCardIndex: 0, BaselineBandwidthInGbps: 0.781 }] },
      },
      undefined,
    );
    expect(labels?.["karpenter.k8s.aws/instance-network-bandwidth"]).toBe("781");
    expect(labels?.["karpenter.k8s.aws/instance-category"]).toBe("zz");
    expect(labels?.["karpenter.k8s.aws/instance-generation"]).toBe("9");
  });
  it("the well-known keys are sorted, unique and include the AWS instance labels", () => {
    expect([...awsWellKnownLabelKeys].sort()).toEqual(awsWellKnownLabelKeys);
    expect(new Set(awsWellKnownLabelKeys).size).toBe(awsWellKnownLabelKeys.length);
    expect(awsWellKnownLabelKeys).toContain("karpenter.k8s.aws/instance-gpu-name");
    expect(awsWellKnownLabelKeys).toContain("topology.k8s.aws/zone-id");
  });
  it("spells EC2 names as Karpenter does", () => {
    expect(lowerKebabCase("Radeon Pro V520")).toBe("radeon-pro-v520");
  });
});
