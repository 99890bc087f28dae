import { describe, expect, it } from 'vitest';
import { GatewaySettings } from '../../src/shared/settings';
import { deidPolicy, describeMethod } from '../../src/main/core/deid';
import { stringValue, tagOf } from '../../src/main/core/dicom';
import { baseDataset, contextFor, deidentifyRoundTrip } from '../support/deid-harness';

const base = (over: Record<string, unknown> = {}) => GatewaySettings.parse(over);
const hashOf = (s: GatewaySettings) => deidPolicy(s.deid, s.site.code).hash;

describe('de-identification policy version', () => {
  const reference = hashOf(base());

  it.each([
    ['the birth date rule', { deid: { birthDate: { keep: 'year' } } }],
    ['the birth date day', { deid: { birthDate: { day: 1 } } }],
    ['the study date rule', { deid: { studyDates: { keep: 'shift' } } }],
    ['an option (Retain Device Identity)', { deid: { retainDeviceIdentity: true } }],
    ['Clean Descriptors off', { deid: { cleanDescriptors: false } }],
    ['the safe-private allow-list', { deid: { retainSafePrivate: { enabled: true, allowList: [{ creator: 'GEMS_ACQU_01', tag: '(0019,xx10)' }] } } }],
    ['the site code (written as Institution Name)', { site: { code: 'KGH' } }],
  ])('changes its hash when %s changes', (_what, over) => {
    expect(hashOf(base(over))).not.toBe(reference);
  });

  it.each([
    ['the DICOM port', { intake: { port: 104 } }],
    ['the destination', { destination: { url: 'https://research.example.org:8042', username: 'gateway-kgh', password: 'x' } }],
    ['retention', { retention: { outboxHours: 0 } }],
    ['limits', { limits: { maxAssociations: 2 } }],
    ['the burned-in review modalities (which instances are held, not what a file holds)', { deid: { burnedInModalities: ['US'] } }],
    ['a study-date day the "keep all" rule ignores', { deid: { studyDates: { keep: 'all', day: 1 } } }],
  ])('keeps its hash when %s changes', (_what, over) => {
    expect(hashOf(base(over))).toBe(reference);
  });

  it('describes the profile edition, options and date rules in full', () => {
    const { description } = deidPolicy(base().deid, 'KGH');
    expect(description.profile.table).toBe('PS3.15 Table E.1-1');
    expect(description.profile.edition).toBe('2026d');
    expect(description.options).toContain('rtnPatCharsOpt');
    expect(description.birthDate).toBe('YYYYMM15');
    expect(description.studyDates).toBe('kept');
    expect(description.siteCode).toBe('KGH');
  });

  it('writes the short hash into DeidentificationMethod after what was there, every value within LO\'s 64 characters', () => {
    const ctx = contextFor({}, { siteCode: 'KGH' });
    const { dataset } = deidentifyRoundTrip(baseDataset(), ctx);
    const values = (stringValue(dataset, tagOf('DeidentificationMethod')) ?? '').split('\\');
    expect(values.slice(0, -1)).toEqual(describeMethod(ctx.settings));
    expect(values.at(-1)).toBe(`policy ${deidPolicy(ctx.settings, 'KGH').shortHash}`);
    expect(values.at(-1)).toMatch(/^policy [0-9a-f]{8}$/);
    for (const v of values) expect(v.length).toBeLessThanOrEqual(64);
  });
});
