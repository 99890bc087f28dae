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
}
