/**
 * A token bucket over bytes: the import may copy `bytesPerSecond` on average, with bursts of at most `burstBytes`.
 * The clock is passed in so the arithmetic can be tested without waiting.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private bytesPerSecond: number,
    private burstBytes: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burstBytes;
    this.last = now();
  }

  /** A new rate applies from now on (settings saved mid-import); 0 means unlimited. */
  setRate(bytesPerSecond: number, burstBytes = this.burstBytes): void {
    this.refill();
    this.bytesPerSecond = bytesPerSecond;
    this.burstBytes = burstBytes;
    this.tokens = Math.min(this.tokens, burstBytes);
  }

  private refill(): void {
    const at = this.now();
    if (this.bytesPerSecond > 0) this.tokens = Math.min(this.burstBytes, this.tokens + ((at - this.last) / 1000) * this.bytesPerSecond);
    this.last = at;
  }

  /**
   * Takes `bytes` (which may exceed a burst: the debt is paid by waiting) and returns how many milliseconds the
   * caller must wait before using them; 0 when the rate is unlimited or there were tokens enough.
   */
  take(bytes: number): number {
    if (this.bytesPerSecond <= 0) return 0;
    this.refill();
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.bytesPerSecond) * 1000;
  }
}

/** Bytes per second over the last `windowMs`, for the progress line's rate and time left. */
export class RateMeter {
  private readonly samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly windowMs = 10_000, private readonly now: () => number = () => performance.now()) {}

  add(bytes: number): void {
    this.samples.push({ at: this.now(), bytes });
    this.trim();
  }

  private trim(): void {
    const from = this.now() - this.windowMs;
    while (this.samples.length > 0 && this.samples[0]!.at < from) this.samples.shift();
  }

  bytesPerSecond(): number {
    this.trim();
    if (this.samples.length === 0) return 0;
    const total = this.samples.reduce((sum, s) => sum + s.bytes, 0);
    const span = Math.max(1000, this.now() - this.samples[0]!.at);
    return (total / span) * 1000;
  }
}
