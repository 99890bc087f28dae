import { describe, expect, it } from 'vitest';
import { auditActionInWords, auditDetailInWords } from '../../src/shared/audit-words';

describe('the audit log in plain words', () => {
  it('names each action as a person would, and keeps an unknown one as written', () => {
    expect(auditActionInWords('crosswalk.export')).toBe('Export crosswalk');
    expect(auditActionInWords('instance.resend')).toBe('Send again');
    expect(auditActionInWords('something.new')).toBe('something.new');
  });
  it('writes refusal reasons in words and research Study UIDs as their research IDs', () => {
    expect(auditDetailInWords('all, xlsx: WeakPassword')).toBe('all, xlsx: the password was too weak');
    expect(auditDetailInWords('all: PasswordsDoNotMatch')).toBe('all: the two passwords were not the same');
    const ids: Record<string, string> = { '2.25.12345678901234567890': 'KGH-7F3K9Q2M' };
    expect(auditDetailInWords('study 2.25.12345678901234567890: 2 queued, 0 without a file', (uid) => ids[uid]))
      .toBe('study KGH-7F3K9Q2M: 2 queued, 0 without a file');
    // A UID this gateway does not know stays as it is; so do words that are not error names.
    expect(auditDetailInWords('study 2.25.999: 1 queued', () => undefined)).toBe('study 2.25.999: 1 queued');
    expect(auditDetailInWords('session of 10 min')).toBe('session of 10 min');
  });
});
