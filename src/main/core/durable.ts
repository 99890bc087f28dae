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
