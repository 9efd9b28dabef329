import fc from "fast-check";
import {
  DaemonSetSchema,
  type InstanceType,
  type Node,
  type NodePool,
  NodePoolSchema,
  NodeSchema,
  type Pod,
  PodSchema,
} from "../model.ts";
import type { ProvisioningInput } from "./input.ts";

/**
 * Random clusters with existing nodes for the topology property tests: nodes in several NodePools (and
 * unmanaged ones), some in a zone no instance type is offered in, some tainted or cordoned, running pods
 * of the same apps as the pending ones (so their labels count in spreads and their anti-affinity
 * repels); NodePools with weights, zone and capacity-type requirements, taints and limits (some already
 * exceeded by their nodes); apps with zone and hostname spreads (maxSkew 1-2, minDomains, node
 * affinity and taint policies), required and preferred pod (anti-)affinity on zone and hostname, zone
 * node selectors and preferred node affinity, host ports, two namespaces.
 */

export const NOW = "2026-11-01T00:00:00Z";
const GiB = 1024 ** 3;
export const ZONE = "topology.kubernetes.io/zone";
export const HOST = "kubernetes.io/hostname";
const CAPACITY_TYPE = "karpenter.sh/capacity-type";
const NODEPOOL = "karpenter.sh/nodepool";
/** Zones instance types are offered in. */
export const ZONES = ["zone-a", "zone-b", "zone-c"];
/** A zone only existing nodes are in (no offering): a domain that exists only on existing nodes. */
const ORPHAN_ZONE = "zone-d";
const TAINT = { key: "dedicated", value: "batch", effect: "NoSchedule" as const };

/** `arb` in `percent` of the draws, else undefined. */
function maybe<T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 100 - percent },
    { arbitrary: arb, weight: percent },
  );
}

const target = maybe(fc.integer({ min: 0, max: 5 }), 40);

const appArb = fc.record({
  replicas: fc.integer({ min: 1, max: 40 }),
  cpu: fc.constantFrom(100, 250, 500, 1000, 1500, 3000),
  memoryGiB: fc.constantFrom(0.5, 1, 2, 4),
  namespace: fc.constantFrom("default", "default", "other"),
  tier: fc.constantFrom("web", "db"),
  /** Spreads and affinities select the app's tier (with matchLabelKeys app, half the time). */
  byTier: maybe(fc.boolean(), 20),
  /** Affinity terms reach every namespace, or those labelled team=other. */
  crossNamespace: maybe(fc.constantFrom("all", "team"), 20),
  amd64: fc.boolean(),
  zoneSpread: maybe(
    fc.record({
      maxSkew: fc.integer({ min: 1, max: 2 }),
      minDomains: maybe(fc.integer({ min: 1, max: 5 }), 30),
      when: fc.constantFrom("DoNotSchedule", "DoNotSchedule", "ScheduleAnyway"),
      nodeAffinityPolicy: fc.constantFrom("Honor", "Honor", "Ignore"),
      nodeTaintsPolicy: fc.constantFrom("Ignore", "Ignore", "Honor"),
      target,
    }),
    80,
  ),
  hostSpread: maybe(fc.record({ maxSkew: fc.integer({ min: 1, max: 3 }), target }), 25),
  antiHost: fc.constantFrom("none", "none", "required", "preferred"),
  antiHostTarget: target,
  antiZone: fc.constantFrom("none", "none", "required", "preferred"),
  antiZoneTarget: fc.integer({ min: 0, max: 5 }),
  affinityZone: fc.constantFrom("none", "none", "required", "preferred"),
  affinityZoneTarget: target,
  affinityHost: fc.constantFrom("none", "none", "none", "required", "preferred"),
  hostPort: maybe(fc.constantFrom(80, 443), 10),
  zone: maybe(fc.constantFrom(...ZONES, ORPHAN_ZONE), 15),
  notZone: maybe(fc.constantFrom(...ZONES), 15),
  preferZone: maybe(fc.constantFrom(...ZONES), 25),
  spot: fc.constantFrom("any", "any", "on-demand", "prefer-spot"),
  tolerates: fc.boolean(),
});
type App = typeof appArb extends fc.Arbitrary<infer T> ? T : never;

