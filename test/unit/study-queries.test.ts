import { describe, expect, it } from 'vitest';
import { formatPersonName, startOfLocalDay, studyStateOf } from '../../src/main/core/jobs/study-queries';

const study = (counts: Partial<Parameters<typeof studyStateOf>[0]>) =>
  studyStateOf({ instances: 4, uploaded: 0, failed: 0, held: 0, retrying: 0, discarded: 0, ...counts });

describe('a study\'s state, from its instances', () => {
  it('is failed as soon as one instance failed, even if others are uploaded or held', () => {
    expect(study({ uploaded: 2, failed: 1, held: 1 })).toBe('failed');
  });
  it('is held when an instance waits in the review list and none failed', () => {
    expect(study({ uploaded: 3, held: 1 })).toBe('held');
  });
  it('is complete when every instance is uploaded, or uploaded or discarded by the technologist', () => {
    expect(study({ uploaded: 4 })).toBe('complete');
    expect(study({ uploaded: 3, discarded: 1 })).toBe('complete');
    expect(study({ discarded: 4 })).toBe('in-progress');
  });
  it('is retrying while uploads wait for the research server, else in progress', () => {
    expect(study({ uploaded: 1, retrying: 3 })).toBe('retrying');
    expect(study({ uploaded: 1 })).toBe('in-progress');
    expect(study({ instances: 0 })).toBe('in-progress');
  });
});

describe('names and days for the screens', () => {
  it('writes a DICOM person name as people read it', () => {
    expect(formatPersonName('DOE^JANE^MARIE')).toBe('DOE, JANE MARIE');
    expect(formatPersonName('DOE')).toBe('DOE');
    expect(formatPersonName('YAMADA^TARO=山田^太郎')).toBe('YAMADA, TARO');
    expect(formatPersonName('')).toBe('');
  });
  it('counts "today" from local midnight', () => {
    const d = startOfLocalDay(new Date(2026, 11, 3, 17, 45, 12));
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()]).toEqual([2026, 11, 3, 0, 0]);
  });
});
