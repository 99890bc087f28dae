import crypto from 'node:crypto';

/** The part of Electron's `safeStorage` the app uses: encryption with a key the operating system's keychain holds. */
export interface SecretCipher {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only: 'basic_text' means no keyring is running and "encryption" would be a fixed, public key. */
  getSelectedStorageBackend?(): string;
}

/** The part of electron-store (and conf, beneath it) the app uses. */
export interface KeyValueStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

export class SecretStorageUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretStorageUnavailable';
  }
}

/**
 * Secrets (the database key, the destination password) kept in the app's store only as ciphertext from the OS
 * keychain (safeStorage), never as plain JSON. Refuses to work where the keychain cannot protect them.
 */
export class KeychainSecrets {
  constructor(
    private readonly store: KeyValueStore,
    private readonly cipher: SecretCipher,
  ) {}

  private assertAvailable(): void {
    if (!this.cipher.isEncryptionAvailable()) {
      throw new SecretStorageUnavailable("The operating system's keychain is not available, so the gateway cannot protect its database key. Sign in to a desktop session with a keyring, or run the gateway headless with a key file (see README).");
    }
    if (this.cipher.getSelectedStorageBackend?.() === 'basic_text') {
      throw new SecretStorageUnavailable('No keyring (GNOME Keyring or KWallet) is running, so secrets would be stored with a publicly known key. Install and unlock a keyring, or run the gateway headless with a key file (see README).');
    }
  }

  get(name: string): string | undefined {
    const stored = this.store.get(`secrets.${name}`);
    if (typeof stored !== 'string') return undefined;
    this.assertAvailable();
    return this.cipher.decryptString(Buffer.from(stored, 'base64'));
  }

  set(name: string, value: string): void {
    this.assertAvailable();
    this.store.set(`secrets.${name}`, this.cipher.encryptString(value).toString('base64'));
  }

  delete(name: string): void {
    this.store.delete(`secrets.${name}`);
  }

  /** The database key: created at random on first start, then always the same one. */
  databaseKey(): string {
    const existing = this.get('databaseKey');
    if (existing !== undefined) {
      if (!/^[0-9a-f]{64}$/.test(existing)) throw new SecretStorageUnavailable('The stored database key is damaged; restore the app settings from a backup');
      return existing;
    }
    const key = crypto.randomBytes(32).toString('hex');
    this.set('databaseKey', key);
    return key;
  }

  /**
   * The audit log's HMAC key, apart from the database key. A new one is kept as `auditKeyPending` until
   * `commitAuditKey()`, after the log has been re-signed with it, so a crash in between loses nothing.
   */
  auditKey(): { key: string; isNew: boolean } {
    const settled = this.get('auditKey');
    if (settled !== undefined) {
      if (!/^[0-9a-f]{64}$/.test(settled)) throw new SecretStorageUnavailable('The stored audit key is damaged; restore the app settings from a backup');
      return { key: settled, isNew: false };
    }
    const pending = this.get('auditKeyPending');
    if (pending !== undefined && /^[0-9a-f]{64}$/.test(pending)) return { key: pending, isNew: true };
    const key = crypto.randomBytes(32).toString('hex');
    this.set('auditKeyPending', key);
    return { key, isNew: true };
  }

  commitAuditKey(): void {
    const pending = this.get('auditKeyPending');
    if (pending === undefined) return;
    this.set('auditKey', pending);
    this.delete('auditKeyPending');
  }
}

/**
 * DEID_GATEWAY_DB_KEY where IT supplies the key (a managed machine without a keychain): checked as the headless
 * runner checks it, so a typo stops the start with a reason instead of opening (or creating) a database with a wrong key.
 */
export function databaseKeyFromEnvironment(env: Record<string, string | undefined>): string | undefined {
  const value = env.DEID_GATEWAY_DB_KEY?.trim();
  if (!value) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new SecretStorageUnavailable('DEID_GATEWAY_DB_KEY must be 64 hex characters (a 256-bit key)');
  return value.toLowerCase();
}

/** The desktop's audit key, and what to do once the log is signed with it. */
export interface DesktopAuditKey {
  /** Undefined: the core derives one from the database key (signs, but guards nothing against that key's holder). */
  key?: string;
  isNew: boolean;
  source: string;
  commit(): void;
}

/**
 * DEID_GATEWAY_AUDIT_KEY where IT supplies it, else the keychain (a new key kept pending until committed). Where
 * IT supplies the database key because there is no keychain, and no audit key with it, the start goes on with a
 * key derived from the database key (said in the log) rather than refusing a setup that worked before.
 */
export function desktopAuditKey(secrets: KeychainSecrets, env: Record<string, string | undefined>): DesktopAuditKey {
  const fromEnv = env.DEID_GATEWAY_AUDIT_KEY?.trim();
  if (fromEnv) {
    if (!/^[0-9a-fA-F]{64}$/.test(fromEnv)) throw new SecretStorageUnavailable('DEID_GATEWAY_AUDIT_KEY must be 64 hex characters (a 256-bit key)');
    return { key: fromEnv.toLowerCase(), isNew: false, source: 'environment variable DEID_GATEWAY_AUDIT_KEY', commit: () => undefined };
  }
  try {
    const { key, isNew } = secrets.auditKey();
    return { key, isNew, source: 'keychain', commit: () => secrets.commitAuditKey() };
  } catch (error) {
    if (!(error instanceof SecretStorageUnavailable) || !databaseKeyFromEnvironment(env)) throw error;
    return { isNew: false, source: 'derived from DEID_GATEWAY_DB_KEY (no keychain; set DEID_GATEWAY_AUDIT_KEY to keep the audit key apart)', commit: () => undefined };
  }
}
