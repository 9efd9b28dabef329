import { createHash } from "node:crypto";
import {
  CreateLaunchTemplateCommand,
  DeleteLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  type LaunchTemplateBlockDeviceMappingRequest,
  type RequestLaunchTemplateData,
  type Tag,
} from "@aws-sdk/client-ec2";
import { type AmiFamily, isWindowsFamily } from "../ami-family.ts";
import type { EC2NodeClass } from "../ec2nodeclass.ts";
import { parseQuantityValue } from "../k8s-quantity.ts";
import { awsErrorCode, type Ec2LaunchTemplateApi } from "./launch-clients.ts";
import { eachPage, type RetryOptions, withThrottlingRetry } from "./retry.ts";

/**
 * Launch templates created or reused per unique combination of launch data, as Karpenter does
 * (A: pkg/providers/launchtemplate/launchtemplate.go): the name is a hash of the data, so the same
 * combination always maps to the same template; DescribeLaunchTemplates finds an existing one,
 * CreateLaunchTemplate (tagged with the cluster) makes a missing one; templates of this cluster not
 * used for a while are deleted by `garbageCollect`.
 */

/** Stable JSON: object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Hex SHA-256 of the canonical JSON of `value`, cut to `length` characters. */
export function stableHash(value: unknown, length = 64): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, length);
}

const GiB = 2 ** 30;

/** EC2 block device mappings of the node class, or the AMI family's defaults (encrypted gp3). */
export function blockDeviceMappings(
  nodeClass: EC2NodeClass,
  family: AmiFamily,
): LaunchTemplateBlockDeviceMappingRequest[] {
  const mappings = nodeClass.spec.blockDeviceMappings;
  if (mappings !== undefined) {
    return mappings.map((m) => {
      const e = m.ebs;
      const bytes = e?.volumeSize === undefined ? undefined : parseQuantityValue(e.volumeSize, "bytes");
      return {
        ...(m.deviceName === undefined ? {} : { DeviceName: m.deviceName }),
        ...(e === undefined
          ? {}
          : {
              Ebs: {
                ...(e.deleteOnTermination === undefined
                  ? {}
                  : { DeleteOnTermination: e.deleteOnTermination }),
                ...(e.encrypted === undefined ? {} : { Encrypted: e.encrypted }),
                ...(e.iops === undefined ? {} : { Iops: e.iops }),
                ...(e.kmsKeyID === undefined ? {} : { KmsKeyId: e.kmsKeyID }),
                ...(e.snapshotID === undefined ? {} : { SnapshotId: e.snapshotID }),
                ...(e.throughput === undefined ? {} : { Throughput: e.throughput }),
                ...(bytes === undefined ? {} : { VolumeSize: Math.ceil(bytes / GiB) }),
                ...(e.volumeType === undefined ? {} : { VolumeType: e.volumeType }),
              },
            }),
      };
    });
  }
  const ebs = (size: number) => ({ Encrypted: true, VolumeSize: size, VolumeType: "gp3" as const });
  if (family === "Custom") return [];
  if (family === "Bottlerocket")
    return [
      { DeviceName: "/dev/xvda", Ebs: ebs(4) },
      { DeviceName: "/dev/xvdb", Ebs: ebs(20) },
    ];
  if (isWindowsFamily(family)) return [{ DeviceName: "/dev/sda1", Ebs: ebs(50) }];
  return [{ DeviceName: "/dev/xvda", Ebs: ebs(20) }];
}

/** Options of `LaunchTemplates`. */
export interface LaunchTemplatesOptions {
  ec2: Ec2LaunchTemplateApi;
  clusterName: string;
  /** Template name prefix; default `nodeplan.dev` (names are `<prefix>/<hash>`). */
  namePrefix?: string;
  /** The tag that marks this cluster's templates; default `nodeplan.dev/cluster`. */
  clusterTagKey?: string;
  /** A template unused for this long is garbage; default 1 h. */
  unusedTtlMillis?: number;
  retry?: RetryOptions;
  now?: () => number;
}

