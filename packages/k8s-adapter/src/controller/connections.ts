import { createHash } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";

type Dispatcher = unknown;
type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => Dispatcher;

const pooled = new WeakSet<KubeConfig>();

/**
 * Keeps API connections open between requests. @kubernetes/client-node 2.0 makes a new undici Agent,
 * and so a new TCP (and TLS) connection, for every request; a controller writing thousands of
 * objects in a pass then spends its time and memory connecting. This reuses one Agent per cluster and
 * TLS material (new credentials, say rotated client certificates, get a new Agent). Changes `kc`
 * in place (once) and returns it.
 */
export function withPooledConnections(kc: KubeConfig): KubeConfig {
  if (pooled.has(kc)) return kc;
  const target = kc as unknown as { createDispatcher?: CreateDispatcher };
  const create = target.createDispatcher;
  if (typeof create !== "function") return kc; // another client-node: nothing to pool
  const agents = new Map<string, Dispatcher>();
  target.createDispatcher = (cluster, agentOptions) => {
    const c = (cluster ?? {}) as { server?: string; proxyUrl?: string };
    const hash = createHash("sha256");
    hash.update(`${c.server ?? ""}\0${c.proxyUrl ?? ""}\0`);
    for (const k of ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"]) {
      const v = agentOptions[k];
      hash.update(`${k}=`);
      if (v !== undefined) hash.update(Buffer.isBuffer(v) ? v : String(v));
      hash.update("\0");
    }
    const key = hash.digest("hex");
    let agent = agents.get(key);
    if (agent === undefined) {
      agent = create.call(kc, cluster, agentOptions);
      // Credentials rotate rarely; a handful of entries is the most there will be.
      if (agents.size > 8) agents.clear();
      agents.set(key, agent);
    }
    return agent;
  };
  pooled.add(kc);
  return kc;
}
