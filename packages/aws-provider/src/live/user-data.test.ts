import { describe, expect, it } from "vitest";
import { type BootstrapInput, userData } from "./user-data.ts";

const base: Omit<BootstrapInput, "family"> = {
  cluster: {
    name: "demo",
    endpoint: "https://X.eks.amazonaws.com",
    caBundle: "Q0E=",
    serviceCidr: "10.100.0.0/16",
  },
  maxPods: 29,
  labels: { team: "a", "karpenter.sh/nodepool": "default" },
  taints: [
    { key: "dedicated", value: "gpu", effect: "NoSchedule" },
    { key: "karpenter.sh/unregistered", effect: "NoExecute" },
  ],
  kubelet: {
    clusterDNS: ["10.100.0.10"],
    kubeReserved: { cpu: "100m" },
    evictionHard: { "memory.available": "5%" },
  },
};

const nodeConfigPart = `Content-Type: application/node.eks.aws

apiVersion: "node.eks.aws/v1alpha1"
kind: "NodeConfig"
spec:
  cluster:
    name: "demo"
    apiServerEndpoint: "https://X.eks.amazonaws.com"
    certificateAuthority: "Q0E="
    cidr: "10.100.0.0/16"
  kubelet:
    config:
      maxPods: 29
      clusterDNS:
        - "10.100.0.10"
      kubeReserved:
        cpu: "100m"
      evictionHard:
        memory.available: "5%"
    flags:
      - "--node-labels=karpenter.sh/nodepool=default,team=a"
      - "--register-with-taints=dedicated=gpu:NoSchedule,karpenter.sh/unregistered:NoExecute"
`;

describe("AL2023 (nodeadm)", () => {
  it("a MIME multipart document with one NodeConfig part", () => {
    expect(userData({ ...base, family: "AL2023" })).toBe(
      `MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="//"\n\n--//\n${nodeConfigPart}\n--//--\n`,
    );
  });
  it("kubelet.maxPods wins over the instance type's pods; no taints, no taint flag", () => {
    const text = userData({ ...base, family: "AL2023", taints: [], kubelet: { maxPods: 110 } });
    expect(text).toContain("      maxPods: 110\n");
    expect(text).not.toContain("register-with-taints");
  });
  it("custom user data: a shell script becomes a part before nodeplan's NodeConfig", () => {
    const text = userData({ ...base, family: "AL2023", customUserData: "#!/bin/bash\necho hi\n" });
    expect(text).toBe(
      'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="//"\n\n' +
        '--//\nContent-Type: text/x-shellscript; charset="us-ascii"\n\n#!/bin/bash\necho hi\n\n' +
        `--//\n${nodeConfigPart}\n--//--\n`,
    );
  });
  it("custom MIME user data: its parts are kept, in order, before nodeplan's", () => {
    const custom =
      'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="BOUNDARY"\n\n' +
      "--BOUNDARY\nContent-Type: application/node.eks.aws\n\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      shutdownGracePeriod: 30s\n\n" +
      '--BOUNDARY\nContent-Type: text/x-shellscript; charset="us-ascii"\n\n#!/bin/bash\necho two\n\n--BOUNDARY--\n';
    const text = userData({ ...base, family: "AL2023", customUserData: custom });
    const parts = text.split("--//\n").slice(1);
    expect(parts).toHaveLength(3);
    expect(parts[0]).toContain("shutdownGracePeriod: 30s");
    expect(parts[1]).toContain("echo two");
    expect(parts[2]).toContain('kind: "NodeConfig"');
  });
});

describe("other families", () => {
  it("Bottlerocket: TOML settings after the user's own", () => {
    const text = userData({
      ...base,
      family: "Bottlerocket",
      customUserData: "[settings.host-containers.admin]\nenabled = true\n",
    });
    expect(text).toBe(`[settings.host-containers.admin]
enabled = true

[settings.kubernetes]
api-server = "https://X.eks.amazonaws.com"
cluster-certificate = "Q0E="
cluster-name = "demo"
cluster-dns-ip = "10.100.0.10"
max-pods = 29

[settings.kubernetes.node-labels]
"karpenter.sh/nodepool" = "default"
"team" = "a"

[settings.kubernetes.node-taints]
"dedicated" = ["gpu:NoSchedule"]
"karpenter.sh/unregistered" = [":NoExecute"]

[settings.kubernetes.kube-reserved]
"cpu" = "100m"

[settings.kubernetes.eviction-hard]
"memory.available" = "5%"
`);
  });
  it("Bottlerocket: user settings.kubernetes tables are refused with a clear error", () => {
    expect(() =>
      userData({ ...base, family: "Bottlerocket", customUserData: "[settings.kubernetes]\nmax-pods = 3\n" }),
    ).toThrow("spec.userData: Bottlerocket settings.kubernetes tables are set by nodeplan");
  });
  it("AL2: bootstrap.sh with cluster, CA, DNS and kubelet args", () => {
    const text = userData({ ...base, family: "AL2" });
    expect(text).toContain(
      "/etc/eks/bootstrap.sh 'demo' --apiserver-endpoint 'https://X.eks.amazonaws.com' --b64-cluster-ca 'Q0E=' \\\n" +
        "--dns-cluster-ip '10.100.0.10' \\\n--use-max-pods false \\\n" +
        "--kubelet-extra-args '--node-labels=karpenter.sh/nodepool=default,team=a --register-with-taints=dedicated=gpu:NoSchedule,karpenter.sh/unregistered:NoExecute --max-pods=29'\n",
    );
    expect(text.startsWith('MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="//"')).toBe(true);
  });
  it("Windows: Start-EKSBootstrap.ps1 in a powershell block; Custom passes user data through", () => {
    expect(userData({ ...base, family: "Windows2022" })).toContain(
      "& $EKSBootstrapScriptFile -EKSClusterName 'demo' -APIServerEndpoint 'https://X.eks.amazonaws.com' -Base64ClusterCA 'Q0E='",
    );
    expect(userData({ ...base, family: "Custom", customUserData: "raw" })).toBe("raw");
  });
});
