import fs from 'node:fs';
import path from 'node:path';

/**
 * The running gateway's screens address and control token, for `npm run open` on the same computer: a 0600 file
 * in the config folder (beside the settings and keys, never in the data folder), removed when the gateway stops.
 */
export interface ControlFile {
  origin: string;
  token: string;
  pid: number;
}

export function writeControlFile(file: string, content: ControlFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.rmSync(temp, { force: true });
  fs.writeFileSync(temp, `${JSON.stringify(content)}\n`, { mode: 0o600, flag: 'wx' });
  fs.renameSync(temp, file);
}

/** Removes the file only if it is still this process's (a second gateway may have written its own since). */
export function removeControlFile(file: string, pid: number): void {
  try {
    if ((JSON.parse(fs.readFileSync(file, 'utf8')) as ControlFile).pid === pid) fs.rmSync(file, { force: true });
  } catch {
    // Gone or unreadable: nothing of ours to remove.
  }
}
