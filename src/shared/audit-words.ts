/**
 * The audit log in plain words for the screens. The stored entries keep their codes (they are hashed into the
 * chain and read by scripts); only what people see is translated.
 */

/** Each action the gateway writes to the audit log, as a person would say it. */
export const AUDIT_ACTION_WORDS: Record<string, string> = {
  // What was asked, as a verb: the outcome column says whether it was done, refused or failed.
  'doctor.password.set': 'Set doctor password',
  'doctor.password.change': 'Change doctor password',
  'doctor.unlock': 'Unlock crosswalk',
  'doctor.lock': 'Lock crosswalk',
  'crosswalk.lookup': 'Look up research ID',
  'crosswalk.export': 'Export crosswalk',
  'crosswalk.export.fetch': 'Save export file',
  'settings.change': 'Save settings',
  'review.release': 'Release held image',
  'review.discard': 'Discard held image',
  'instance.resend': 'Send again',
  'delivery.recheck': 'Check delivery',
  'audit.export': 'Save audit log',
};

export const AUDIT_OUTCOME_WORDS: Record<string, string> = { success: 'done', failure: 'failed', refused: 'refused' };

// The reasons a request was refused, recorded by their error's name (never the values typed).
const REASON_WORDS: Record<string, string> = {
  WeakPassword: 'the password was too weak',
  PasswordsDoNotMatch: 'the two passwords were not the same',
  InvalidExportRequest: 'the export request could not be used',
  DoctorPasswordNotSet: 'no doctor password was set',
  DoctorPasswordAlreadySet: 'a doctor password was already set',
  WrongPassword: 'wrong password',
  UnlockThrottled: 'unlocking was paused after wrong passwords',
  CrosswalkLocked: 'the crosswalk was locked',
};

/** An action in words; an action this version does not know is shown as written. */
export const auditActionInWords = (action: string): string => AUDIT_ACTION_WORDS[action] ?? action;

/**
 * A detail in words: error names become their reason, and each research Study Instance UID becomes the research ID
 * it belongs to when `researchIdOf` knows it (the ID people see everywhere else).
 */
export function auditDetailInWords(detail: string, researchIdOf: (researchStudyUid: string) => string | undefined = () => undefined): string {
  return detail
    .replace(/\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b/g, (name) => REASON_WORDS[name] ?? name)
    .replace(/\b\d+(?:\.\d+){2,}\b/g, (uid) => {
      const researchId = researchIdOf(uid);
      return researchId ?? uid;
    });
}
