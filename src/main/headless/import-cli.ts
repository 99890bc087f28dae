import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { ApiResult } from '../../shared/api';
import type { ImportProgress } from '../../shared/import';
import { defaultDataDir } from './paths';
import { readApiEndpoint, type ApiEndpoint } from './api-endpoint';

const USAGE = `Usage: npm run import -- PATH [--data-dir DIR] [--no-wait]

  Asks the running gateway (npm run headless, same data folder) to import PATH: a folder, a disk's mount point
  or a DICOMDIR. Prints progress until the import ends; the gateway goes on if this is interrupted.

  --data-dir DIR  the running gateway's data folder (default: ${defaultDataDir()})
  --no-wait       start the import and return`;

/** Calls one API method of the running gateway, as the screens do over HTTP (POST /api/<method>, the token header). */
async function call<T>(endpoint: ApiEndpoint, method: string, input: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${endpoint.url}/api/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Gateway-Token': endpoint.token },
      body: JSON.stringify(input),
    });
  } catch (error) {
    throw new Error(`The gateway does not answer at ${endpoint.url} (${(error as Error).message}): is it running?`, { cause: error });
  }
  const result = (await res.json()) as ApiResult<T>;
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

export function progressLine(p: ImportProgress): string {
  const left = p.secondsLeft === null ? '' : `, ${p.secondsLeft} s left`;
  return `import ${p.importId} ${p.state}${p.discovering ? ' (still looking)' : ''}: found ${p.found}, queued ${p.queued}, already delivered ${p.alreadyDelivered}, already received ${p.alreadyReceived}, not DICOM ${p.notDicom}, failed ${p.failed}, waiting ${p.waiting}; ${mb(p.bytesCopied)} copied at ${mb(p.bytesPerSecond)}/s${left}`;
}

export async function main(args: string[] = process.argv.slice(2)): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'data-dir': { type: 'string' }, 'no-wait': { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help || positionals.length !== 1) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const endpoint = readApiEndpoint(path.resolve(values['data-dir'] ?? defaultDataDir()));
  let progress = await call<ImportProgress>(endpoint, 'startImport', { path: path.resolve(positionals[0]!) });
  console.log(progressLine(progress));
  if (values['no-wait']) return 0;
  let last = '';
  while (progress.state === 'running' || progress.state === 'paused') {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const { imports } = await call<{ imports: ImportProgress[] }>(endpoint, 'importStatus', { importId: progress.importId });
    progress = imports[0]!;
    const line = progressLine(progress);
    if (line !== last) console.log(line);
    last = line;
  }
  for (const problem of progress.problems) console.log(`  failed: ${problem.path}: ${problem.reason}`);
  return progress.state === 'done' ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
