/**
 * The HorizontalPodAutoscaler's algorithm (pkg/controller/podautoscaler: horizontal.go,
 * replica_calculator.go) for a CPU utilization target, and an app's load curve.
 */

/** One scaling direction's behavior (autoscaling/v2 HPAScalingRules). */
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: "Max" | "Min" | "Disabled";
  policies: { type: "Pods" | "Percent"; value: number; periodSeconds: number }[];
}

/** What an HPA is configured with. */
export interface HpaSpec {
  namespace: string;
  name: string;
  target: { kind: string; name: string };
  minReplicas: number;
  maxReplicas: number;
  /** spec.metrics' cpu averageUtilization (percent of requests); 80 when the HPA names no metric. */
  targetUtilization: number;
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** Kubernetes' defaults (autoscaling/v2 SetDefaults_HorizontalPodAutoscalerBehavior). */
export const DEFAULT_SCALE_UP: ScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
};
export const DEFAULT_SCALE_DOWN: ScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
};

/** The HPA controller's resync period and tolerance (kube-controller-manager defaults). */
export const HPA_SYNC_SECONDS = 15;
export const HPA_TOLERANCE = 0.1;

/** What the HPA sees of its target at a sync. */
export interface HpaSample {
  /** spec.replicas now. */
  replicas: number;
  /** Ready pods (they have CPU metrics). */
  ready: number;
  /** Pods of the target that are not Ready (no usable metrics). */
  notReady: number;
  /** CPU request of one pod (millicores). */
  requestMillis: number;
  /** CPU the app uses in total (millicores), spread over its Ready pods. */
  usageMillis: number;
}

/** An HPA's memory: past recommendations (stabilization) and scale events (rate limits). */
export class Hpa {
  readonly spec: HpaSpec;
  private recommendations: { atMs: number; replicas: number }[] = [];
  private events: { atMs: number; delta: number }[] = [];

  constructor(spec: HpaSpec) {
    this.spec = spec;
  }

  /** One sync: the replicas to set, or undefined to leave spec.replicas as it is. */
  sync(nowMs: number, s: HpaSample): number | undefined {
    const spec = this.spec;
    // A target scaled to 0 by hand has autoscaling disabled (minReplicas > 0).
    if (s.replicas === 0 && spec.minReplicas !== 0) return undefined;
    const raw = desiredFromUtilization(s, spec.targetUtilization);
    if (raw === undefined) return undefined;
    const bounded = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, raw));
    const stabilized = this.stabilize(nowMs, s.replicas, bounded);
    const limited = this.limit(nowMs, s.replicas, stabilized);
    if (limited === s.replicas) return undefined;
    this.events.push({ atMs: nowMs, delta: limited - s.replicas });
    return limited;
  }

  /** normalizeDesiredReplicasWithBehaviors' stabilization: the window's most cautious recommendation. */
  private stabilize(nowMs: number, current: number, recommendation: number): number {
    const upCutoff = nowMs - this.spec.scaleUp.stabilizationWindowSeconds * 1000;
    const downCutoff = nowMs - this.spec.scaleDown.stabilizationWindowSeconds * 1000;
    let up = recommendation;
    let down = recommendation;
    for (const r of this.recommendations) {
      if (r.atMs > upCutoff) up = Math.min(up, r.replicas);
      if (r.atMs > downCutoff) down = Math.max(down, r.replicas);
    }
    const keep = Math.max(
      this.spec.scaleUp.stabilizationWindowSeconds,
      this.spec.scaleDown.stabilizationWindowSeconds,
    );
    this.recommendations = this.recommendations.filter((r) => r.atMs > nowMs - keep * 1000);
    this.recommendations.push({ atMs: nowMs, replicas: recommendation });
    let out = current;
    if (out < up) out = up;
    if (out > down) out = down;
    return out;
  }

  /** convertDesiredReplicasWithBehaviorRate: the policies' limits on how fast replicas change. */
  private limit(nowMs: number, current: number, desired: number): number {
    const spec = this.spec;
    if (desired > current) {
      const rules = spec.scaleUp;
      if (rules.selectPolicy === "Disabled") return current;
      let limit = rules.selectPolicy === "Min" ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
      for (const p of rules.policies) {
        const added = this.changed(nowMs, p.periodSeconds, 1);
        const start = current - added;
        const l = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
        limit = rules.selectPolicy === "Min" ? Math.min(limit, l) : Math.max(limit, l);
      }
      return Math.min(desired, limit, spec.maxReplicas);
    }
    if (desired < current) {
      const rules = spec.scaleDown;
      if (rules.selectPolicy === "Disabled") return current;
      let limit = rules.selectPolicy === "Min" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
      for (const p of rules.policies) {
        const removed = this.changed(nowMs, p.periodSeconds, -1);
        const start = current + removed;
        const l = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
        limit = rules.selectPolicy === "Min" ? Math.max(limit, l) : Math.min(limit, l);
      }
      return Math.max(desired, limit, spec.minReplicas);
    }
    return current;
  }

  /** Replicas added (sign 1) or removed (sign -1) by this HPA within the last `periodSeconds`. */
  private changed(nowMs: number, periodSeconds: number, sign: 1 | -1): number {
    const cutoff = nowMs - periodSeconds * 1000;
    this.events = this.events.filter((e) => e.atMs > nowMs - 3_600_000);
    let sum = 0;
    for (const e of this.events) if (e.atMs > cutoff && Math.sign(e.delta) === sign) sum += Math.abs(e.delta);
    return sum;
  }
}

