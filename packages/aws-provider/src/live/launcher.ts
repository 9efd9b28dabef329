import {
  type _InstanceType,
  CreateFleetCommand,
  type CreateFleetCommandInput,
  type CreateFleetCommandOutput,
  type CreateFleetError,
  DescribeInstancesCommand,
  type FleetLaunchTemplateOverridesRequest,
  type Instance,
  type RequestLaunchTemplateData,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import {
  type CapacityType,
  type CatalogSource,
  type CloudInstance,
  type InstanceType,
  type LaunchedInstance,
  type Launcher,
  LaunchFailedError,
  type NodePool,
  type PlannedNodeClaim,
  PODS,
  type UnavailableOffering,
  valueSatisfiesRequirement,
} from "@nodeplan/core";
import { CapacityReservationAvailability } from "../capacity-reservations.ts";
import { type EC2NodeClass, resolvedAmiFamily } from "../ec2nodeclass.ts";
import { awsLabels, coreLabels } from "../labels.ts";
import { UnavailableOfferings } from "../unavailable-offerings.ts";
import { AwsCatalog } from "./aws-catalog.ts";
import { TtlCache } from "./cache.ts";
import { ec2NodeClassHashAnnotations } from "./drift.ts";
import { describeClusterInstances } from "./instances.ts";
import { awsErrorCode, type Ec2LaunchApi, type SsmApi } from "./launch-clients.ts";
import {
  blockDeviceMappings,
  LaunchTemplates,
  type LaunchTemplatesOptions,
  stableHash,
  tagList,
} from "./launch-template.ts";
import { amiForInstanceType, type ResolvedNodeClass, resolveNodeClass, zonalSubnets } from "./resolve.ts";
import { type RetryOptions, withThrottlingRetry } from "./retry.ts";
import { type ClusterInfo, userData } from "./user-data.ts";

/**
 * core's Launcher on EC2 (A: pkg/providers/instance/instance.go, pkg/cloudprovider/cloudprovider.go):
 * resolve the node class, create or reuse launch templates, CreateFleet (instant, one instance, with
 * a client token of the claim) over the claim's instance types ordered by price as reserved, spot
 * or on-demand (in that order of preference), record failed offerings in the unavailable-offerings
 * cache or failed reservations in the reservation counts, and terminate instances.
 */

/** CreateFleet error codes meaning "this offering cannot launch now" (A: pkg/errors/errors.go). */
export const UNFULFILLABLE_CAPACITY_CODES: ReadonlySet<string> = new Set([
  "InsufficientInstanceCapacity",
  "MaxSpotInstanceCountExceeded",
  "VcpuLimitExceeded",
  "UnfulfillableCapacity",
  "Unsupported",
  "InsufficientFreeAddressesInSubnet",
  "ReservationCapacityExceeded",
]);

const SPOT_ROLE_MISSING = "AuthFailure.ServiceLinkedRoleCreationNotPermitted";

/** Karpenter's cap on instance types in one CreateFleet request. */
export const MAX_INSTANCE_TYPES = 60;

/**
 * No offering of the claim could be launched; the failed offerings are now marked unavailable. A
 * definite failure (core's LaunchFailedError): no instance was started.
 */
export class InsufficientCapacityError extends LaunchFailedError {
  readonly errors: readonly { code: string; message: string; instanceType?: string; zone?: string }[];
  constructor(claim: string, errors: InsufficientCapacityError["errors"], detail?: string) {
    const codes = [...new Set(errors.map((e) => e.code))].join(", ");
    super(
      `NodeClaim ${claim}: no instance launched${codes ? ` (${codes})` : ""}${detail ? `: ${detail}` : ""}`,
    );
    this.name = "InsufficientCapacityError";
    this.errors = errors;
  }
}

/** Options of `AwsLauncher`. */
export interface AwsLauncherOptions {
  ec2: Ec2LaunchApi;
  ssm: SsmApi;
  /** Instance types with prices and offerings per NodePool and EC2NodeClass (AwsCatalog, offline catalog). */
  catalog: CatalogSource<EC2NodeClass>;
  cluster: ClusterInfo;
  /** Kubernetes minor version for AMI aliases, e.g. "1.32". */
  kubernetesVersion: string;
  /** Shared with the catalog (`unavailableOfferings: () => cache.list()`); default a new one. */
  unavailableOfferings?: UnavailableOfferings;
  /** Shared with the catalog; default: the catalog's when it is an AwsCatalog, else a new one. */
  reservationAvailability?: CapacityReservationAvailability;
  /** The instance profile of a node class with spec.role (IAM is not called here); default: error. */
  instanceProfileForRole?: (nodeClass: EC2NodeClass) => Promise<string>;
  launchTemplates?: Omit<LaunchTemplatesOptions, "ec2" | "clusterName" | "retry" | "now">;
  maxInstanceTypes?: number;
  /** How long resolved subnets, security groups and AMIs are reused; default 1 min. */
  resolveTtlMillis?: number;
  retry?: RetryOptions;
  now?: () => number;
}

/** A capacity reservation a launch targets. */
interface Reservation {
  id: string;
  /** `default` or `capacity-block`. */
  type: string;
  /** Instances still available in it. */
  capacity: number;
}

interface Candidate {
  type: InstanceType;
  zone: string;
  subnetId: string;
  price: number;
  /** A reserved offering's reservation. */
  reservation?: Reservation;
}

/** A claim to launch; `uid` (the NodeClaim object's metadata.uid), when known, goes into the client token. */
export type LaunchClaim = PlannedNodeClaim & { uid?: string };

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The instance id in a providerID `aws:///<zone>/<id>`. */
export function instanceIdOf(providerID: string): string {
  const id = /^aws:\/\/\/[^/]*\/(i-[0-9a-zA-Z]+)$/.exec(providerID)?.[1];
  if (id === undefined)
    throw new Error(`providerID ${JSON.stringify(providerID)} is not aws:///<zone>/<instance-id>`);
  return id;
}

/**
 * The CreateFleet ClientToken of a claim: the same for every launch of one NodeClaim (cluster, name
 * and uid), across retries and restarts, so EC2 returns the first request's instance instead of
 * launching another; at most EC2's 64 characters.
 */
export function fleetClientToken(clusterName: string, claim: { name: string; uid?: string }): string {
  return `nodeplan-${stableHash([clusterName, claim.name, claim.uid ?? ""], 48)}`;
}

const reservationRank = (type: string) => (type === "default" ? 0 : type === "capacity-block" ? 1 : 2);

/**
 * Karpenter's reserved-offering filters (A: pkg/providers/instance/filter/filter.go): one reservation
 * type per request (CreateFleet takes one market type), the one with the cheapest offering, default
 * before capacity-block on a tie; then one reservation per instance type and zone (CreateFleet takes
 * one offering per pool), the one with the most available instances.
 */
function reservedPools(candidates: readonly Candidate[]): Candidate[] {
  const cheapest = new Map<string, number>();
  for (const { reservation, price } of candidates)
    if (reservation !== undefined)
      cheapest.set(reservation.type, Math.min(cheapest.get(reservation.type) ?? Infinity, price));
  const [kind] = [...cheapest].sort(
    ([a, pa], [b, pb]) => pa - pb || reservationRank(a) - reservationRank(b) || byString(a, b),
  )[0] ?? [""];
  const pools = new Map<string, Candidate & { reservation: Reservation }>();
  for (const c of candidates) {
    const r = c.reservation;
    if (r === undefined || r.type !== kind) continue;
    const key = `${c.type.name}/${c.zone}`;
    const seen = pools.get(key)?.reservation;
    if (seen === undefined || r.capacity > seen.capacity || (r.capacity === seen.capacity && r.id < seen.id))
      pools.set(key, { ...c, reservation: r });
  }
  return [...pools.values()];
}

/** The labels of an instance launched into a reservation (Karpenter's, on the NodeClaim and Node). */
const reservationLabels = (r: { id: string; type: string }) => ({
  [awsLabels.capacityReservationId]: r.id,
  [awsLabels.capacityReservationType]: r.type,
});

/** Launches and terminates EC2 instances for NodeClaims. */
export class AwsLauncher implements Launcher<EC2NodeClass> {
  readonly unavailable: UnavailableOfferings;
  readonly reservations: CapacityReservationAvailability;
  readonly launchTemplates: LaunchTemplates;
  private readonly options: AwsLauncherOptions;
  private readonly resolved = new Map<string, TtlCache<ResolvedNodeClass>>();
  /** Reservation of each instance this process launched into one, until it is terminated. */
  private readonly reservationOfInstance = new Map<string, string>();
  /** Instances whose reservation capacity was given back (a repeated delete gives it back once). */
  private readonly released = new Set<string>();

  constructor(options: AwsLauncherOptions) {
    this.options = options;
    const clock = options.now ? { now: options.now } : {};
    this.unavailable = options.unavailableOfferings ?? new UnavailableOfferings(clock);
    this.reservations =
      options.reservationAvailability ??
      (options.catalog instanceof AwsCatalog
        ? options.catalog.reservationAvailability
        : new CapacityReservationAvailability(clock));
    this.launchTemplates = new LaunchTemplates({
      ...options.launchTemplates,
      ec2: options.ec2,
      clusterName: options.cluster.name,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  private selectionsCache(nodeClass: EC2NodeClass): TtlCache<ResolvedNodeClass> {
    const spec = nodeClass.spec;
    const name = nodeClass.metadata.name;
    const key = `${name}/${stableHash([spec.subnetSelectorTerms, spec.securityGroupSelectorTerms, spec.amiSelectorTerms], 16)}`;
    let cache = this.resolved.get(key);
    if (cache === undefined) {
      for (const k of this.resolved.keys()) if (k.startsWith(`${name}/`)) this.resolved.delete(k);
      cache = new TtlCache(
        () =>
          resolveNodeClass(this.options.ec2, this.options.ssm, nodeClass, {
            kubernetesVersion: this.options.kubernetesVersion,
            ...(this.options.retry ? { retry: this.options.retry } : {}),
          }),
        this.options.resolveTtlMillis ?? 60_000,
        this.options.now,
      );
      this.resolved.set(key, cache);
    }
    return cache;
  }

  /**
   * The node class's subnets, security groups and AMIs, read at most once per TTL (a failed
   * refresh keeps the last good selections).
   */
  resolve(nodeClass: EC2NodeClass): Promise<ResolvedNodeClass> {
    return this.selectionsCache(nodeClass).get();
  }

  /** The last selections read for the node class's current selector terms (what drift compares to). */
  selections(nodeClass: EC2NodeClass): ResolvedNodeClass | undefined {
    return this.selectionsCache(nodeClass).peek()?.value;
  }

  unavailableOfferings(): UnavailableOffering[] {
    return this.unavailable.list();
  }

  /** The tags of every instance, volume and fleet of a claim (user tags first; Karpenter's win). */
  tags(claim: PlannedNodeClaim, nodePool: NodePool, nodeClass: EC2NodeClass): Record<string, string> {
    return {
      ...nodeClass.spec.tags,
      Name: claim.name,
      "karpenter.sh/nodepool": nodePool.name,
      "karpenter.sh/nodeclaim": claim.name,
      [`kubernetes.io/cluster/${this.options.cluster.name}`]: "owned",
      "eks:eks-cluster-name": this.options.cluster.name,
      [awsLabels.ec2NodeClass]: nodeClass.metadata.name,
    };
  }

  private async instanceProfile(nodeClass: EC2NodeClass): Promise<string> {
    if (nodeClass.spec.instanceProfile !== undefined) return nodeClass.spec.instanceProfile;
    if (this.options.instanceProfileForRole !== undefined)
      return this.options.instanceProfileForRole(nodeClass);
    throw new LaunchFailedError(
      `EC2NodeClass ${nodeClass.metadata.name}: spec.role needs an instance profile created through IAM, which this launcher does not do; set spec.instanceProfile or pass instanceProfileForRole`,
    );
  }

  /**
   * The offerings a claim may launch as: its types and requirements, available, with a subnet; a
   * reserved offering also needs a reservation with instances left (the tracked count when known).
   */
  private candidates(
    claim: PlannedNodeClaim,
    types: readonly InstanceType[],
    subnets: Map<string, { id: string }>,
  ): Map<CapacityType, Candidate[]> {
    const options = new Set(claim.instanceTypeOptions);
    const allows = (key: string, value: string) =>
      claim.requirements.every((r) => r.key !== key || valueSatisfiesRequirement(value, r));
    const out = new Map<CapacityType, Candidate[]>();
    for (const type of types) {
      if (!options.has(type.name)) continue;
      for (const o of type.offerings) {
        const subnet = subnets.get(o.zone);
        if (!o.available || subnet === undefined) continue;
        if (!allows(coreLabels.zone, o.zone) || !allows(coreLabels.capacityType, o.capacityType)) continue;
        if (this.unavailable.isUnavailable(type.name, o.zone, o.capacityType)) continue;
        let reservation: Reservation | undefined;
        if (o.capacityType === "reserved") {
          if (o.reservationId === undefined) continue;
          const r = {
            id: o.reservationId,
            type: o.reservationType ?? "default",
            // A catalog that does not count a reservation's instances offers it while it is available.
            capacity: this.reservations.availableCount(o.reservationId) ?? o.reservationCapacity ?? 1,
          };
          if (r.capacity <= 0) continue;
          if (
            !allows(awsLabels.capacityReservationId, r.id) ||
            !allows(awsLabels.capacityReservationType, r.type)
          )
            continue;
          reservation = r;
        }
        const list = out.get(o.capacityType) ?? [];
        list.push({
          type,
          zone: o.zone,
          subnetId: subnet.id,
          price: o.pricePerHour,
          ...(reservation === undefined ? {} : { reservation }),
        });
        out.set(o.capacityType, list);
      }
    }
    return out;
  }

  /**
   * The CreateFleet request for a claim (launch templates ensured): reserved when the claim allows an
   * available reserved offering, else spot when it allows an available spot offering, else
   * on-demand (Karpenter's getCapacityType); the cheapest `maxInstanceTypes` types, overrides
   * ordered by price; one launch template per (AMI, max pods, capacity reservation). Reserved
   * launches target one reservation per instance type and zone, all of one reservation type, and
   * launch only into it (capacity-reservations-only); spot and on-demand templates opt out of open
   * reservations (Karpenter's targeted launch mode), so they never use up reserved offerings.
   */
  async fleetRequest(
    claim: LaunchClaim,
    nodePool: NodePool,
    nodeClass: EC2NodeClass,
    resolved: ResolvedNodeClass,
  ): Promise<{
    input: CreateFleetCommandInput;
    capacityType: CapacityType;
    zoneOfSubnet: Map<string, string>;
    imageOfType: Map<string, string>;
    /** The reservation targeted per `instanceType/zone` (reserved launches). */
    reservationOf: Map<string, Reservation>;
  }> {
    const subnets = zonalSubnets(resolved.subnets);
    const types = await this.options.catalog.instanceTypes(nodePool, nodeClass);
    const byCapacity = this.candidates(claim, types, subnets);
    const capacityType = (["reserved", "spot", "on-demand"] as const).find((t) => byCapacity.has(t));
    if (capacityType === undefined)
      throw new InsufficientCapacityError(
        claim.name,
        [],
        "no available reserved, spot or on-demand offering of its instance types in the node class's subnets' zones",
      );
    // Spot priced above the cheapest allowed on-demand offering is not worth it (Karpenter's filterUnwantedSpot).
    const onDemandFloor = Math.min(...(byCapacity.get("on-demand") ?? []).map((c) => c.price));
    const offered = byCapacity.get(capacityType) ?? [];
    const all = (capacityType === "reserved" ? reservedPools(offered) : offered)
      .filter((c) => capacityType !== "spot" || c.price <= onDemandFloor)
      .sort((a, b) => a.price - b.price || byString(a.type.name, b.type.name) || byString(a.zone, b.zone));
    const reservationType = all[0]?.reservation?.type;
    const kept = new Set<string>();
    for (const c of all)
      if (kept.size < (this.options.maxInstanceTypes ?? MAX_INSTANCE_TYPES)) kept.add(c.type.name);
    const family = resolvedAmiFamily(nodeClass);
    const spec = nodeClass.spec;
    const kubeletMaxPods = spec.kubelet?.maxPods;
    const profile = await this.instanceProfile(nodeClass);
    // The kubelet registers with the NodeClaim's labels and the capacity type this fleet launches (as Karpenter).
    const labels = {
      ...nodePool.template.labels,
      ...claim.labels,
      "karpenter.sh/nodepool": nodePool.name,
      [coreLabels.capacityType]: capacityType,
    };
    const taints = [...nodePool.template.taints, ...nodePool.template.startupTaints];
    const sgIds = resolved.securityGroups.map((g) => g.id);
    const tags = this.tags(claim, nodePool, nodeClass);
    const imageOfType = new Map<string, string>();
    const reservationOf = new Map<string, Reservation>();
    const groups = new Map<
      string,
      { data: RequestLaunchTemplateData; overrides: FleetLaunchTemplateOverridesRequest[] }
    >();
    for (const c of all) {
      if (!kept.has(c.type.name)) continue;
      const ami = amiForInstanceType(resolved.amis, c.type.labels);
      if (ami === undefined) continue;
      const maxPods = kubeletMaxPods ?? c.type.capacity[PODS];
      const reservation = c.reservation;
      const key = `${ami.id}/${maxPods ?? ""}/${reservation?.id ?? ""}`;
      let group = groups.get(key);
      if (group === undefined) {
        const text = userData({
          family,
          cluster: this.options.cluster,
          kubelet: spec.kubelet,
          maxPods,
          // A template per reservation: its nodes register with the reservation's labels.
          labels: reservation === undefined ? labels : { ...labels, ...reservationLabels(reservation) },
          taints,
          customUserData: spec.userData,
        });
        const data: RequestLaunchTemplateData = {
          BlockDeviceMappings: blockDeviceMappings(nodeClass, family),
          IamInstanceProfile: { Name: profile },
          ImageId: ami.id,
          MetadataOptions: {
            HttpEndpoint: spec.metadataOptions.httpEndpoint,
            HttpProtocolIpv6: spec.metadataOptions.httpProtocolIPv6,
            HttpPutResponseHopLimit: spec.metadataOptions.httpPutResponseHopLimit,
            HttpTokens: spec.metadataOptions.httpTokens,
          },
          Monitoring: { Enabled: spec.detailedMonitoring ?? false },
          CapacityReservationSpecification:
            reservation === undefined
              ? { CapacityReservationPreference: "none" }
              : {
                  CapacityReservationPreference: "capacity-reservations-only",
                  CapacityReservationTarget: { CapacityReservationId: reservation.id },
                },
          ...(reservation?.type === "capacity-block"
            ? { InstanceMarketOptions: { MarketType: "capacity-block" } }
            : {}),
          ...(spec.associatePublicIPAddress === undefined
            ? { SecurityGroupIds: sgIds }
            : {
                NetworkInterfaces: [
                  { DeviceIndex: 0, AssociatePublicIpAddress: spec.associatePublicIPAddress, Groups: sgIds },
                ],
              }),
          UserData: Buffer.from(text, "utf8").toString("base64"),
        };
        groups.set(key, (group = { data, overrides: [] }));
      }
      group.overrides.push({ InstanceType: c.type.name as _InstanceType, SubnetId: c.subnetId });
      imageOfType.set(c.type.name, ami.id);
      if (reservation !== undefined) reservationOf.set(`${c.type.name}/${c.zone}`, reservation);
    }
    if (groups.size === 0)
      throw new LaunchFailedError(
        `NodeClaim ${claim.name}: no AMI of EC2NodeClass ${nodeClass.metadata.name} serves its instance types (architecture, GPU/Neuron variant)`,
      );
    // The NodePool tag lets the IAM policy allow launching from a template only when it is one of the
    // cluster's NodePool templates (its user data carries the NodePool's labels and taints anyway).
    const templateTags = {
      ...spec.tags,
      [`kubernetes.io/cluster/${this.options.cluster.name}`]: "owned",
      "eks:eks-cluster-name": this.options.cluster.name,
      "karpenter.sh/nodepool": nodePool.name,
      [awsLabels.ec2NodeClass]: nodeClass.metadata.name,
    };
    const configs = [];
    for (const group of groups.values()) {
      const name = await this.launchTemplates.ensure(group.data, templateTags);
      configs.push({
        LaunchTemplateSpecification: { LaunchTemplateName: name, Version: "$Latest" },
        Overrides: group.overrides,
      });
    }
    const list = tagList(tags);
    // Reserved capacity launches as on-demand, or as a capacity block (Karpenter's CreateFleetInputBuilder).
    const target =
      capacityType !== "reserved"
        ? capacityType
        : reservationType === "capacity-block"
          ? "capacity-block"
          : "on-demand";
    const input: CreateFleetCommandInput = {
      Type: "instant",
      ClientToken: fleetClientToken(this.options.cluster.name, claim),
      ...(spec.context === undefined ? {} : { Context: spec.context }),
      LaunchTemplateConfigs: configs,
      TargetCapacitySpecification: { DefaultTargetCapacityType: target, TotalTargetCapacity: 1 },
      ...(target === "spot"
        ? { SpotOptions: { AllocationStrategy: "price-capacity-optimized" } }
        : target === "on-demand"
          ? { OnDemandOptions: { AllocationStrategy: "lowest-price" } }
          : {}),
      TagSpecifications: (["instance", "volume", "fleet"] as const).map((ResourceType) => ({
        ResourceType,
        Tags: list,
      })),
    };
    const zoneOfSubnet = new Map([...subnets.values()].map((s) => [s.id, s.zone]));
    return { input, capacityType, zoneOfSubnet, imageOfType, reservationOf };
  }

  /**
   * Marks the offerings of unfulfillable-capacity fleet errors unavailable (a reserved launch: their
   * reservations, until the next DescribeCapacityReservations, as Karpenter); returns the errors.
   */
  private recordErrors(
    errors: readonly CreateFleetError[],
    input: CreateFleetCommandInput,
    capacityType: CapacityType,
    zoneOfSubnet: Map<string, string>,
    reservationOf: Map<string, Reservation>,
  ): InsufficientCapacityError["errors"] {
    // Spot needs its service-linked role: without it no spot offering can launch (Karpenter marks spot unavailable).
    if (capacityType === "spot" && errors.some((e) => e.ErrorCode === SPOT_ROLE_MISSING))
      for (const o of (input.LaunchTemplateConfigs ?? []).flatMap((c) => c.Overrides ?? []))
        if (o.InstanceType !== undefined && o.SubnetId !== undefined)
          this.unavailable.markUnavailable(
            o.InstanceType,
            zoneOfSubnet.get(o.SubnetId) ?? "",
            "spot",
            SPOT_ROLE_MISSING,
          );
    return errors.map((e) => {
      const o = e.LaunchTemplateAndOverrides?.Overrides;
      const instanceType = o?.InstanceType;
      const zone =
        o?.AvailabilityZone ?? (o?.SubnetId === undefined ? undefined : zoneOfSubnet.get(o.SubnetId));
      const code = e.ErrorCode ?? "Unknown";
      if (UNFULFILLABLE_CAPACITY_CODES.has(code) && instanceType !== undefined && zone !== undefined) {
        const reservation = reservationOf.get(`${instanceType}/${zone}`);
        if (capacityType !== "reserved")
          this.unavailable.markUnavailable(instanceType, zone, capacityType, code);
        else if (reservation !== undefined) this.reservations.markUnavailable(reservation.id);
      }
      return {
        code,
        message: e.ErrorMessage ?? "",
        ...(instanceType === undefined ? {} : { instanceType }),
        ...(zone === undefined ? {} : { zone }),
      };
    });
  }

  /**
   * A reserved launch's claim that EC2 cannot fill fails with InsufficientCapacityError and marks the
   * reservation empty; as in Karpenter, the claim is then made again and launches as spot or
   * on-demand when its requirements allow them (one CreateFleet per claim keeps its client token).
   */
  async create(
    claim: LaunchClaim,
    nodePool: NodePool,
    nodeClass: EC2NodeClass | undefined,
  ): Promise<LaunchedInstance> {
    if (nodeClass === undefined)
      throw new LaunchFailedError(`NodeClaim ${claim.name}: NodePool ${nodePool.name} has no EC2NodeClass`);
    const resolved = await this.resolve(nodeClass);
    const { input, capacityType, zoneOfSubnet, imageOfType, reservationOf } = await this.fleetRequest(
      claim,
      nodePool,
      nodeClass,
      resolved,
    );
    let fleet: CreateFleetCommandOutput;
    try {
      fleet = await withThrottlingRetry(
        () => this.options.ec2.send(new CreateFleetCommand(input)),
        this.options.retry,
      );
    } catch (error) {
      const code = awsErrorCode(error);
      // A template deleted behind our back: look it up again next time.
      if (code === "InvalidLaunchTemplateName.NotFoundException")
        for (const c of input.LaunchTemplateConfigs ?? [])
          this.launchTemplates.forget(c.LaunchTemplateSpecification?.LaunchTemplateName ?? "");
      // The token was used by an earlier, different request of this claim (before a restart, say): its instance, if any, is the launch.
      if (code === "IdempotentParameterMismatch") {
        const earlier = await this.launchedEarlier(claim, nodeClass);
        if (earlier !== undefined) return earlier;
        throw new LaunchFailedError(
          `NodeClaim ${claim.name}: EC2 refused CreateFleet (IdempotentParameterMismatch): client token ${input.ClientToken} was used by an earlier, different request of this claim, and no pending or running instance is tagged karpenter.sh/nodeclaim=${claim.name}; make the claim again (a new name or uid)`,
        );
      }
      // EC2 answered and refused the request (a 4xx: not authorized, an invalid parameter): nothing
      // was launched. Anything else (a 5xx, a timeout, a lost connection) leaves the outcome unknown:
      // the caller keeps the claim and retries with the same client token.
      if (rejectedByEc2(error))
        throw new LaunchFailedError(
          `NodeClaim ${claim.name}: EC2 refused CreateFleet: ${describeAwsError(error)}`,
          {
            cause: error,
          },
        );
      throw error;
    }
    const errors = this.recordErrors(fleet.Errors ?? [], input, capacityType, zoneOfSubnet, reservationOf);
    const instance = (fleet.Instances ?? []).find((i) => (i.InstanceIds ?? []).length > 0);
    const id = instance?.InstanceIds?.[0];
    if (instance === undefined || id === undefined) throw new InsufficientCapacityError(claim.name, errors);
    const launched = instance.LaunchTemplateAndOverrides;
    const o = launched?.Overrides;
    const zone = o?.AvailabilityZone ?? zoneOfSubnet.get(o?.SubnetId ?? "") ?? "";
    const instanceType = instance.InstanceType ?? o?.InstanceType ?? "";
    const imageID = o?.ImageId ?? imageOfType.get(instanceType);
    // One reservation per instance type and zone was targeted: the instance is in that one (as Karpenter).
    const reservation =
      capacityType === "reserved" ? reservationOf.get(`${instanceType}/${zone}`) : undefined;
    if (reservation !== undefined) {
      this.reservations.markLaunched(reservation.id);
      this.reservationOfInstance.set(id, reservation.id);
    }
    return {
      providerID: `aws:///${zone}/${id}`,
      instanceType,
      zone,
      capacityType: instance.Lifecycle === "spot" ? "spot" : capacityType,
      ...(imageID === undefined ? {} : { imageID }),
      annotations: ec2NodeClassHashAnnotations(nodeClass),
      ...(reservation === undefined ? {} : { labels: reservationLabels(reservation) }),
    };
  }

  /** The newest pending or running instance of this cluster tagged with the claim, as a launch. */
  private async launchedEarlier(
    claim: LaunchClaim,
    nodeClass: EC2NodeClass,
  ): Promise<LaunchedInstance | undefined> {
    const page = await withThrottlingRetry(
      () =>
        this.options.ec2.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: "tag:karpenter.sh/nodeclaim", Values: [claim.name] },
              { Name: "tag:eks:eks-cluster-name", Values: [this.options.cluster.name] },
              { Name: "instance-state-name", Values: ["pending", "running"] },
            ],
          }),
        ),
      this.options.retry,
    );
    const newest = (page.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i): i is Instance & { InstanceId: string } => i.InstanceId !== undefined)
      .sort((a, b) => (b.LaunchTime?.getTime() ?? 0) - (a.LaunchTime?.getTime() ?? 0))[0];
    if (newest === undefined) return undefined;
    const zone = newest.Placement?.AvailabilityZone ?? "";
    // Karpenter's capacityTypeFromInstance: reserved only when launched into a reservation on purpose.
    const reservationId =
      newest.CapacityReservationSpecification?.CapacityReservationPreference === "capacity-reservations-only"
        ? newest.CapacityReservationId
        : undefined;
    if (reservationId !== undefined) this.reservationOfInstance.set(newest.InstanceId, reservationId);
    return {
      providerID: `aws:///${zone}/${newest.InstanceId}`,
      instanceType: newest.InstanceType ?? "",
      zone,
      capacityType:
        newest.InstanceLifecycle === "spot" ? "spot" : reservationId !== undefined ? "reserved" : "on-demand",
      ...(newest.ImageId === undefined ? {} : { imageID: newest.ImageId }),
      annotations: ec2NodeClassHashAnnotations(nodeClass),
      ...(reservationId === undefined
        ? {}
        : {
            labels: reservationLabels({
              id: reservationId,
              type: newest.InstanceLifecycle === "capacity-block" ? "capacity-block" : "default",
            }),
          }),
    };
  }

  /**
   * Every pending, running, stopping or stopped instance of this cluster's NodePools (tagged with the
   * cluster and a karpenter.sh/nodepool), for garbage collection of instances no NodeClaim names.
   */
  instances(): Promise<CloudInstance[]> {
    return describeClusterInstances(this.options.ec2, this.options.cluster.name, this.options.retry);
  }

  /**
   * Terminates the instance; an instance already gone counts as deleted. An instance in a capacity
   * reservation (launched by this process, or labelled with the reservation) gives its capacity
   * back to the reservation's count, once.
   */
  async delete(node: { name: string; providerID: string; labels?: Record<string, string> }): Promise<void> {
    const id = instanceIdOf(node.providerID);
    try {
      await withThrottlingRetry(
        () => this.options.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })),
        this.options.retry,
      );
    } catch (error) {
      if (awsErrorCode(error) !== "InvalidInstanceID.NotFound") throw error;
    }
    const reservation = this.reservationOfInstance.get(id) ?? node.labels?.[awsLabels.capacityReservationId];
    this.reservationOfInstance.delete(id);
    if (reservation === undefined || this.released.has(id)) return;
    this.released.add(id);
    this.reservations.markTerminated(reservation);
  }
}

/** An AWS service error with a 4xx status: the request reached EC2 and was refused. */
function rejectedByEc2(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return typeof status === "number" && status >= 400 && status < 500 && status !== 429;
}

const describeAwsError = (error: unknown) =>
  `${awsErrorCode(error) ?? "error"}: ${error instanceof Error ? error.message : String(error)}`;
