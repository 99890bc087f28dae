import { describe, expect, it } from 'vitest';
import { GatewaySettings, describeSettingsProblems } from '../../src/shared/settings';

describe('settings schema', () => {
  it('fills documented defaults for missing keys', () => {
    const s = GatewaySettings.parse({});
    expect(s.intake).toEqual({ aeTitle: 'DEID_GW', port: 11112, allowedCallingAeTitles: [] });
    expect(s.deid.birthDate).toEqual({ keep: 'month', day: 15, month: 7 });
    expect(s.destination).toBeUndefined();
    expect(s.site.code).toBe('SITE');
  });
  it('names each invalid setting in its error', () => {
    const r = GatewaySettings.safeParse({ intake: { port: 70000, aeTitle: 'A_TITLE_THAT_IS_TOO_LONG' }, deid: { birthDate: { day: 31 } } });
    expect(r.success).toBe(false);
    const problems = describeSettingsProblems(r.error!);
    expect(problems.some((p) => p.startsWith('intake.port:'))).toBe(true);
    expect(problems).toContain('intake.aeTitle: AE title is at most 16 characters');
    expect(problems.some((p) => p.startsWith('deid.birthDate.day: Day must be 1–28'))).toBe(true);
  });
  it('rejects a misspelt key instead of silently ignoring it', () => {
    const r = GatewaySettings.safeParse({ destinaton: { url: 'http://x' } });
    expect(r.success).toBe(false);
    expect(describeSettingsProblems(r.error!).join()).toMatch(/destinaton/);
  });
  it('requires a full http(s) destination URL', () => {
    expect(GatewaySettings.safeParse({ destination: { url: 'ftp://x' } }).success).toBe(false);
    expect(GatewaySettings.safeParse({ destination: { url: 'research-server' } }).success).toBe(false);
    expect(GatewaySettings.parse({ destination: { url: 'https://r.example:8042' } }).destination?.concurrency).toBe(2);
  });
  it('deletes the spool original at once after upload by default, keeps the de-identified copy a week, and refuses a negative retention', () => {
    const s = GatewaySettings.parse({});
    expect(s.retention).toEqual({ spoolHours: 0, outboxHours: 168 });
    expect(s.doctor).toEqual({ sessionMinutes: 10 });
    expect(GatewaySettings.parse({ retention: { outboxHours: 48 } }).retention).toEqual({ spoolHours: 0, outboxHours: 48 });
    expect(GatewaySettings.parse({ retention: { spoolHours: 2 } }).retention).toEqual({ spoolHours: 2, outboxHours: 168 });
    const r = GatewaySettings.safeParse({ retention: { spoolHours: -1 } });
    expect(describeSettingsProblems(r.error!).some((p) => p.startsWith('retention.spoolHours:'))).toBe(true);
  });
});
