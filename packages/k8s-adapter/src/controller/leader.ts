import { CoordinationV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import { describe } from "./informers.ts";

/** Leader election settings (client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry). */
export interface LeaderElectionOptions {
  namespace: string;
  leaseName: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/** Holds (or waits for) a coordination.k8s.io/v1 Lease. */
export interface LeaderElector {
  /** True only while the Lease is held and was renewed within the renew deadline. */
  isLeader(): boolean;
  stop(): Promise<void>;
}

const statusOf = (err: unknown) => (err as { code?: unknown }).code;
const microTime = (ms: number) => new Date(ms);

/**
 * client-go's leaderelection over a Lease: acquire when absent or expired, renew every retry period,
 * take over once the holder has not renewed for the lease duration (measured on this replica's clock
 * from when it last saw the record change, as client-go does, so clock skew does not matter). A
 * replica that cannot renew within the renew deadline, or sees another holder, stops leading at once:
 * `isLeader()` is what every write checks.
 */
export function startLeaderElection(
  kc: KubeConfig,
  options: LeaderElectionOptions,
  events: { onStart?: () => void; onStop?: () => void; log?: (m: string) => void; now?: () => number } = {},
): LeaderElector {
  const api = kc.makeApiClient(CoordinationV1Api);
  const durationMs = options.leaseDurationMs ?? 15_000;
  const deadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryMs = options.retryPeriodMs ?? 2_000;
  const now = events.now ?? Date.now;
  const log = events.log ?? (() => {});
  const { namespace, leaseName: name, identity } = options;
  let leading = false;
  let lastRenew = 0;
  let observed: { record: string; at: number } | undefined;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const setLeading = (value: boolean) => {
    if (value === leading) return;
    leading = value;
    log(value ? `acquired Lease ${namespace}/${name} as ${identity}` : `lost Lease ${namespace}/${name}`);
    (value ? events.onStart : events.onStop)?.();
  };
  const spec = (transitions: number, acquiredAt: Date) => ({
    holderIdentity: identity,
    leaseDurationSeconds: Math.ceil(durationMs / 1000),
    acquireTime: acquiredAt,
    renewTime: microTime(now()),
    leaseTransitions: transitions,
  });

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      await api.createNamespacedLease({
        namespace,
        body: { metadata: { name, namespace }, spec: spec(0, microTime(now())) },
      });
      return true;
    }
    const s = lease.spec ?? {};
    const record = JSON.stringify([s.holderIdentity, s.renewTime, s.leaseTransitions]);
    if (observed?.record !== record) observed = { record, at: now() };
    const holder = s.holderIdentity ?? "";
    const expired = observed.at + (s.leaseDurationSeconds ?? 0) * 1000 <= now();
    if (holder !== "" && holder !== identity && !expired) return false;
    const mine = holder === identity;
    const body = {
      ...lease,
      spec: spec(
        (s.leaseTransitions ?? 0) + (mine ? 0 : 1),
        mine && s.acquireTime ? s.acquireTime : microTime(now()),
      ),
    };
    // The resourceVersion makes this a compare-and-swap: a concurrent taker gets 409.
    const updated = await api.replaceNamespacedLease({ name, namespace, body });
    observed = {
      record: JSON.stringify([identity, updated.spec?.renewTime, updated.spec?.leaseTransitions]),
      at: now(),
    };
    return true;
  };

  const loop = async () => {
    if (stopped) return;
    try {
      const held = await tryAcquireOrRenew();
      if (stopped) return;
      if (held) {
        lastRenew = now();
        setLeading(true);
      } else setLeading(false);
    } catch (err) {
      log(`Lease ${namespace}/${name}: ${describe(err)}`);
      if (statusOf(err) === 409) setLeading(false);
    }
    if (leading && now() - lastRenew > deadlineMs) setLeading(false);
    if (!stopped) timer = setTimeout(() => void loop(), retryMs);
  };
  void loop();

  return {
    isLeader: () => leading && !stopped && now() - lastRenew <= deadlineMs,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      if (leading) {
        // Release: an empty holder lets a standby take over without waiting for expiry.
        try {
          const lease = await api.readNamespacedLease({ name, namespace });
          if (lease.spec?.holderIdentity === identity)
            await api.replaceNamespacedLease({
              name,
              namespace,
              body: { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 } },
            });
        } catch (err) {
          log(`releasing Lease ${namespace}/${name}: ${describe(err)}`);
        }
        setLeading(false);
      }
    },
  };
}
