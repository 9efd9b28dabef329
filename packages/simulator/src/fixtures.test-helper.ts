import { type Pod, PodSchema, type Taint, ZERO_COSTS } from "@nodeplan/core";
import { addInto, nonZeroRequests, type SimNode, type SimPod } from "./cluster.ts";
import { type SchedulerView, SelectorIndex } from "./scheduler.ts";
import type { App } from "./workloads.ts";

/** Small hand-made nodes and pods for the simulator's unit tests. */

const GiB = 1024 ** 3;
let seq = 0;

export function simNode(
  name: string,
  opts: {
    cpu?: number;
    memoryGiB?: number;
    zone?: string;
    taints?: Taint[];
    labels?: Record<string, string>;
  } = {},
): SimNode {
  const zone = opts.zone ?? "z1";
  const allocatable = {
    cpuMillis: (opts.cpu ?? 4) * 1000,
    memoryBytes: (opts.memoryGiB ?? 8) * GiB,
    pods: 110,
  };
  return {
    name,
    nodePool: "default",
    instanceType: "t",
    zone,
    capacityType: "on-demand",
    pricePerHour: 0.1,
    costs: { ...ZERO_COSTS, instancePerHour: 0.1 },
    labels: {
      "kubernetes.io/hostname": name,
      "topology.kubernetes.io/zone": zone,
      "kubernetes.io/arch": "amd64",
      ...opts.labels,
    },
    annotations: {},
    taints: opts.taints ?? [],
    capacity: { ...allocatable },
    allocatable,
    requested: {},
    nonZero: { cpuMillis: 0, memoryBytes: 0 },
    providerID: `sim:///${name}`,
    image: "ami",
    state: "ready",
    claim: undefined,
    createdMs: 0,
    billedSinceMs: 0,
    unschedulable: false,
    pods: new Set(),
    lastPodEventMs: 0,
    expireAfter: undefined,
    launchFailure: undefined,
    interruptionDeadlineMs: undefined,
    version: 0,
    model: undefined,
    order: 0,
  };
}

export function basePod(extra: Record<string, unknown> = {}): Pod {
  seq++;
  return PodSchema.parse({
    namespace: "default",
    name: `p${seq}`,
    uid: `u${seq}`,
    creationTimestamp: "2026-11-02T00:00:00Z",
    requests: { cpuMillis: 500, memoryBytes: GiB, pods: 1 },
    labels: { app: "web" },
    ...extra,
  });
}

export function simPod(base: Pod, app?: App): SimPod {
  seq++;
  return {
    seq,
    key: `${base.namespace}/${base.name}`,
    namespace: base.namespace,
    name: base.name,
    app,
    revision: app?.current.hash,
    ordinal: undefined,
    daemonSet: undefined,
    base,
    state: "pending",
    node: undefined,
    createdMs: 0,
    pendingSinceMs: 0,
    boundMs: undefined,
    readyMs: undefined,
    nominatedNode: undefined,
    evicted: false,
    model: undefined,
    failedAtVersion: -1,
  };
}

/** Binds `pod` to `node` as the simulation does (requests and the selector index follow). */
export function place(pod: SimPod, node: SimNode, index?: SelectorIndex): SimPod {
  pod.node = node;
  pod.state = "ready";
  pod.readyMs = 0;
  node.pods.add(pod);
  addInto(node.requested, pod.base.requests);
  const nz = nonZeroRequests(pod.base);
  node.nonZero.cpuMillis += nz.cpuMillis;
  node.nonZero.memoryBytes += nz.memoryBytes;
  index?.update(pod, node, 1);
  return pod;
}

export function view(nodes: SimNode[], index = new SelectorIndex()): SchedulerView {
  const withAffinity = new Set<SimPod>();
  for (const n of nodes)
    for (const p of n.pods)
      if (
        p.base.podAffinity.required.length +
          p.base.podAffinity.preferred.length +
          p.base.podAntiAffinity.required.length +
          p.base.podAntiAffinity.preferred.length >
        0
      )
        withAffinity.add(p);
  return { index, nodes, namespaceLabels: () => undefined, podsWithAffinity: () => withAffinity };
}

/** A Deployment-shaped app for tests. */
export function app(name: string, template: Pod, replicas: number, extra: Partial<App> = {}): App {
  const revision = { hash: "rev1", template };
  return {
    kind: "Deployment",
    namespace: template.namespace,
    name,
    key: `${template.namespace}/${name}`,
    selector: { matchLabels: { ...template.labels }, matchExpressions: [] },
    replicas,
    current: revision,
    revisions: new Map([[revision.hash, revision]]),
    strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: "25%" },
    podManagementPolicy: "OrderedReady",
    partition: 0,
    minReadySeconds: 0,
    terminationGraceSeconds: 30,
    timing: { start: { fixed: 1 }, ready: { fixed: 1 }, shutdown: { fixed: 1 } },
    pods: new Set(),
    nextIndex: 0,
    raw: {},
    ...extra,
  };
}
