import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsFileStore, writeFileAtomic } from '../../src/main/headless/settings-file';
import { GatewaySettings } from '../../src/shared/settings';

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'settings-file-'));

describe('the settings file saved from the screens', () => {
  it('replaces the file whole, readable by its owner only, with no temporary file left beside it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'settings.json');
    fs.writeFileSync(file, '{"old": true}');
    await writeFileAtomic(file, '{"new": true}\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"new": true}\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['settings.json']);
  });

  it('saves what loads again with the same schema, defaults written out', async () => {
    const file = path.join(tempDir(), 'settings.json');
    const settings = GatewaySettings.parse({ site: { code: 'KGH' }, intake: { port: 11113 } });
    await settingsFileStore(file).save(settings);
    const again = GatewaySettings.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
    expect(again).toEqual(settings);
    expect(again.deid.birthDate.day).toBe(15);
  });

  it('refuses settings the schema refuses and leaves the file as it was', async () => {
    const file = path.join(tempDir(), 'settings.json');
    fs.writeFileSync(file, '{}');
    const bad = { ...GatewaySettings.parse({}), intake: { aeTitle: 'DEID_GW', port: 0, allowedCallingAeTitles: [] } };
    await expect(settingsFileStore(file).save(bad)).rejects.toThrow(/intake\.port/);
    expect(fs.readFileSync(file, 'utf8')).toBe('{}');
  });

  it('cannot save without a settings file', async () => {
    const store = settingsFileStore(undefined);
    expect(store.canSave).toBe(false);
    await expect(store.save(GatewaySettings.parse({}))).rejects.toThrow(/no settings file/);
  });
});