const poolArb = fc.record({
  weight: fc.integer({ min: 0, max: 3 }),
  zones: maybe(fc.subarray(ZONES, { minLength: 1 }), 30),
  capacityTypes: maybe(fc.subarray(["spot", "on-demand"], { minLength: 1 }), 30),
  tainted: fc.boolean(),
  cpuLimit: maybe(fc.integer({ min: 0, max: 64 }), 50),
  nodeLimit: maybe(fc.integer({ min: 0, max: 12 }), 40),
});

const nodeArb = fc.record({
  zone: fc.constantFrom(...ZONES, ...ZONES, ORPHAN_ZONE),
  pool: fc.integer({ min: -1, max: 2 }),
  cpu: fc.constantFrom(2, 4, 8),
  spot: fc.boolean(),
  tainted: fc.boolean(),
  cordoned: fc.constantFrom(false, false, false, false, true),
  pods: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 10 }),
  arm64: fc.constantFrom(false, false, false, true),
  state: fc.constantFrom("ready", "ready", "ready", "ready", "inFlight", "deleting"),
});

const typeArb = fc.record({
  cpu: fc.constantFrom(2, 2, 4, 4, 8, 16),
  price: fc.integer({ min: 5, max: 60 }),
  zones: fc.subarray(ZONES, { minLength: 1 }),
  spot: fc.boolean(),
});

/** The inputs the generator draws, before they are built into a cluster. */
export const clusterSpecArb = fc.record({
  apps: fc.array(appArb, { minLength: 1, maxLength: 8 }),
  pools: fc.array(poolArb, { minLength: 1, maxLength: 3 }),
  nodes: fc.array(nodeArb, { maxLength: 20 }),
  types: fc.array(typeArb, { minLength: 1, maxLength: 5 }),
  daemonSets: fc.array(fc.record({ cpu: fc.constantFrom(50, 100, 200), tolerates: fc.boolean() }), {
    maxLength: 2,
  }),
});
export type ClusterSpec = typeof clusterSpecArb extends fc.Arbitrary<infer T> ? T : never;

const appLabel = (i: number) => `app${i}`;