/**
 * GetResourceReplicas for a cpu utilization target: usage over requests of the Ready pods; beyond the
 * 10% tolerance, ceil(ratio x Ready pods). Pods without metrics count as using nothing on a scale-up and
 * as at the target on a scale-down, and a recount that flips direction or falls within tolerance keeps
 * the current replicas. Undefined when no pod has metrics.
 */
export function desiredFromUtilization(s: HpaSample, targetPercent: number): number | undefined {
  if (s.ready === 0 || s.requestMillis <= 0) return undefined;
  const target = targetPercent / 100;
  const ratio = s.usageMillis / (s.ready * s.requestMillis) / target;
  if (s.notReady === 0) {
    if (Math.abs(1 - ratio) <= HPA_TOLERANCE) return s.replicas;
    return Math.ceil(ratio * s.ready);
  }
  if (Math.abs(1 - ratio) <= HPA_TOLERANCE) return s.replicas;
  const pods = s.ready + s.notReady;
  // Scale-up: pods without metrics use 0%; scale-down: they use max(100%, target).
  const assumed = ratio > 1 ? 0 : s.notReady * s.requestMillis * Math.max(1, target);
  const newRatio = (s.usageMillis + assumed) / (pods * s.requestMillis) / target;
  if (Math.abs(1 - newRatio) <= HPA_TOLERANCE || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1))
    return s.replicas;
  const replicas = Math.ceil(newRatio * pods);
  if ((newRatio < 1 && replicas > s.replicas) || (newRatio > 1 && replicas < s.replicas)) return s.replicas;
  return replicas;
}

/** An app's CPU use over time: linear between points (offsets from the start), optionally repeating. */
export class LoadCurve {
  private readonly points: { atMs: number; cores: number }[];
  private readonly periodMs: number | undefined;
  readonly noise: number;

  constructor(points: { atMs: number; cores: number }[], periodMs: number | undefined, noise: number) {
    this.points = [...points].sort((a, b) => a.atMs - b.atMs);
    this.periodMs = periodMs;
    this.noise = noise;
  }

  /** Cores used `offsetMs` after the start (before noise). */
  coresAt(offsetMs: number): number {
    const pts = this.points;
    let t = offsetMs;
    if (this.periodMs !== undefined && this.periodMs > 0)
      t = ((t % this.periodMs) + this.periodMs) % this.periodMs;
    const first = pts[0] as { atMs: number; cores: number };
    if (t <= first.atMs) return first.cores;
    for (let i = 1; i < pts.length; i++) {
      const b = pts[i] as { atMs: number; cores: number };
      if (t <= b.atMs) {
        const a = pts[i - 1] as { atMs: number; cores: number };
        return a.cores + ((b.cores - a.cores) * (t - a.atMs)) / Math.max(1, b.atMs - a.atMs);
      }
    }
    return (pts[pts.length - 1] as { atMs: number; cores: number }).cores;
  }
}
