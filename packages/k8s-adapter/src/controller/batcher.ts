/** Options of a `Batcher`. */
export interface BatchWindow {
  /** The batch closes once no trigger came for this long (Karpenter's BATCH_IDLE_DURATION, 1 s). */
  idleMs: number;
  /** ... or once it has been open this long (Karpenter's BATCH_MAX_DURATION, 10 s). */
  maxMs: number;
}

/**
 * Karpenter's provisioning batcher (K: pkg/controllers/provisioning/batcher.go): the first trigger
 * opens a window; each further trigger extends it by the idle duration, up to the max duration
 * from the first; when it closes, `run` is called once. Triggers during a run open the next window.
 */
export class Batcher {
  private opened: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  private readonly window: BatchWindow;
  private readonly run: () => Promise<void>;
  private readonly now: () => number;

  constructor(window: BatchWindow, run: () => Promise<void>, now: () => number = Date.now) {
    this.window = window;
    this.run = run;
    this.now = now;
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    const now = this.now();
    this.opened ??= now;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const closesAt = Math.min(now + this.window.idleMs, this.opened + this.window.maxMs);
    this.timer = setTimeout(() => void this.fire(), Math.max(0, closesAt - now));
  }

  /** Runs now (the window is skipped); returns when that run is done. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    while (this.running !== undefined) await this.running.catch(() => {});
    await this.fire();
  }

  /** No more runs; resolves once the one in progress (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.opened = undefined;
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.run();
    try {
      await this.running;
    } finally {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    }
  }
}