function podOf(name: string, apps: readonly App[], i: number, extra: object = {}): Pod {
  const a = apps[i] as App;
  const label = appLabel(i);
  const other = (t: number | undefined) => (t === undefined ? a : (apps[t % apps.length] as App));
  // By tier: the target app's tier, narrowed to the owner's own app by matchLabelKeys when byTier.
  const sel = (t: number | undefined) =>
    a.byTier === undefined
      ? { matchLabels: { app: t === undefined ? label : appLabel(t % apps.length) } }
      : { matchLabels: { tier: other(t).tier } };
  const matchLabelKeys = a.byTier === true ? ["app"] : [];
  const namespaces =
    a.crossNamespace === undefined
      ? {}
      : { namespaceSelector: a.crossNamespace === "all" ? {} : { matchLabels: { team: "other" } } };
  const zoneTerm = (values: string[], operator: "In" | "NotIn") => ({
    matchExpressions: [{ key: ZONE, operator, values }],
  });
  const required = [
    ...(a.zone === undefined ? [] : [zoneTerm([a.zone], "In")]),
    ...(a.notZone === undefined ? [] : [zoneTerm([a.notZone], "NotIn")]),
  ].flatMap((t) => t.matchExpressions);
  const capacity =
    a.spot === "on-demand"
      ? [{ key: CAPACITY_TYPE, operator: "In", values: ["on-demand"] }]
      : ([] as { key: string; operator: string; values: string[] }[]);
  const preferred = [
    ...(a.preferZone === undefined ? [] : [{ weight: 40, preference: zoneTerm([a.preferZone], "In") }]),
    ...(a.spot === "prefer-spot"
      ? [
          {
            weight: 20,
            preference: { matchExpressions: [{ key: CAPACITY_TYPE, operator: "In", values: ["spot"] }] },
          },
        ]
      : []),
  ];
  const term = (key: string, t: number | undefined) => ({
    topologyKey: key,
    labelSelector: sel(t),
    matchLabelKeys,
    ...namespaces,
  });
  return PodSchema.parse({
    namespace: a.namespace,
    name,
    uid: `uid-${a.namespace}-${name}`,
    creationTimestamp: NOW,
    labels: { app: label, tier: a.tier },
    nodeSelector: a.amd64 ? { "kubernetes.io/arch": "amd64" } : {},
    requests: { cpuMillis: a.cpu, memoryBytes: Math.round(a.memoryGiB * GiB), pods: 1 },
    requiredNodeAffinity:
      required.length + capacity.length === 0 ? [] : [{ matchExpressions: [...required, ...capacity] }],
    preferredNodeAffinity: preferred,
    tolerations: a.tolerates ? [{ key: TAINT.key, operator: "Exists" }] : [],
    topologySpreadConstraints: [
      ...(a.zoneSpread === undefined
        ? []
        : [
            {
              maxSkew: a.zoneSpread.maxSkew,
              minDomains: a.zoneSpread.minDomains,
              topologyKey: ZONE,
              whenUnsatisfiable: a.zoneSpread.when,
              nodeAffinityPolicy: a.zoneSpread.nodeAffinityPolicy,
              nodeTaintsPolicy: a.zoneSpread.nodeTaintsPolicy,
              labelSelector: sel(a.zoneSpread.target),
              matchLabelKeys,
            },
          ]),
      ...(a.hostSpread === undefined
        ? []
        : [
            {
              maxSkew: a.hostSpread.maxSkew,
              topologyKey: HOST,
              whenUnsatisfiable: "DoNotSchedule",
              labelSelector: sel(a.hostSpread.target),
              matchLabelKeys,
            },
          ]),
    ],
    podAntiAffinity: {
      required: [
        ...(a.antiHost === "required" ? [term(HOST, a.antiHostTarget)] : []),
        ...(a.antiZone === "required" && a.antiZoneTarget !== i ? [term(ZONE, a.antiZoneTarget)] : []),
      ],
      preferred: [
        ...(a.antiHost === "preferred" ? [{ weight: 100, term: term(HOST, a.antiHostTarget) }] : []),
        ...(a.antiZone === "preferred" ? [{ weight: 60, term: term(ZONE, a.antiZoneTarget) }] : []),
      ],
    },
    podAffinity: {
      required: [
        ...(a.affinityZone === "required" ? [term(ZONE, a.affinityZoneTarget)] : []),
        ...(a.affinityHost === "required" ? [term(HOST, undefined)] : []),
      ],
      preferred: [
        ...(a.affinityZone === "preferred" ? [{ weight: 80, term: term(ZONE, a.affinityZoneTarget) }] : []),
        ...(a.affinityHost === "preferred" ? [{ weight: 30, term: term(HOST, undefined) }] : []),
      ],
    },
    hostPorts: a.hostPort === undefined ? [] : [{ port: a.hostPort }],
    ...extra,
  });
}

function instanceType(name: string, t: ClusterSpec["types"][number]): InstanceType {
  const r = { cpuMillis: t.cpu * 1000, memoryBytes: t.cpu * 4 * GiB, pods: 58 };
  return {
    name,
    labels: { "node.kubernetes.io/instance-type": name, "kubernetes.io/arch": "amd64" },
    capacity: r,
    allocatable: { ...r, cpuMillis: r.cpuMillis - 100 },
    offerings: t.zones.flatMap((zone) => [
      { zone, capacityType: "on-demand" as const, pricePerHour: (t.price * t.cpu) / 400, available: true },
      ...(t.spot
        ? [{ zone, capacityType: "spot" as const, pricePerHour: (t.price * t.cpu) / 1000, available: true }]
        : []),
    ]),
  };
}

