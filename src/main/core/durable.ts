import fs from 'node:fs';

/**
 * Makes a file's creation or rename in `dir` durable: the file's own fsync covers its data, not its directory
 * entry, so without this a power cut can lose a file whose data was synced.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Error codes that say the disk (or the database on it) cannot take writes now, rather than that the data is bad. */
const STORAGE_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EMFILE', 'ENFILE']);
const STORAGE_SQLITE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|NOMEM)/;

/**
 * Whether an error is the storage failing (disk full, quota, I/O error, a database that cannot write): worth
 * retrying later as it is, never a reason to hold or fail an instance. Follows the cause chain.
 */
export function isStorageFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (STORAGE_ERRNO.has(code) || STORAGE_SQLITE.test(code))) return true;
  }
  return false;
}

/** Whether an error is the disk or a quota running out of space (the database's own "full" included). */
export function isOutOfSpace(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
  }
  return false;
}

/**
 * Writes all of `bytes` at the handle's position, going on after a short write (a file system that fills up
 * writes what fits and says so): returns only once every byte is written, or throws.
 */
export async function writeFully(handle: fs.promises.FileHandle, bytes: Buffer): Promise<number> {
  let at = 0;
  while (at < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
    // A write of nothing that does not fail would loop for ever: treat it as the disk refusing.
    if (bytesWritten <= 0) throw Object.assign(new Error('No space left on device (a write made no progress)'), { code: 'ENOSPC' });
    at += bytesWritten;
  }
  return at;
}
