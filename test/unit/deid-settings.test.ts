import { describe, expect, it } from 'vitest';
import { GatewaySettings, describeSettingsProblems } from '../../src/shared/settings';

describe('de-identification settings', () => {
  it('defaults to the options mammography research needs', () => {
    const { deid } = GatewaySettings.parse({});
    expect(deid).toEqual({
      birthDate: { keep: 'month', day: 15, month: 7 },
      retainPatientCharacteristics: true,
      studyDates: { keep: 'all', day: 15, month: 7, maxShiftDays: 365 },
      retainDeviceIdentity: false,
      retainInstitutionIdentity: false,
      retainUids: false,
      retainSafePrivate: { enabled: false, allowList: [] },
      cleanDescriptors: true,
      burnedInModalities: ['US', 'OT', 'SC', 'XC', 'ES', 'DOC'],
      allowEncapsulatedDocuments: false,
    });
  });

  it('fills the defaults of a partly written deid section', () => {
    expect(GatewaySettings.parse({ deid: { studyDates: { keep: 'shift' } } }).deid.studyDates).toEqual({ keep: 'shift', day: 15, month: 7, maxShiftDays: 365 });
  });

  it('names each invalid deid setting', () => {
    const r = GatewaySettings.safeParse({
      deid: {
        studyDates: { keep: 'week', day: 30 },
        retainSafePrivate: { enabled: true, allowList: [{ creator: 'X', tag: '(0018,xx10)' }] },
        burnedInModalities: ['us'],
      },
    });
    expect(r.success).toBe(false);
    const problems = describeSettingsProblems(r.error!);
    expect(problems.some((p) => p.startsWith('deid.studyDates.keep:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('deid.studyDates.day: Day must be 1–28'))).toBe(true);
    expect(problems.some((p) => p.startsWith('deid.retainSafePrivate.allowList.0.tag: Private tag is written'))).toBe(true);
    expect(problems.some((p) => p.startsWith('deid.burnedInModalities.0:'))).toBe(true);
  });
});
