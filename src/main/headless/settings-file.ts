import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { GatewaySettings, describeSettingsProblems } from '../../shared/settings';
import type { SettingsStore } from '../core/api';
import { syncDirectory } from '../core/durable';

/**
 * Writes `text` to `file` so that a reader (or a crash) sees the old content or the new, never a mix:
 * a temporary file beside it, fsynced, renamed over it, then the folder fsynced so the rename itself is durable.
 */
export async function writeFileAtomic(file: string, text: string, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.promises.open(temp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.promises.rename(temp, file);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/** The headless runner's settings file as a SettingsStore: validated with the one schema, written atomically. */
export function settingsFileStore(file: string | undefined): SettingsStore {
  return {
    canSave: file !== undefined,
    async save(settings) {
      if (!file) throw new Error('no settings file');
      // The same schema the file is read with: what is saved always loads again.
      const parsed = GatewaySettings.safeParse(settings);
      if (!parsed.success) throw new Error(`settings not valid: ${describeSettingsProblems(parsed.error).join('; ')}`);
      await writeFileAtomic(file, `${JSON.stringify(parsed.data, null, 2)}\n`);
    },
  };
}