/** Builds the cluster a spec describes. */
export function buildCluster(spec: ClusterSpec): ProvisioningInput {
  const { apps, pools, types } = spec;
  const pods: Pod[] = [];
  apps.forEach((a, i) => {
    for (let r = 0; r < a.replicas; r++) pods.push(podOf(`app${i}-${r}`, apps, i));
  });
  const nodePools: NodePool[] = pools.map((p, k) =>
    NodePoolSchema.parse({
      name: `pool${k}`,
      weight: p.weight,
      template: {
        taints: p.tainted ? [TAINT] : [],
        requirements: [
          ...(p.zones === undefined ? [] : [{ key: ZONE, operator: "In", values: p.zones }]),
          ...(p.capacityTypes === undefined
            ? []
            : [{ key: CAPACITY_TYPE, operator: "In", values: p.capacityTypes }]),
        ],
      },
      limits: {
        ...(p.cpuLimit === undefined ? {} : { cpuMillis: p.cpuLimit * 1000 }),
        ...(p.nodeLimit === undefined ? {} : { nodes: p.nodeLimit }),
      },
    }),
  );
  const nodes: Node[] = [];
  let running = 0;
  spec.nodes.forEach((n, k) => {
    const name = `node-${k}`;
    const pool = n.pool >= 0 && n.pool < pools.length ? `pool${n.pool}` : undefined;
    const size = { cpuMillis: n.cpu * 1000, memoryBytes: n.cpu * 4 * GiB, pods: 58 };
    const allocatable = { ...size, cpuMillis: size.cpuMillis - 100 };
    nodes.push(
      NodeSchema.parse({
        name,
        createdAt: NOW,
        labels: {
          [ZONE]: n.zone,
          [HOST]: name,
          [CAPACITY_TYPE]: n.spot ? "spot" : "on-demand",
          "node.kubernetes.io/instance-type": `existing-${n.cpu}`,
          "kubernetes.io/arch": n.arm64 ? "arm64" : "amd64",
          ...(pool === undefined ? {} : { [NODEPOOL]: pool }),
        },
        taints: n.tainted ? [TAINT] : [],
        unschedulable: n.cordoned,
        inFlight: n.state === "inFlight",
        deleting: n.state === "deleting",
        capacity: size,
        allocatable,
        ...(pool === undefined ? {} : { nodePool: pool }),
        zone: n.zone,
        capacityType: n.spot ? "spot" : "on-demand",
        pricePerHour: n.cpu * 0.04,
      }),
    );
    // Pods of the apps already running there, as many as fit (they carry their app's constraints).
    if (n.state === "inFlight") return;
    let cpu = 0;
    let memory = 0;
    for (const i of n.pods) {
      const a = apps[i % apps.length] as App;
      const m = Math.round(a.memoryGiB * GiB);
      if (cpu + a.cpu > allocatable.cpuMillis || memory + m > allocatable.memoryBytes) continue;
      cpu += a.cpu;
      memory += m;
      pods.push(
        podOf(`running-${running++}`, apps, i % apps.length, {
          nodeName: name,
          phase: "Running",
          provisionable: false,
        }),
      );
    }
  });
  return {
    pods,
    nodes,
    nodePools,
    instanceTypes: types.map((t, k) => instanceType(`t${k}`, t)),
    daemonSets: spec.daemonSets.map((d, k) =>
      DaemonSetSchema.parse({
        namespace: "kube-system",
        name: `ds${k}`,
        requests: { cpuMillis: d.cpu, memoryBytes: 128 * 1024 ** 2, pods: 1 },
        tolerations: d.tolerates ? [{ operator: "Exists" }] : [],
      }),
    ),
    namespaces: [
      { name: "default", labels: {} },
      { name: "other", labels: { team: "other" } },
    ],
    now: NOW,
  };
}

/** Random clusters with existing nodes, limits and preferences. */
export const randomClusterArb = clusterSpecArb.map(buildCluster);
