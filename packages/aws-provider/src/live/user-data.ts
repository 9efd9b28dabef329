import { formatTaint, type Taint } from "@nodeplan/core";
import { type AmiFamily, isWindowsFamily } from "../ami-family.ts";

/**
 * Instance user data per AMI family, as Karpenter writes it (A: pkg/providers/amifamily/bootstrap/
 * {nodeadm,eksbootstrap,bottlerocket,windows}.go): AL2023 nodeadm NodeConfig in a MIME multipart
 * document, AL2 /etc/eks/bootstrap.sh in a MIME multipart document, Bottlerocket TOML settings,
 * Windows Start-EKSBootstrap.ps1; Custom passes spec.userData through. Returns plain text (the
 * launch template carries it base64-encoded).
 */

/** The cluster a node joins. */
export interface ClusterInfo {
  name: string;
  /** API server endpoint (https://...). */
  endpoint: string;
  /** Base64 PEM of the cluster CA. */
  caBundle: string;
  /** Service CIDR (AL2023 nodeadm needs it; e.g. 10.100.0.0/16). */
  serviceCidr?: string;
}

/** What the user data of one launch template configures. */
export interface BootstrapInput {
  family: AmiFamily;
  cluster: ClusterInfo;
  /** spec.kubelet (KubeletConfiguration field names). */
  kubelet?: Record<string, unknown> | undefined;
  /** max pods of this template's instance types (kubelet.maxPods when set wins). */
  maxPods?: number | undefined;
  /** Node labels to register with (sorted on output). */
  labels: Readonly<Record<string, string>>;
  /** Taints and startup taints to register with. */
  taints: readonly Taint[];
  /** spec.userData, merged as Karpenter merges it. */
  customUserData?: string | undefined;
}

const BOUNDARY = "//";

/** A value as YAML (block style; strings double-quoted, which YAML reads as JSON strings). */
function toYaml(value: unknown, indent = ""): string {
  const nested = (v: unknown) =>
    (Array.isArray(v) && v.length > 0) ||
    (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return value.map((v) => `\n${indent}- ${toYaml(v, `${indent}  `).trimStart()}`).join("");
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return "{}";
    return entries
      .map(([k, v]) => `\n${indent}${k}:${nested(v) ? "" : " "}${toYaml(v, `${indent}  `)}`)
      .join("");
  }
  return JSON.stringify(value);
}

const sortedEntries = (m: Readonly<Record<string, string>>) =>
  Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** `k=v,k2=v2` (keys sorted). */
export function nodeLabelsFlag(labels: Readonly<Record<string, string>>): string {
  return sortedEntries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** `key=value:Effect,key:Effect`. */
export function taintsFlag(taints: readonly Taint[]): string {
  return taints.map(formatTaint).join(",");
}

const kubeletConfigKeys = [
  "clusterDNS",
  "podsPerCore",
  "systemReserved",
  "kubeReserved",
  "evictionHard",
  "evictionSoft",
  "evictionSoftGracePeriod",
  "evictionMaxPodGracePeriod",
  "imageGCHighThresholdPercent",
  "imageGCLowThresholdPercent",
  "cpuCFSQuota",
] as const;

function maxPodsOf(input: BootstrapInput): number | undefined {
  const fromKubelet = input.kubelet?.maxPods;
  return typeof fromKubelet === "number" ? fromKubelet : input.maxPods;
}

/** A MIME part's content type guessed from its body, as nodeadm and cloud-init expect. */
function partType(body: string): string {
  if (/^\s*(apiVersion|kind):/m.test(body) && body.includes("node.eks.aws"))
    return "application/node.eks.aws";
  if (body.startsWith("#cloud-config")) return "text/cloud-config";
  return 'text/x-shellscript; charset="us-ascii"';
}

/** The parts of custom user data: its MIME parts if it is a multipart document, else itself. */
function customParts(custom: string | undefined): string[] {
  if (custom === undefined || custom.trim() === "") return [];
  const boundary = /boundary="?([^"\r\n;]+)"?/i.exec(custom)?.[1];
  if (!/^MIME-Version:/im.test(custom) || boundary === undefined)
    return [`Content-Type: ${partType(custom)}\n\n${custom.trimEnd()}\n`];
  return custom
    .split(`--${boundary}`)
    .slice(1)
    .filter((part) => !part.startsWith("--"))
    .map((part) => `${part.replace(/^\r?\n/, "").trimEnd()}\n`);
}

function mime(parts: readonly string[]): string {
  const body = parts.map((p) => `--${BOUNDARY}\n${p}`).join("\n");
  return `MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="${BOUNDARY}"\n\n${body}\n--${BOUNDARY}--\n`;
}

