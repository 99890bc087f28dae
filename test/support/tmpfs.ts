import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

/**
 * A small file system of its own for a test (tmpfs, mounted by the test and removed after it), so a disk can be
 * filled for real. Undefined where mounting is not allowed (not root, a container without CAP_SYS_ADMIN):
 * `tmpfsUnavailable` says why, for the skipped test's name.
 */
export interface SmallDisk {
  dir: string;
  /** Bytes free now, as statfs tells it. */
  free(): number;
  /** Fills the disk with a file until at most `leaveBytes` are free; returns the filler's path. */
  fill(leaveBytes: number, name?: string): string;
  remove(): void;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs needs Linux';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mounting a tmpfs is not allowed here (${String((error as Error).message).split('\n')[0]})`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Why a small disk cannot be made here, or undefined when it can. */
export const tmpfsUnavailable: string | undefined = probe();

export function mountSmallDisk(sizeBytes: number): SmallDisk {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  const free = (): number => {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    free,
    fill(leaveBytes, name = 'filler.bin') {
      const file = path.join(dir, name);
      const fd = fs.openSync(file, 'a');
      const chunk = Buffer.alloc(64 * 1024, 0x5a);
      try {
        for (let left = free() - leaveBytes; left > 0; left = free() - leaveBytes) {
          try {
            fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw error;
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      return file;
    },
    remove() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
