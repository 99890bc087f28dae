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

/** Where the destination password is kept apart from the settings file (see secrets.ts). */
export interface PasswordPlace {
  /** The 0600 file a new password is written to; undefined when an environment variable supplies it. */
  file?: string;
  /** The password in force, to tell a change from a save that leaves it as it was. */
  password: string;
}

/**
 * The headless runner's settings file as a SettingsStore: validated with the one schema, written atomically.
 * The destination password never goes into it: it is written to its own 0600 file (or refused, when the
 * environment supplies it), and the settings file keeps an empty password field.
 */
export function settingsFileStore(file: string | undefined, passwordPlace?: PasswordPlace): SettingsStore {
  const place = passwordPlace ?? { file: file ? path.join(path.dirname(file), 'destination.password') : undefined, password: '' };
  return {
    canSave: file !== undefined,
    async save(settings) {
      if (!file) throw new Error('no settings file');
      // The same schema the file is read with: what is saved always loads again.
      const parsed = GatewaySettings.safeParse(settings);
      if (!parsed.success) throw new Error(`settings not valid: ${describeSettingsProblems(parsed.error).join('; ')}`);
      const password = parsed.data.destination?.password ?? '';
      // A change, or a password still kept in the settings file (older installs): it moves to its own file now.
      const moving = password !== '' && place.file !== undefined && !fs.existsSync(place.file);
      if (password !== place.password || moving) {
        // An empty field with the environment's password in force is not a change: the next start takes it from there again.
        if (!place.file && password === '') return writeFileAtomic(file, `${JSON.stringify(parsed.data, null, 2)}\n`);
        if (!place.file) throw new Error('the destination password comes from the environment variable DEID_GATEWAY_DESTINATION_PASSWORD: change it there');
        if (password) await writeFileAtomic(place.file, `${password}\n`);
        else await fs.promises.rm(place.file, { force: true });
        place.password = password;
      }
      const withoutPassword = parsed.data.destination ? { ...parsed.data, destination: { ...parsed.data.destination, password: '' } } : parsed.data;
      await writeFileAtomic(file, `${JSON.stringify(withoutPassword, null, 2)}\n`);
    },
  };
}
