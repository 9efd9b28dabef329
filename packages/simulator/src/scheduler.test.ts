import { describe, expect, test } from "vitest";
import { app, basePod, place, simNode, simPod, view } from "./fixtures.test-helper.ts";
import { Rng } from "./rng.ts";
import { feasibleToFind, KubeScheduler, SelectorIndex } from "./scheduler.ts";

const GiB = 1024 ** 3;
const scheduler = () => new KubeScheduler(new Rng(1, "test"));

describe("kube-scheduler scoring, by hand", () => {
  test("LeastAllocated prefers the emptier node; BalancedAllocation is 100 when cpu and memory are used alike", () => {
    const a = simNode("a");
    const b = simNode("b");
    place(simPod(basePod({ requests: { cpuMillis: 1000, memoryBytes: 2 * GiB, pods: 1 } })), a);
    const pod = simPod(basePod({ labels: { app: "other" } }));
    const [sa, sb] = scheduler().scores(pod, [a, b], view([a, b]));
    // a: cpu (4000 - 1500) / 4000 = 62.5 -> 62, memory (8 - 3) / 8 -> 62; b: 87 and 87.
    expect(sa).toMatchObject({ leastAllocated: 62, balancedAllocation: 100, taintToleration: 100 });
    expect(sb).toMatchObject({ leastAllocated: 87, balancedAllocation: 100, taintToleration: 100 });
    // Totals: fit x1 + balanced x1 + taints x3 (+ 0 for the rest).
    expect(sa?.total).toBe(62 + 100 + 300);
    expect(sb?.total).toBe(87 + 100 + 300);
    expect(scheduler().schedule(pod, view([a, b]))?.name).toBe("b");
  });

  test("BalancedAllocation: 1 - |cpu fraction - memory fraction| / 2", () => {
    const a = simNode("a", { cpu: 4, memoryGiB: 16 });
    const b = simNode("b", { cpu: 4, memoryGiB: 16 });
    place(simPod(basePod({ requests: { cpuMillis: 3000, memoryBytes: GiB, pods: 1 } })), a);
    const pod = simPod(basePod({ labels: { app: "other" } }));
    const [sa, sb] = scheduler().scores(pod, [a, b], view([a, b]));
    // a: cpu 3500/4000 = 0.875, memory 2/16 = 0.125 -> 1 - 0.375 = 62.5 -> 62; b: 0.125 and 0.0625 -> 96.
    expect(sa?.balancedAllocation).toBe(62);
    expect(sb?.balancedAllocation).toBe(96);
  });

  test("PreferNoSchedule taints score (reversed), NoSchedule taints filter", () => {
    const soft = simNode("soft", { taints: [{ key: "spot", effect: "PreferNoSchedule" }] });
    const hard = simNode("hard", { taints: [{ key: "gpu", effect: "NoSchedule" }] });
    const plain = simNode("plain");
    const pod = simPod(basePod({ labels: { app: "other" } }));
    const v = view([soft, hard, plain]);
    expect(scheduler().fits(pod, hard, v)).toBe(false);
    expect(scheduler().fits(pod, soft, v)).toBe(true);
    const [s1, s2] = scheduler().scores(pod, [soft, plain], v);
    expect(s1?.taintToleration).toBe(0);
    expect(s2?.taintToleration).toBe(100);
  });

  test("NodeAffinity: preferred terms' weights, normalized by the best node", () => {
    const a = simNode("a", { zone: "z1" });
    const b = simNode("b", { zone: "z2" });
    const pod = simPod(
      basePod({
        labels: { app: "other" },
        preferredNodeAffinity: [
          {
            weight: 50,
            preference: {
              matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: ["z2"] }],
            },
          },
          {
            weight: 10,
            preference: {
              matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["amd64"] }],
            },
          },
        ],
      }),
    );
    const [sa, sb] = scheduler().scores(pod, [a, b], view([a, b]));
    expect(sa?.nodeAffinity).toBe(16); // 100 x 10 / 60
    expect(sb?.nodeAffinity).toBe(100);
  });

  test("a workload's pods spread by Kubernetes' default constraints (hostname maxSkew 3, zone maxSkew 5)", () => {
    const index = new SelectorIndex();
    const a = simNode("a", { zone: "z1" });
    const b = simNode("b", { zone: "z2" });
    const template = basePod({ labels: { app: "web" } });
    const web = app("web", template, 3);
    const v = view([a, b], index);
    // Register the app's selector before its pods land, as the simulation does on first use.
    index.perNode("default", web.selector, [a, b]);
    place(simPod(basePod({ labels: { app: "web" } }), web), a, index);
    place(simPod(basePod({ labels: { app: "web" } }), web), a, index);
    const [sa, sb] = scheduler().scores(simPod(template, web), [a, b], v);
    // a: 2 x ln 4 + (3 - 1) for the hostname, 2 x ln 4 + (5 - 1) for the zone = 11.5 -> 12; b: 2 + 4 = 6.
    // Normalized: 100 x (12 + 6 - s) / 12 -> a 50, b 100.
    expect(sa?.podTopologySpread).toBe(50);
    expect(sb?.podTopologySpread).toBe(100);
  });
});

