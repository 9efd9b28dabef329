import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { withPooledConnections } from "./connections.ts";
import { FakeApiServer } from "./testing/fake-apiserver.ts";
import { ClusterWriter } from "./writer.ts";

describe("API connections", () => {
  let api: FakeApiServer;
  beforeEach(async () => {
    api = await FakeApiServer.start();
  });
  afterEach(async () => {
    await api.close();
  });

  const writeMany = async (pooled: boolean) => {
    const kc = api.kubeConfig();
    const writer = new ClusterWriter(pooled ? withPooledConnections(kc) : kc, {
      canWrite: () => true,
      component: "nodeplan",
      instance: "test",
      now: Date.now,
    });
    const before = api.connections;
    for (let i = 0; i < 40; i++)
      await writer.event(
        { apiVersion: "v1", kind: "Pod", name: `p${i}`, namespace: "default" },
        "Test",
        `message ${i} (pooled: ${pooled})`,
      );
    return api.connections - before;
  };

  it("are reused across requests (client-node alone opens one per request)", async () => {
    expect(await writeMany(false)).toBeGreaterThanOrEqual(40);
    expect(await writeMany(true)).toBeLessThanOrEqual(2);
    expect(api.list("v1", "Event")).toHaveLength(80);
  });
});
