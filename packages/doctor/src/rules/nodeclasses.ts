import { pointer, setOperation } from "../json-patch.ts";
import { at, isRaw, listAt, numberAt, stringAt } from "../raw.ts";
import type { Draft, Rule } from "../rule.ts";

/** Rules about EC2NodeClasses: instance metadata and volume encryption. */

const NODECLASSES = "https://karpenter.sh/docs/concepts/nodeclasses/";
const METADATA = ["spec", "metadataOptions"];

export const imdsHopLimit: Rule = {
  id: "imds-hop-limit",
  severity: "warning",
  title: "EC2NodeClass lets pods reach the instance metadata service (hop limit above 1)",
  why: "With httpPutResponseHopLimit above 1, IMDSv2 tokens reach containers on the pod network, and with them the node's IAM role credentials: any pod can act as the node. A limit of 1 (Karpenter's default) keeps IMDS to the host; pods get AWS access through IRSA or EKS Pod Identity.",
  docs: "https://aws.github.io/aws-eks-best-practices/security/docs/iam/#restrict-access-to-the-instance-profile-assigned-to-the-worker-node",
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const nc of graph.byKind("EC2NodeClass")) {
      const hops = numberAt(nc.raw, [...METADATA, "httpPutResponseHopLimit"]);
      if (hops === undefined || hops <= 1 || stringAt(nc.raw, [...METADATA, "httpEndpoint"]) === "disabled")
        continue;
      drafts.push({
        message: `EC2NodeClass ${nc.name} sets httpPutResponseHopLimit: ${hops}: pods can read the node role's credentials from IMDS`,
        objects: [{ obj: nc, path: [...METADATA, "httpPutResponseHopLimit"] }],
        fix: {
          description: "httpPutResponseHopLimit: 1 (give pods AWS access through IRSA or EKS Pod Identity)",
          patch: [{ op: "replace", path: pointer([...METADATA, "httpPutResponseHopLimit"]), value: 1 }],
        },
      });
    }
    return drafts;
  },
};

export const imdsv1Enabled: Rule = {
  id: "imdsv1-enabled",
  severity: "error",
  title: "EC2NodeClass allows IMDSv1 (httpTokens: optional)",
  why: "IMDSv1 answers plain GET requests, the kind a server-side request forgery in any pod can make, with the node role's credentials. httpTokens: required (Karpenter's default) allows only IMDSv2 sessions.",
  docs: `${NODECLASSES}#specmetadataoptions`,
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const nc of graph.byKind("EC2NodeClass")) {
      if (stringAt(nc.raw, [...METADATA, "httpTokens"]) !== "optional") continue;
      if (stringAt(nc.raw, [...METADATA, "httpEndpoint"]) === "disabled") continue;
      drafts.push({
        message: `EC2NodeClass ${nc.name} sets httpTokens: optional: IMDSv1 serves the node role's credentials to any GET`,
        objects: [{ obj: nc, path: [...METADATA, "httpTokens"] }],
        fix: {
          description: "httpTokens: required (IMDSv2 only)",
          patch: [{ op: "replace", path: pointer([...METADATA, "httpTokens"]), value: "required" }],
        },
      });
    }
    return drafts;
  },
};

export const volumeUnencrypted: Rule = {
  id: "volume-unencrypted",
  severity: "warning",
  title: "EC2NodeClass block device without encryption",
  why: "Karpenter's default root volume is encrypted, but blockDeviceMappings written out replace the default, and an EBS volume without encrypted: true is unencrypted unless the account turns on EBS encryption by default. Container images, emptyDir volumes and logs land on it.",
  docs: `${NODECLASSES}#specblockdevicemappings`,
  check({ graph }) {
    const drafts: Draft[] = [];
    for (const nc of graph.byKind("EC2NodeClass")) {
      const mappings = listAt(nc.raw, ["spec", "blockDeviceMappings"]);
      const plain = mappings
        .map((m, i) => ({ m, i }))
        .filter(({ m }) => isRaw(m) && isRaw(m.ebs) && m.ebs.encrypted !== true);
      if (plain.length === 0) continue;
      const device = (m: unknown) => {
        const d = stringAt(m, ["deviceName"]);
        return `${d ?? "a device"}${at(m, ["rootVolume"]) === true ? " (root volume)" : ""}`;
      };
      drafts.push({
        message: `EC2NodeClass ${nc.name} writes its volumes out without encryption: ${plain.map(({ m }) => device(m)).join(", ")}`,
        objects: [{ obj: nc, path: ["spec", "blockDeviceMappings", plain[0]?.i ?? 0, "ebs"] }],
        fix: {
          description: "encrypted: true on every EBS volume",
          patch: plain.map(({ i }) =>
            setOperation(nc.raw, ["spec", "blockDeviceMappings", i, "ebs", "encrypted"], true),
          ),
        },
      });
    }
    return drafts;
  },
};