describe("kube-scheduler filters", () => {
  test("a DoNotSchedule zone spread keeps the pod out of the crowded zone", () => {
    const index = new SelectorIndex();
    const a = simNode("a", { zone: "z1" });
    const b = simNode("b", { zone: "z2" });
    const spread = {
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: "DoNotSchedule",
          labelSelector: { matchLabels: { app: "web" } },
        },
      ],
    };
    place(simPod(basePod(spread)), a, index);
    place(simPod(basePod(spread)), a, index);
    const pod = simPod(basePod(spread));
    const v = view([a, b], index);
    expect(scheduler().fits(pod, a, v)).toBe(false); // 2 + 1 - 0 > 1
    expect(scheduler().fits(pod, b, v)).toBe(true);
  });

  test("required anti-affinity on the hostname, both ways", () => {
    const a = simNode("a");
    const b = simNode("b");
    const anti = {
      podAntiAffinity: {
        required: [{ labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" }],
      },
    };
    place(simPod(basePod({ labels: { app: "web" } })), a);
    const v = view([a, b]);
    expect(scheduler().fits(simPod(basePod({ ...anti, labels: { app: "x" } })), a, v)).toBe(false);
    expect(scheduler().fits(simPod(basePod({ ...anti, labels: { app: "x" } })), b, v)).toBe(true);
    // An existing pod's anti-affinity repels a matching newcomer from its node.
    place(simPod(basePod({ ...anti, labels: { app: "guard" } })), b);
    expect(scheduler().fits(simPod(basePod({ labels: { app: "web" } })), b, view([a, b]))).toBe(false);
  });

  test("resources: a pod fits only where requests leave room", () => {
    const a = simNode("a", { cpu: 1 });
    place(simPod(basePod({ requests: { cpuMillis: 800, memoryBytes: GiB, pods: 1 } })), a);
    expect(scheduler().fits(simPod(basePod()), a, view([a]))).toBe(false);
    expect(
      scheduler().fits(
        simPod(basePod({ requests: { cpuMillis: 200, memoryBytes: GiB, pods: 1 } })),
        a,
        view([a]),
      ),
    ).toBe(true);
  });

  test("large clusters are searched in part, as kube-scheduler's adaptive percentage says", () => {
    expect(feasibleToFind(50)).toBe(50);
    expect(feasibleToFind(100)).toBe(100);
    expect(feasibleToFind(1000)).toBe(420); // 50 - 1000/125 = 42%
    expect(feasibleToFind(5000)).toBe(500); // 10%
    expect(feasibleToFind(10000)).toBe(500); // at least 5%
  });
});