/** EC2 tag list from a map (sorted by key). */
export function tagList(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([Key, Value]) => ({ Key, Value }));
}

/** Creates, reuses and garbage-collects this cluster's launch templates. */
export class LaunchTemplates {
  private readonly options: LaunchTemplatesOptions;
  private readonly lastUsed = new Map<string, number>();
  private readonly now: () => number;

  constructor(options: LaunchTemplatesOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** The deterministic name of the template holding `data` with `tags`. */
  nameFor(data: RequestLaunchTemplateData, tags: Readonly<Record<string, string>>): string {
    return `${this.options.namePrefix ?? "nodeplan.dev"}/${stableHash({ data, tags }, 32)}`;
  }

  private clusterTag(): Tag {
    return { Key: this.options.clusterTagKey ?? "nodeplan.dev/cluster", Value: this.options.clusterName };
  }

  /**
   * The name of a template holding `data`: reused when this process or EC2 already has it, created
   * (tagged with `tags` and the cluster tag) when EC2 does not.
   */
  async ensure(data: RequestLaunchTemplateData, tags: Readonly<Record<string, string>>): Promise<string> {
    const name = this.nameFor(data, tags);
    const { ec2, retry } = this.options;
    if (!this.lastUsed.has(name)) {
      let exists = false;
      try {
        const out = await withThrottlingRetry(
          () => ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [name] })),
          retry,
        );
        exists = (out.LaunchTemplates ?? []).length > 0;
      } catch (error) {
        if (awsErrorCode(error) !== "InvalidLaunchTemplateName.NotFoundException") throw error;
      }
      if (!exists) {
        const tagged: Tag[] = [...tagList(tags), this.clusterTag()];
        try {
          await withThrottlingRetry(
            () =>
              ec2.send(
                new CreateLaunchTemplateCommand({
                  LaunchTemplateName: name,
                  LaunchTemplateData: data,
                  TagSpecifications: [{ ResourceType: "launch-template", Tags: tagged }],
                }),
              ),
            retry,
          );
        } catch (error) {
          // Another launch created it in between: same name, same data.
          if (awsErrorCode(error) !== "InvalidLaunchTemplateName.AlreadyExistsException") throw error;
        }
      }
    }
    this.lastUsed.set(name, this.now());
    return name;
  }

  /** Forgets a template (after EC2 said it is gone), so the next `ensure` looks again. */
  forget(name: string): void {
    this.lastUsed.delete(name);
  }

  /**
   * Deletes this cluster's templates (found by the cluster tag) that this launcher has not used
   * within the TTL; a template is only read at launch, so running instances never need it. A
   * template deleted under a concurrent launch is recreated by the next `ensure`. Returns the
   * deleted names.
   */
  async garbageCollect(): Promise<string[]> {
    const { ec2, retry } = this.options;
    const ttl = this.options.unusedTtlMillis ?? 3_600_000;
    const tag = this.clusterTag();
    const names: string[] = [];
    for await (const page of eachPage(
      (next) =>
        ec2.send(
          new DescribeLaunchTemplatesCommand({
            Filters: [{ Name: `tag:${tag.Key}`, Values: [tag.Value ?? ""] }],
            MaxResults: 200,
            ...next,
          }),
        ),
      retry,
    )) {
      for (const t of page.LaunchTemplates ?? []) if (t.LaunchTemplateName) names.push(t.LaunchTemplateName);
    }
    const now = this.now();
    const deleted: string[] = [];
    for (const name of names.sort()) {
      const used = this.lastUsed.get(name);
      if (used !== undefined && now - used < ttl) continue;
      try {
        await withThrottlingRetry(
          () => ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: name })),
          retry,
        );
      } catch (error) {
        if (awsErrorCode(error) !== "InvalidLaunchTemplateName.NotFoundException") throw error;
      }
      this.lastUsed.delete(name);
      deleted.push(name);
    }
    return deleted;
  }
}
