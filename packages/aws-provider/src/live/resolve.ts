import {
  DescribeImagesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  type Filter,
  type Image,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import type { EC2NodeClass } from "../ec2nodeclass.ts";
import { awsLabels, coreLabels } from "../labels.ts";
import { awsErrorCode, type Ec2ResolveApi, type SsmApi } from "./launch-clients.ts";
import { eachPage, type RetryOptions, withThrottlingRetry } from "./retry.ts";

/**
 * What an EC2NodeClass's selector terms select, read from EC2 and SSM as Karpenter reads them
 * (A: pkg/providers/{subnet,securitygroup,amifamily}/). One request per filter set (ids of all
 * terms batched into one), paginated, retried on throttling.
 */

/** A subnet a node class selects. */
export interface ResolvedSubnet {
  id: string;
  zone: string;
  zoneId?: string;
  availableIpAddressCount: number;
  /** The subnet gives instances a public IPv4 address (billed per hour) unless the launch says otherwise. */
  mapPublicIpOnLaunch?: boolean;
}

/** A security group a node class selects. */
export interface ResolvedSecurityGroup {
  id: string;
  name?: string;
}

/** An AMI a node class selects: the newest per architecture. */
export interface ResolvedAmi {
  id: string;
  name?: string;
  /** Kubernetes architecture: amd64 or arm64. */
  architecture: "amd64" | "arm64";
  creationDate: string;
  /** The instance types it serves (alias images); undefined = every type of its architecture. */
  serves?: AmiVariant[];
}

/** The pieces of a node class a launch needs, resolved now (also what drift compares against). */
export interface ResolvedNodeClass {
  subnets: ResolvedSubnet[];
  securityGroups: ResolvedSecurityGroup[];
  amis: ResolvedAmi[];
}

/** Tag filters of a selector term: `tag:<key>` = value, or `tag-key` = key for the wildcard `*`. */
export function tagFilters(tags: Readonly<Record<string, string>>): Filter[] {
  return Object.entries(tags).map(([key, value]) =>
    value === "*" ? { Name: "tag-key", Values: [key] } : { Name: `tag:${key}`, Values: [value] },
  );
}

/** Filter sets of id/tags/name terms: every id in one set, then one set per other term. */
function filterSets(
  terms: readonly { id?: string | undefined; tags?: Record<string, string> | undefined; name?: string }[],
  idFilter: string,
  nameFilter?: string,
): Filter[][] {
  const ids = terms.flatMap((t) => (t.id === undefined ? [] : [t.id]));
  const sets: Filter[][] = ids.length > 0 ? [[{ Name: idFilter, Values: ids }]] : [];
  for (const term of terms) {
    if (term.id !== undefined) continue;
    const filters = tagFilters(term.tags ?? {});
    if (nameFilter !== undefined && term.name !== undefined)
      filters.unshift({ Name: nameFilter, Values: [term.name] });
    sets.push(filters);
  }
  return sets;
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Every subnet the node class selects (deduplicated, sorted by id). */
export async function resolveSubnets(
  ec2: Ec2ResolveApi,
  nodeClass: EC2NodeClass,
  retry?: RetryOptions,
): Promise<ResolvedSubnet[]> {
  const out = new Map<string, ResolvedSubnet>();
  for (const filters of filterSets(nodeClass.spec.subnetSelectorTerms, "subnet-id")) {
    for await (const page of eachPage(
      (next) =>
        ec2.send(
          new DescribeSubnetsCommand({
            Filters: filters,
            MaxResults: 500,
            ...next,
          }),
        ),
      retry,
    ))
      for (const s of page.Subnets ?? []) {
        if (s.SubnetId === undefined || s.AvailabilityZone === undefined) continue;
        out.set(s.SubnetId, {
          id: s.SubnetId,
          zone: s.AvailabilityZone,
          ...(s.AvailabilityZoneId === undefined ? {} : { zoneId: s.AvailabilityZoneId }),
          availableIpAddressCount: s.AvailableIpAddressCount ?? 0,
          ...(s.MapPublicIpOnLaunch === undefined ? {} : { mapPublicIpOnLaunch: s.MapPublicIpOnLaunch }),
        });
      }
  }
  return [...out.values()].sort(byId);
}

/**
 * Whether nodes launched into these subnets get a public IPv4 address when the node class leaves
 * `associatePublicIPAddress` unset: the launch picks per zone the subnet with the most free addresses,
 * so the answer is yes when any of those subnets maps one on launch (the per-node cost is then paid).
 */
export function subnetsAssignPublicIpv4(subnets: readonly ResolvedSubnet[]): boolean {
  return [...zonalSubnets(subnets).values()].some((s) => s.mapPublicIpOnLaunch === true);
}

/** Per zone, the subnet with the most available IP addresses (ties: lowest id), as Karpenter launches. */
export function zonalSubnets(subnets: readonly ResolvedSubnet[]): Map<string, ResolvedSubnet> {
  const out = new Map<string, ResolvedSubnet>();
  for (const s of [...subnets].sort(byId)) {
    const best = out.get(s.zone);
    if (best === undefined || s.availableIpAddressCount > best.availableIpAddressCount) out.set(s.zone, s);
  }
  return out;
}

/** Every security group the node class selects (deduplicated, sorted by id). */
export async function resolveSecurityGroups(
  ec2: Ec2ResolveApi,
  nodeClass: EC2NodeClass,
  retry?: RetryOptions,
): Promise<ResolvedSecurityGroup[]> {
  const out = new Map<string, ResolvedSecurityGroup>();
  const sets = filterSets(nodeClass.spec.securityGroupSelectorTerms, "group-id", "group-name");
  for (const filters of sets) {
    for await (const page of eachPage(
      (next) =>
        ec2.send(
          new DescribeSecurityGroupsCommand({
            Filters: filters,
            MaxResults: 1000,
            ...next,
          }),
        ),
      retry,
    ))
      for (const g of page.SecurityGroups ?? []) {
        if (g.GroupId === undefined) continue;
        out.set(g.GroupId, { id: g.GroupId, ...(g.GroupName === undefined ? {} : { name: g.GroupName }) });
      }
  }
  return [...out.values()].sort(byId);
}

/** Which instance types an AMI serves: plain, NVIDIA GPU, or AWS Neuron accelerated ones. */
export type AmiVariant = "standard" | "nvidia" | "neuron";

/** One public SSM parameter behind an alias, with the architecture and variants its image serves. */
export interface AliasParameter {
  name: string;
  architecture: "amd64" | "arm64";
  serves: AmiVariant[];
}

/**
 * The public SSM parameters behind an AMI alias (A: pkg/providers/amifamily/{al2,al2023,bottlerocket,
 * windows}.go DescribeImageQuery): per architecture, the standard image and the accelerated ones.
 */
export function aliasSsmParameters(alias: string, kubernetesVersion: string): AliasParameter[] {
  const [family = "", version = "latest"] = alias.split("@");
  const k8s = kubernetesVersion;
  const eks = `/aws/service/eks/optimized-ami/${k8s}`;
  const latest = version === "latest";
  const arches = [
    ["x86_64", "amd64"],
    ["arm64", "arm64"],
  ] as const;
  switch (family) {
    case "al2023": {
      const variants: [AmiVariant, readonly (typeof arches)[number][]][] = [
        ["standard", arches],
        ["nvidia", arches],
        ["neuron", [arches[0]]],
      ];
      return variants.flatMap(([variant, list]) =>
        list.map(([arch, architecture]) => ({
          name: latest
            ? `${eks}/amazon-linux-2023/${arch}/${variant}/recommended/image_id`
            : `${eks}/amazon-linux-2023/${arch}/${variant}/amazon-eks-node-al2023-${arch}-${variant}-${k8s}-${version}/image_id`,
          architecture,
          serves: [variant],
        })),
      );
    }
    case "al2":
      return (
        [
          ["amazon-linux-2", "amazon-eks-node", "amd64", ["standard"]],
          ["amazon-linux-2-arm64", "amazon-eks-arm64-node", "arm64", ["standard"]],
          ["amazon-linux-2-gpu", "amazon-eks-gpu-node", "amd64", ["nvidia", "neuron"]],
        ] as const
      ).map(([path, prefix, architecture, serves]) => ({
        name: latest
          ? `${eks}/${path}/recommended/image_id`
          : `${eks}/${path}/${prefix}-${k8s}-${version}/image_id`,
        architecture,
        serves: [...serves],
      }));
    case "bottlerocket": {
      const v = latest ? "latest" : version.replace(/^v/, "");
      return (["standard", "nvidia"] as const).flatMap((variant) =>
        arches.map(([arch, architecture]) => ({
          name: `/aws/service/bottlerocket/aws-k8s-${k8s}${variant === "nvidia" ? "-nvidia" : ""}/${arch}/${v}/image_id`,
          architecture,
          serves: [variant],
        })),
      );
    }
    default: {
      const year = family.replace(/^windows/, "");
      return [
        {
          name: `/aws/service/ami-windows-latest/Windows_Server-${year}-English-Core-EKS_Optimized-${k8s}/image_id`,
          architecture: "amd64",
          serves: ["standard"],
        },
      ];
    }
  }
}

/** The variant of AMI an instance type needs: NVIDIA GPUs, AWS Neuron accelerators, or neither. */
export function amiVariantOf(labels: Readonly<Record<string, string>>): AmiVariant {
  if (labels[awsLabels.instanceGpuManufacturer] === "nvidia") return "nvidia";
  if (labels[awsLabels.instanceAcceleratorManufacturer] === "aws") return "neuron";
  return "standard";
}

/**
 * The AMI for an instance type: same architecture, serving its variant (AMIs selected by id, name
 * or tags serve every variant); the variant-specific one first, then the newest.
 */
export function amiForInstanceType(
  amis: readonly ResolvedAmi[],
  labels: Readonly<Record<string, string>>,
): ResolvedAmi | undefined {
  const variant = amiVariantOf(labels);
  const fits = amis.filter(
    (a) =>
      a.architecture === labels[coreLabels.arch] && (a.serves === undefined || a.serves.includes(variant)),
  );
  return fits.sort(
    (a, b) =>
      Number(b.serves !== undefined) - Number(a.serves !== undefined) ||
      (a.creationDate < b.creationDate ? 1 : a.creationDate > b.creationDate ? -1 : 0),
  )[0];
}

/** The value of an SSM parameter, or undefined when it does not exist (ParameterNotFound). */
async function ssmValue(ssm: SsmApi, name: string, retry?: RetryOptions): Promise<string | undefined> {
  try {
    const out = await withThrottlingRetry(() => ssm.send(new GetParameterCommand({ Name: name })), retry);
    return out?.Parameter?.Value;
  } catch (error) {
    if (awsErrorCode(error) === "ParameterNotFound") return undefined;
    throw error;
  }
}

const kubeArch: Record<string, "amd64" | "arm64"> = { x86_64: "amd64", arm64: "arm64" };

/** Options of `resolveAmis`. */
export interface ResolveAmisOptions {
  /** The cluster's Kubernetes minor version (e.g. "1.32"), for alias parameters. */
  kubernetesVersion: string;
  retry?: RetryOptions;
}

/**
 * The AMIs a node class selects: aliases and ssmParameter terms through SSM, then ids, names and
 * tags through DescribeImages (names without an owner look in self and amazon); the newest image
 * per architecture is kept. Throws when nothing is selected.
 */
export async function resolveAmis(
  ec2: Ec2ResolveApi,
  ssm: SsmApi,
  nodeClass: EC2NodeClass,
  options: ResolveAmisOptions,
): Promise<ResolvedAmi[]> {
  const retry = options.retry;
  const ids: string[] = [];
  const aliasServes = new Map<string, AliasParameter>();
  const queries: { filters: Filter[]; owners?: string[] }[] = [];
  const values = new Map<string, string | undefined>();
  const lookup = async (name: string) => {
    if (!values.has(name)) values.set(name, await ssmValue(ssm, name, retry));
    return values.get(name);
  };
  for (const term of nodeClass.spec.amiSelectorTerms) {
    if (term.alias !== undefined) {
      for (const parameter of aliasSsmParameters(term.alias, options.kubernetesVersion)) {
        const value = await lookup(parameter.name);
        if (value === undefined) continue;
        ids.push(value);
        aliasServes.set(value, parameter);
      }
      continue;
    }
    if (term.ssmParameter !== undefined) {
      const value = await lookup(term.ssmParameter);
      if (value !== undefined) ids.push(value);
      continue;
    }
    if (term.id !== undefined) {
      ids.push(term.id);
      continue;
    }
    const filters = tagFilters(term.tags ?? {});
    if (term.name !== undefined) filters.unshift({ Name: "name", Values: [term.name] });
    const owners =
      term.owner !== undefined ? [term.owner] : term.name !== undefined ? ["self", "amazon"] : [];
    queries.push({ filters, ...(owners.length > 0 ? { owners } : {}) });
  }
  if (ids.length > 0) queries.unshift({ filters: [{ Name: "image-id", Values: [...new Set(ids)] }] });
  const images: Image[] = [];
  for (const q of queries) {
    for await (const page of eachPage(
      (next) =>
        ec2.send(
          new DescribeImagesCommand({
            Filters: q.filters,
            ...(q.owners === undefined ? {} : { Owners: q.owners }),
            MaxResults: 1000,
            ...next,
          }),
        ),
      retry,
    ))
      images.push(...(page.Images ?? []));
  }
  // The newest image per architecture and variant set.
  const newest = new Map<string, ResolvedAmi>();
  for (const image of images) {
    const architecture = kubeArch[image.Architecture ?? ""];
    if (image.ImageId === undefined || architecture === undefined) continue;
    if (image.State !== undefined && image.State !== "available") continue;
    const alias = aliasServes.get(image.ImageId);
    const ami: ResolvedAmi = {
      id: image.ImageId,
      ...(image.Name === undefined ? {} : { name: image.Name }),
      architecture,
      creationDate: image.CreationDate ?? "",
      ...(alias === undefined ? {} : { serves: alias.serves }),
    };
    const key = `${architecture}/${ami.serves?.join(",") ?? "*"}`;
    const seen = newest.get(key);
    if (
      seen === undefined ||
      ami.creationDate > seen.creationDate ||
      (ami.creationDate === seen.creationDate && ami.id > seen.id)
    )
      newest.set(key, ami);
  }
  if (newest.size === 0)
    throw new Error(
      `EC2NodeClass ${nodeClass.metadata.name}: spec.amiSelectorTerms select no available amd64 or arm64 image`,
    );
  return [...newest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ami]) => ami);
}

/** Resolves subnets, security groups and AMIs; throws a clear error when a selector selects nothing. */
export async function resolveNodeClass(
  ec2: Ec2ResolveApi,
  ssm: SsmApi,
  nodeClass: EC2NodeClass,
  options: ResolveAmisOptions,
): Promise<ResolvedNodeClass> {
  const name = nodeClass.metadata.name;
  const subnets = await resolveSubnets(ec2, nodeClass, options.retry);
  if (subnets.length === 0)
    throw new Error(`EC2NodeClass ${name}: spec.subnetSelectorTerms select no subnet`);
  const securityGroups = await resolveSecurityGroups(ec2, nodeClass, options.retry);
  if (securityGroups.length === 0)
    throw new Error(`EC2NodeClass ${name}: spec.securityGroupSelectorTerms select no security group`);
  const amis = await resolveAmis(ec2, ssm, nodeClass, options);
  return { subnets, securityGroups, amis };
}
