/** The doctor's errors, typed so a screen or the command line can tell them apart without reading text. */

export class DoctorPasswordNotSet extends Error {
  constructor() {
    super('No doctor password has been set yet: set one first (it protects look-up and export of the crosswalk).');
    this.name = 'DoctorPasswordNotSet';
  }
}

export class DoctorPasswordAlreadySet extends Error {
  constructor() {
    super('A doctor password is already set: unlock with it, then change it if needed.');
    this.name = 'DoctorPasswordAlreadySet';
  }
}

export class WeakPassword extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'WeakPassword';
  }
}

export class PasswordsDoNotMatch extends Error {
  constructor() {
    super('The two passwords are not the same: type the password twice, identically.');
    this.name = 'PasswordsDoNotMatch';
  }
}

export class WrongPassword extends Error {
  constructor(readonly attemptsBeforeDelay: number) {
    super(attemptsBeforeDelay > 0
      ? `Wrong doctor password (${attemptsBeforeDelay} more attempt(s) before unlocking is paused).`
      : 'Wrong doctor password; unlocking is paused for a while before the next attempt.');
    this.name = 'WrongPassword';
  }
}

export class UnlockThrottled extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`Too many wrong doctor passwords: try again in ${Math.ceil(retryAfterMs / 1000)} s.`);
    this.name = 'UnlockThrottled';
  }
}

export class CrosswalkLocked extends Error {
  constructor() {
    super('The crosswalk is locked: unlock with the doctor password first (the session may have expired).');
    this.name = 'CrosswalkLocked';
  }
}

export class InvalidExportRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidExportRequest';
  }
}
