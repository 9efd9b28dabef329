import { ApiException, CoordinationV1Api, CoreV1Api, CustomObjectsApi, Watch } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Informers, startInformers } from "../informers.ts";
import { FakeApiServer } from "./fake-apiserver.ts";

const until = async (check: () => boolean, timeoutMs = 5000) => {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
};
const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", labels },
  spec: { containers: [{ name: "c", image: "x" }] },
  status: { phase: "Running" },
});

describe("fake apiserver through @kubernetes/client-node", () => {
  let api: FakeApiServer;
  let informers: Informers | undefined;
  beforeEach(async () => {
    api = await FakeApiServer.start();
  });
  afterEach(async () => {
    await informers?.stop();
    informers = undefined;
    await api.close();
  });

  it("informers list in pages (limit/continue) as plain JSON, and miss no object", async () => {
    for (let i = 0; i < 7; i++) api.put(pod(`p${i}`));
    informers = await startInformers(api.kubeConfig(), { onChange: () => {}, pageSize: 3 });
    await until(() => informers?.synced() === true);
    const pods = informers.list("Pod");
    expect(pods.map((o) => o.metadata.name).sort()).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
    expect(Object.getPrototypeOf(pods[0])).toBe(Object.prototype);
    expect(typeof pods[0]?.metadata.creationTimestamp).toBe("string");
    const pages = api.requests.filter((r) => r.path === "/api/v1/pods" && r.query.includes("limit=3"));
    expect(pages).toHaveLength(3);
    expect(pages.filter((r) => r.query.includes("continue="))).toHaveLength(2);
    api.put({ ...pod("p7"), spec: { nodeName: "n1", containers: [{ name: "c", image: "x" }] } });
    await until(() => informers?.podsOn("n1").length === 1);
  });

  it("lists and watches; after a restart with compaction it re-lists (410) and misses nothing", async () => {
    api.put(pod("a"));
    informers = await startInformers(api.kubeConfig(), {
      onChange: () => {},
      backoffMs: 20,
      maxBackoffMs: 100,
    });
    const names = () =>
      informers
        ?.snapshot()
        .filter((o) => o.kind === "Pod")
        .map((o) => o.metadata.name)
        .sort() ?? [];
    await until(() => informers?.synced() === true && names().length === 1);
    api.put(pod("b"));
    await until(() => names().join() === "a,b");

    // While down: b deleted, c created. The stale resourceVersion forces a re-list.
    const restarting = api.restart({ downMs: 100 });
    api.remove("v1", "Pod", "b", "default");
    api.put(pod("c"));
    await restarting;
    await until(() => names().join() === "a,c");
    expect(api.requests.some((r) => r.path === "/api/v1/pods" && r.query.includes("watch") === false)).toBe(
      true,
    );
    const lists = api.requests.filter((r) => r.path === "/api/v1/pods" && !r.query.includes("watch"));
    expect(lists.length).toBeGreaterThanOrEqual(2);
  });

  it("resumes a dropped watch from its resourceVersion without re-listing", async () => {
    informers = await startInformers(api.kubeConfig(), { onChange: () => {}, backoffMs: 20 });
    await until(() => informers?.synced() === true);
    const listsBefore = api.requests.filter(
      (r) => r.path === "/api/v1/nodes" && !r.query.includes("watch"),
    ).length;
    api.dropConnections();
    api.put({ apiVersion: "v1", kind: "Node", metadata: { name: "n1" } });
    await until(() => informers?.snapshot().some((o) => o.kind === "Node") === true);
    const listsAfter = api.requests.filter(
      (r) => r.path === "/api/v1/nodes" && !r.query.includes("watch"),
    ).length;
    expect(listsAfter).toBe(listsBefore);
  });

  it("streams watch events as JSON lines from a resourceVersion, and a 410 Expired ERROR once compacted", async () => {
    api.put(pod("a"));
    const from = String(api.resourceVersion);
    api.put(pod("b"));
    const watch = new Watch(api.kubeConfig());
    const seen: [string, unknown][] = [];
    let done = false;
    await watch.watch(
      "/api/v1/namespaces/default/pods",
      { resourceVersion: from },
      (type, obj: { metadata?: { name?: string } }) => seen.push([type, obj.metadata?.name]),
      () => {
        done = true;
      },
    );
    await until(() => seen.length === 1);
    api.remove("v1", "Pod", "a", "default");
    await until(() => seen.length === 2);
    expect(seen).toEqual([
      ["ADDED", "b"],
      ["DELETED", "a"],
    ]);
    api.compact();
    const expired: unknown[] = [];
    await watch.watch(
      "/api/v1/pods",
      { resourceVersion: from },
      (type, obj) => expired.push([type, obj]),
      () => {},
    );
    await until(() => expired.length === 1);
    expect(expired[0]).toMatchObject(["ERROR", { kind: "Status", code: 410, reason: "Expired" }]);
    api.dropConnections();
    await until(() => done);
  });

  it("answers 409 on a stale resourceVersion and on an existing name", async () => {
    const kc = api.kubeConfig();
    const leases = kc.makeApiClient(CoordinationV1Api);
    const body = { metadata: { name: "l", namespace: "ns" }, spec: { holderIdentity: "a" } };
    const created = await leases.createNamespacedLease({ namespace: "ns", body });
    await expect(leases.createNamespacedLease({ namespace: "ns", body })).rejects.toMatchObject({
      code: 409,
    });
    await leases.replaceNamespacedLease({
      name: "l",
      namespace: "ns",
      body: { ...created, spec: { holderIdentity: "b" } },
    });
    await expect(
      leases.replaceNamespacedLease({
        name: "l",
        namespace: "ns",
        body: { ...created, spec: { holderIdentity: "c" } },
      }),
    ).rejects.toBeInstanceOf(ApiException);
    expect((await leases.readNamespacedLease({ name: "l", namespace: "ns" })).spec?.holderIdentity).toBe("b");
  });

  it("writes status only through the status subresource", async () => {
    const custom = api.kubeConfig().makeApiClient(CustomObjectsApi);
    const ref = { group: "karpenter.sh", version: "v1", plural: "nodeclaims" };
    await custom.createClusterCustomObject({
      ...ref,
      body: {
        apiVersion: "karpenter.sh/v1",
        kind: "NodeClaim",
        metadata: { name: "c" },
        spec: {},
        status: { providerID: "x" },
      },
    });
    expect(api.get("karpenter.sh/v1", "NodeClaim", "c")?.status).toBeUndefined();
    const current = await custom.getClusterCustomObject({ ...ref, name: "c" });
    await custom.replaceClusterCustomObjectStatus({
      ...ref,
      name: "c",
      body: { ...current, status: { providerID: "aws:///i-1" } },
    });
    expect(api.get("karpenter.sh/v1", "NodeClaim", "c")?.status).toEqual({ providerID: "aws:///i-1" });
  });

  it("evicts within the PDB's disruptionsAllowed and answers 429 beyond it", async () => {
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    api.put(pod("p1", { app: "web" }));
    api.put(pod("p2", { app: "web" }));
    api.put({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: "default" },
      spec: { selector: { matchLabels: { app: "web" } }, maxUnavailable: 1 },
      status: { disruptionsAllowed: 1 },
    });
    const evict = (name: string) =>
      core.createNamespacedPodEviction({
        name,
        namespace: "default",
        body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: "default" } },
      });
    await evict("p1");
    expect(api.get("v1", "Pod", "p1", "default")).toBeUndefined();
    await expect(evict("p2")).rejects.toMatchObject({ code: 429 });
    expect(api.get("v1", "Pod", "p2", "default")).toBeDefined();
  });
});
