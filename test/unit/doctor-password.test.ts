import { describe, expect, it } from 'vitest';
import { hashPassword, passwordWeakness, verifyPassword, unlockPauseMs, FREE_ATTEMPTS } from '../../src/main/core/doctor';

describe('doctor password', () => {
  it('accepts a long mixed password or a passphrase, and says why a weak one is refused', () => {
    expect(passwordWeakness('Blue-Heron-Lake-47')).toBeUndefined();
    expect(passwordWeakness('granite swallow fifty meadow')).toBeUndefined();
    expect(passwordWeakness('Sh0rt!')).toMatch(/at least 12 characters/);
    expect(passwordWeakness('onlylowercase')).toMatch(/three of/);
    expect(passwordWeakness('Aa1!Aa1!Aa1!Aa1!')).toMatch(/too few different characters/);
    expect(passwordWeakness('Password2026!')).toMatch(/common word/);
  });

  it('hashes with scrypt and a random salt, and verifies only the same password', async () => {
    const params = { N: 2 ** 12, r: 8, p: 1 };
    const a = await hashPassword('Blue-Heron-Lake-47', params);
    const b = await hashPassword('Blue-Heron-Lake-47', params);
    expect(a.algorithm).toBe('scrypt');
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(await verifyPassword('Blue-Heron-Lake-47', a)).toBe(true);
    expect(await verifyPassword('Blue-Heron-Lake-48', a)).toBe(false);
  });

  it('pauses unlocking after the free attempts, doubling each time, up to 15 minutes', () => {
    expect(Array.from({ length: FREE_ATTEMPTS - 1 }, (_, i) => unlockPauseMs(i + 1))).toEqual(Array(FREE_ATTEMPTS - 1).fill(0));
    expect(unlockPauseMs(FREE_ATTEMPTS)).toBe(5_000);
    expect(unlockPauseMs(FREE_ATTEMPTS + 1)).toBe(10_000);
    expect(unlockPauseMs(FREE_ATTEMPTS + 20)).toBe(15 * 60_000);
  });
});
