import { describe, expect, it } from 'vitest';
import { RateMeter, TokenBucket } from '../../src/main/core/import';

describe('import throttle: token bucket over bytes', () => {
  it('lets a burst through at once, then makes the caller wait exactly as long as the rate needs', () => {
    let now = 0;
    const bucket = new TokenBucket(1_000_000, 250_000, () => now);
    expect(bucket.take(250_000)).toBe(0);
    // The burst is spent: the next 500 kB at 1 MB/s must wait 500 ms.
    expect(bucket.take(500_000)).toBeCloseTo(500, 6);
    now = 500;
    // Paid off, nothing in hand: 100 kB more waits 100 ms.
    expect(bucket.take(100_000)).toBeCloseTo(100, 6);
  });

  it('over a long copy, bytes taken never exceed rate × time + burst', () => {
    let now = 0;
    const bucket = new TokenBucket(2_000_000, 1_000_000, () => now);
    let taken = 0;
    for (let i = 0; i < 1000; i++) {
      const wait = bucket.take(1024 * 1024);
      now += wait; // the caller sleeps as told before using the bytes
      taken += 1024 * 1024;
      expect(taken).toBeLessThanOrEqual((now / 1000) * 2_000_000 + 1_000_000 + 1e-6);
    }
    // And it is not slower than the rate either: 1000 MiB at 2 MB/s, less the first burst.
    expect(now).toBeCloseTo(((1000 * 1024 * 1024 - 1_000_000) / 2_000_000) * 1000, 3);
  });

  it('idle time refills only up to the burst', () => {
    let now = 0;
    const bucket = new TokenBucket(1_000_000, 100_000, () => now);
    bucket.take(100_000);
    now = 60_000;
    expect(bucket.take(100_000)).toBe(0);
    expect(bucket.take(100_000)).toBeCloseTo(100, 6);
  });

  it('rate 0 is no limit; a new rate applies from the moment it is set', () => {
    const now = 0;
    const bucket = new TokenBucket(0, 0, () => now);
    expect(bucket.take(10 ** 12)).toBe(0);
    bucket.setRate(1_000_000, 1_000_000);
    expect(bucket.take(2_000_000)).toBeCloseTo(2000, 6);
  });

  it('the rate meter reports bytes per second over its window', () => {
    let now = 0;
    const meter = new RateMeter(10_000, () => now);
    expect(meter.bytesPerSecond()).toBe(0);
    for (let i = 0; i < 10; i++) {
      meter.add(1_000_000);
      now += 1000;
    }
    expect(meter.bytesPerSecond()).toBeCloseTo(1_000_000, -3);
    now += 20_000;
    expect(meter.bytesPerSecond()).toBe(0);
  });
});