/** The AL2023 nodeadm NodeConfig (YAML). */
export function nodeConfig(input: BootstrapInput): string {
  const config: Record<string, unknown> = {};
  const maxPods = maxPodsOf(input);
  if (maxPods !== undefined) config.maxPods = maxPods;
  for (const key of kubeletConfigKeys)
    if (input.kubelet?.[key] !== undefined) config[key] = input.kubelet[key];
  const flags = [`--node-labels=${nodeLabelsFlag(input.labels)}`];
  if (input.taints.length > 0) flags.push(`--register-with-taints=${taintsFlag(input.taints)}`);
  const spec = {
    cluster: {
      name: input.cluster.name,
      apiServerEndpoint: input.cluster.endpoint,
      certificateAuthority: input.cluster.caBundle,
      cidr: input.cluster.serviceCidr,
    },
    kubelet: { config, flags },
  };
  return `${toYaml({ apiVersion: "node.eks.aws/v1alpha1", kind: "NodeConfig", spec }).trimStart()}\n`;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

function al2Script(input: BootstrapInput): string {
  const c = input.cluster;
  const extra = [`--node-labels=${nodeLabelsFlag(input.labels)}`];
  if (input.taints.length > 0) extra.push(`--register-with-taints=${taintsFlag(input.taints)}`);
  const maxPods = maxPodsOf(input);
  const lines = [
    `/etc/eks/bootstrap.sh ${shellQuote(c.name)} --apiserver-endpoint ${shellQuote(c.endpoint)} --b64-cluster-ca ${shellQuote(c.caBundle)}`,
  ];
  const dns = input.kubelet?.clusterDNS;
  if (Array.isArray(dns) && typeof dns[0] === "string") lines.push(`--dns-cluster-ip ${shellQuote(dns[0])}`);
  if (maxPods !== undefined) {
    lines.push("--use-max-pods false");
    extra.push(`--max-pods=${maxPods}`);
  }
  lines.push(`--kubelet-extra-args ${shellQuote(extra.join(" "))}`);
  return `#!/bin/bash -xe\nexec > >(tee /var/log/user-data.log|logger -t user-data -s 2>/dev/console) 2>&1\n${lines.join(" \\\n")}\n`;
}

const tomlString = (s: string) => JSON.stringify(s);

function bottlerocket(input: BootstrapInput): string {
  const custom = input.customUserData ?? "";
  if (/^\s*\[settings\.kubernetes(\.|\])/m.test(custom))
    throw new Error(
      "spec.userData: Bottlerocket settings.kubernetes tables are set by nodeplan and cannot be merged; remove them",
    );
  const c = input.cluster;
  const lines = [
    "[settings.kubernetes]",
    `api-server = ${tomlString(c.endpoint)}`,
    `cluster-certificate = ${tomlString(c.caBundle)}`,
    `cluster-name = ${tomlString(c.name)}`,
  ];
  const dns = input.kubelet?.clusterDNS;
  if (Array.isArray(dns) && typeof dns[0] === "string") lines.push(`cluster-dns-ip = ${tomlString(dns[0])}`);
  const maxPods = maxPodsOf(input);
  if (maxPods !== undefined) lines.push(`max-pods = ${maxPods}`);
  const table = (name: string, entries: [string, string][]) => {
    if (entries.length === 0) return;
    lines.push("", `[settings.kubernetes.${name}]`, ...entries.map(([k, v]) => `${tomlString(k)} = ${v}`));
  };
  table(
    "node-labels",
    sortedEntries(input.labels).map(([k, v]) => [k, tomlString(v)]),
  );
  const taints = new Map<string, string[]>();
  for (const t of input.taints)
    taints.set(t.key, [...(taints.get(t.key) ?? []), `${t.value ?? ""}:${t.effect}`]);
  table(
    "node-taints",
    [...taints].map(([k, v]) => [k, `[${v.map(tomlString).join(", ")}]`]),
  );
  for (const [field, name] of [
    ["kubeReserved", "kube-reserved"],
    ["systemReserved", "system-reserved"],
    ["evictionHard", "eviction-hard"],
  ] as const) {
    const m = input.kubelet?.[field] as Record<string, string> | undefined;
    table(
      name,
      sortedEntries(m ?? {}).map(([k, v]) => [k, tomlString(v)]),
    );
  }
  const ours = `${lines.join("\n")}\n`;
  return custom.trim() === "" ? ours : `${custom.trimEnd()}\n\n${ours}`;
}

function windows(input: BootstrapInput): string {
  const c = input.cluster;
  const extra = [`--node-labels=${nodeLabelsFlag(input.labels)}`];
  if (input.taints.length > 0) extra.push(`--register-with-taints=${taintsFlag(input.taints)}`);
  const maxPods = maxPodsOf(input);
  if (maxPods !== undefined) extra.push(`--max-pods=${maxPods}`);
  const ps = (s: string) => `'${s.replaceAll("'", "''")}'`;
  let cmd = `& $EKSBootstrapScriptFile -EKSClusterName ${ps(c.name)} -APIServerEndpoint ${ps(c.endpoint)} -Base64ClusterCA ${ps(c.caBundle)} -KubeletExtraArgs ${ps(extra.join(" "))}`;
  const dns = input.kubelet?.clusterDNS;
  if (Array.isArray(dns) && typeof dns[0] === "string") cmd += ` -DNSClusterIP ${ps(dns[0])}`;
  const custom = input.customUserData?.replace(/<\/?powershell>/g, "").trim();
  return `<powershell>\n${custom ? `${custom}\n` : ""}[string]$EKSBootstrapScriptFile = "$env:ProgramFiles\\Amazon\\EKS\\Start-EKSBootstrap.ps1"\n${cmd}\n</powershell>\n`;
}

/** The user data (plain text) for one launch template. */
export function userData(input: BootstrapInput): string {
  switch (input.family) {
    case "AL2023":
      return mime([
        ...customParts(input.customUserData),
        `Content-Type: application/node.eks.aws\n\n${nodeConfig(input)}`,
      ]);
    case "AL2":
      return mime([
        ...customParts(input.customUserData),
        `Content-Type: text/x-shellscript; charset="us-ascii"\n\n${al2Script(input)}`,
      ]);
    case "Bottlerocket":
      return bottlerocket(input);
    case "Custom":
      return input.customUserData ?? "";
    default:
      if (isWindowsFamily(input.family)) return windows(input);
      throw new Error(`unknown AMI family ${input.family}`);
  }
}
