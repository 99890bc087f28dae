import fs from 'node:fs';
import path from 'node:path';

/**
 * A hard memory cap for a child process and everything it starts: a memory cgroup (v2 `memory.max`, or v1
 * `memory.limit_in_bytes` with swap included), which the kernel enforces by killing the process past it. Where no
 * cgroup can be made (an unprivileged container), `reason` says why and the caller runs uncapped, saying so.
 */
export interface MemoryCap {
  /** Wraps a command so that it runs inside the cgroup (the shell joins it, then execs the command). */
  wrap?: (command: string, args: string[]) => [string, string[]];
  /** Why there is no cap, when there is none. */
  reason?: string;
  /** Whether the kernel's OOM killer acted inside the cgroup. */
  oomKills(): number;
  remove(): void;
}

const V2 = '/sys/fs/cgroup';
const V1 = '/sys/fs/cgroup/memory';

export function memoryCap(name: string, limitBytes: number): MemoryCap {
  const none = (reason: string): MemoryCap => ({ reason, oomKills: () => 0, remove: () => undefined });
  const attempt = (base: string, files: Array<[string, string]>, oom: (dir: string) => number): MemoryCap | string => {
    const dir = path.join(base, `${name}-${process.pid}`);
    try {
      fs.mkdirSync(dir);
      for (const [file, value] of files) {
        const at = path.join(dir, file);
        if (fs.existsSync(at)) fs.writeFileSync(at, value);
        else if (file !== 'memory.swap.max' && file !== 'memory.memsw.limit_in_bytes') throw new Error(`${at} is missing`);
      }
    } catch (error) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // nothing was made
      }
      return `${base}: ${(error as Error).message}`;
    }
    return {
      wrap: (command, args) => ['/bin/sh', ['-c', `echo $$ > ${path.join(dir, 'cgroup.procs')} && exec "$@"`, 'sh', command, ...args]],
      oomKills: () => oom(dir),
      remove: () => {
        try {
          fs.rmdirSync(dir);
        } catch {
          // a process still in it: the kernel removes nothing it uses
        }
      },
    };
  };
  const limit = String(limitBytes);
  const v2 = fs.existsSync(path.join(V2, 'cgroup.controllers')) && fs.readFileSync(path.join(V2, 'cgroup.controllers'), 'utf8').includes('memory')
    ? attempt(V2, [['memory.max', limit], ['memory.swap.max', '0']], (dir) => Number(/oom_kill (\d+)/.exec(fs.readFileSync(path.join(dir, 'memory.events'), 'utf8'))?.[1] ?? 0))
    : 'no cgroup v2 memory controller';
  if (typeof v2 !== 'string') return v2;
  const v1 = fs.existsSync(path.join(V1, 'memory.limit_in_bytes'))
    ? attempt(V1, [['memory.limit_in_bytes', limit], ['memory.memsw.limit_in_bytes', limit]], (dir) => Number(/oom_kill (\d+)/.exec(fs.readFileSync(path.join(dir, 'memory.oom_control'), 'utf8'))?.[1] ?? 0))
    : 'no cgroup v1 memory controller';
  if (typeof v1 !== 'string') return v1;
  return none(`no memory cgroup could be made (${v2}; ${v1})`);
}
