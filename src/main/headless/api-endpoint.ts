import fs from 'node:fs';
import path from 'node:path';

/**
 * Where the running headless gateway tells local command-line tools (npm run import) how to reach its API: the
 * address and the token, in a file only its owner may read (0600) in the data folder, removed at a clean stop.
 * Whoever can read it could also read the database key beside the settings, so it gives nothing more away.
 */
export interface ApiEndpoint {
  url: string;
  token: string;
  pid: number;
}

export const endpointFile = (dataDir: string): string => path.join(dataDir, 'api-endpoint.json');

export function writeApiEndpoint(dataDir: string, endpoint: ApiEndpoint): void {
  const file = endpointFile(dataDir);
  const partial = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(partial, JSON.stringify(endpoint), { mode: 0o600 });
  fs.renameSync(partial, file);
}

export function removeApiEndpoint(dataDir: string): void {
  fs.rmSync(endpointFile(dataDir), { force: true });
}

export function readApiEndpoint(dataDir: string): ApiEndpoint {
  const file = endpointFile(dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`No running gateway found for data folder ${dataDir} (${file} is missing): start it with "npm run headless" first`);
  }
  const value = JSON.parse(text) as Partial<ApiEndpoint>;
  if (typeof value.url !== 'string' || typeof value.token !== 'string') throw new Error(`${file} is not a gateway endpoint file`);
  return { url: value.url, token: value.token, pid: Number(value.pid) };
}
