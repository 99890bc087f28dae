import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Conf from 'conf';
import { describe, expect, it } from 'vitest';
import { KeychainSecrets, SecretStorageUnavailable, desktopAuditKey, type SecretCipher, type KeyValueStore } from '../../src/main/electron/secrets';
import { DesktopSettings, DesktopSettingsInvalid } from '../../src/main/electron/settings-store';

/** Stands in for safeStorage (the OS keychain is Electron's): reversible, but never the plain text. */
function fakeKeychain(over: Partial<SecretCipher> = {}): SecretCipher {
  const mask = (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a));
  return {
    isEncryptionAvailable: () => true,
    encryptString: (s) => Buffer.concat([Buffer.from('KC1'), mask(Buffer.from(s, 'utf8'))]),
    decryptString: (b) => mask(b.subarray(3)).toString('utf8'),
    ...over,
  };
}

/** electron-store is conf with Electron's paths: the real conf, in a temp folder, is the same storage. */
function realStore(): { store: KeyValueStore; file: string } {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'desktop-settings-'));
  const conf = new Conf({ cwd, projectName: 'deid-gateway-test' });
  return { store: conf as unknown as KeyValueStore, file: conf.path };
}

describe('desktop settings in electron-store, with secrets through the keychain', () => {
  it('saves and loads with the headless schema and its defaults; the password never reaches the JSON file', () => {
    const { store, file } = realStore();
    const settings = new DesktopSettings(store, new KeychainSecrets(store, fakeKeychain()));
    expect(settings.load().intake).toEqual({ aeTitle: 'DEID_GW', port: 11112, allowedCallingAeTitles: [] });
    settings.save({ site: { code: 'KGH' }, destination: { url: 'https://research.example:8042', username: 'gw', password: 'Very-Secret-Pass-9' } });
    const onDisk = fs.readFileSync(file, 'utf8');
    expect(onDisk).not.toContain('Very-Secret-Pass-9');
    expect(onDisk).toContain('research.example');
    const loaded = settings.load();
    expect(loaded.site.code).toBe('KGH');
    expect(loaded.destination?.password).toBe('Very-Secret-Pass-9');
    expect(loaded.deid.birthDate).toEqual({ keep: 'month', day: 15, month: 7 });
  });
  it('refuses invalid settings with the same messages as the settings file, and keeps the saved ones', () => {
    const { store } = realStore();
    const settings = new DesktopSettings(store, new KeychainSecrets(store, fakeKeychain()));
    settings.save({ intake: { aeTitle: 'DEID_GW', port: 11112, allowedCallingAeTitles: [] } });
    const attempt = () => settings.save({ intake: { aeTitle: 'DEID_GW', port: 70000, allowedCallingAeTitles: [] } });
    expect(attempt).toThrow(DesktopSettingsInvalid);
    try {
      attempt();
    } catch (error) {
      expect((error as DesktopSettingsInvalid).problems.some((p) => p.startsWith('intake.port:'))).toBe(true);
    }
    expect(settings.load().intake.port).toBe(11112);
  });
  it('creates the database key once, keeps it only as keychain ciphertext, and gives the same key after a restart', () => {
    const { store, file } = realStore();
    const key = new KeychainSecrets(store, fakeKeychain()).databaseKey();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.readFileSync(file, 'utf8')).not.toContain(key);
    expect(new KeychainSecrets(store, fakeKeychain()).databaseKey()).toBe(key);
  });
  it('refuses to keep secrets where the keychain cannot protect them', () => {
    const { store } = realStore();
    expect(() => new KeychainSecrets(store, fakeKeychain({ isEncryptionAvailable: () => false })).databaseKey()).toThrow(SecretStorageUnavailable);
    expect(() => new KeychainSecrets(store, fakeKeychain({ getSelectedStorageBackend: () => 'basic_text' })).databaseKey()).toThrow(/No keyring/);
  });
  it('keeps the audit key in the keychain apart from the database key, pending until the log is signed with it', () => {
    const { store, file } = realStore();
    const secrets = new KeychainSecrets(store, fakeKeychain());
    const first = desktopAuditKey(secrets, {});
    expect(first).toMatchObject({ isNew: true, source: 'keychain' });
    expect(first.key).toMatch(/^[0-9a-f]{64}$/);
    expect(first.key).not.toBe(secrets.databaseKey());
    // A crash before commit: the same key, still new.
    expect(desktopAuditKey(secrets, {})).toMatchObject({ key: first.key, isNew: true });
    first.commit();
    expect(desktopAuditKey(new KeychainSecrets(store, fakeKeychain()), {})).toMatchObject({ key: first.key, isNew: false });
    expect(fs.readFileSync(file, 'utf8')).not.toContain(first.key!);
  });
  it('takes DEID_GATEWAY_AUDIT_KEY, and without a keychain but with DEID_GATEWAY_DB_KEY falls back to the derived key instead of refusing', () => {
    const { store } = realStore();
    const noKeyring = new KeychainSecrets(store, fakeKeychain({ getSelectedStorageBackend: () => 'basic_text' }));
    expect(desktopAuditKey(noKeyring, { DEID_GATEWAY_AUDIT_KEY: 'CD'.repeat(32) })).toMatchObject({ key: 'cd'.repeat(32), isNew: false });
    expect(() => desktopAuditKey(noKeyring, { DEID_GATEWAY_AUDIT_KEY: 'cd' })).toThrow(/64 hex characters/);
    const fallback = desktopAuditKey(noKeyring, { DEID_GATEWAY_DB_KEY: 'ab'.repeat(32) });
    expect(fallback.key).toBeUndefined();
    expect(fallback.source).toMatch(/derived from DEID_GATEWAY_DB_KEY/);
    expect(() => desktopAuditKey(noKeyring, {})).toThrow(/No keyring/);
  });
});
