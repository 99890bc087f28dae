import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { AsyncLocalStorage } from 'node:async_hooks';

export interface OrthancDestination {
  url: string;
  username: string;
  password: string;
  /** PEM file of a certificate authority to trust for https, besides the system's. */
  caFile?: string;
}

/** A request body: a file, optionally framed by bytes before and after it (a multipart part). */
export interface RequestBody {
  file: string;
  size: number;
  contentType: string;
  prefix?: Buffer;
  suffix?: Buffer;
  /** Sees each chunk of the file as it is sent (to hash what went out without reading the file twice). */
  onFileData?: (chunk: Buffer) => void;
}

const caCache = new Map<string, Buffer>();
/** The CA file's contents, read once; a missing file is a settings problem the technologist can fix. */
function trustedCa(caFile: string): Buffer {
  let ca = caCache.get(caFile);
  if (!ca) {
    try {
      ca = fs.readFileSync(caFile);
    } catch (error) {
      throw new UploadRejected(`Cannot read the destination's CA file ${caFile} (check destination.caFile in Settings)`, 0, { cause: error });
    }
    caCache.set(caFile, ca);
  }
  return ca;
}

/** The research server refused the instance; sending it again unchanged will not help. */
export class UploadRejected extends Error {
  constructor(message: string, readonly httpStatus: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UploadRejected';
  }
}

/** The research server could not be reached or failed on its side; worth retrying later. */
export class DestinationUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DestinationUnavailable';
  }
}

export interface OrthancStoreAnswer {
  ID: string;
  Status: string;
  ParentStudy?: string;
}

const REQUEST_TIMEOUT_MS = 120_000;

/**
 * The stop of the gateway, for every request made inside `requestAbort.run(signal, …)`: aborting it ends them at
 * once (an upload to a server that never answers would otherwise hold the stop for the 120 s timeout).
 */
export const requestAbort = new AsyncLocalStorage<AbortSignal>();

function advice(status: number): string {
  if (status === 401) return ' (check the user name and password in Settings)';
  if (status === 403) return ' (the account may not upload: ask the research site for upload rights)';
  if (status === 404) return ' (check the destination URL in Settings: it should be the Orthanc base URL)';
  if (status === 413) return ' (the research server limits upload size)';
  return '';
}

/** One HTTP request to the destination: the single HTTP client of the core. */
export function orthancRequest(
  destination: OrthancDestination,
  method: string,
  route: string,
  body?: RequestBody | { bytes: Buffer; contentType: string },
  options: { timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const url = new URL(route.replace(/^\//, ''), destination.url.endsWith('/') ? destination.url : `${destination.url}/`);
  const client = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string | number> = { Accept: 'application/json' };
  if (destination.username || destination.password) {
    headers.Authorization = `Basic ${Buffer.from(`${destination.username}:${destination.password}`).toString('base64')}`;
  }
  if (body) {
    headers['Content-Type'] = body.contentType;
    headers['Content-Length'] = 'bytes' in body ? body.bytes.length : body.size + (body.prefix?.length ?? 0) + (body.suffix?.length ?? 0);
  }
  const ca = url.protocol === 'https:' && destination.caFile ? trustedCa(destination.caFile) : undefined;
  return new Promise((resolve, reject) => {
    const signal = requestAbort.getStore();
    const req = client.request(url, { method, headers, timeout: timeoutMs, ...(ca ? { ca } : {}), ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => reject(new DestinationUnavailable(`Research server connection broke: ${e.message}`, { cause: e })));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(e.code ?? '')) {
        reject(new UploadRejected(`Research server's certificate is not trusted (${e.code}); set destination.caFile to the site's CA`, 0, { cause: e }));
        return;
      }
      const what = e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' ? 'host not found' : e.message;
      reject(new DestinationUnavailable(`Research server unreachable at ${url.origin}: ${what}`, { cause: e }));
    });
    if (body && 'bytes' in body) {
      req.end(body.bytes);
    } else if (body) {
      if (body.prefix) req.write(body.prefix);
      // Large chunks: fewer reads and socket writes for a 27 MB mammogram.
      const stream = fs.createReadStream(body.file, { highWaterMark: 1 << 20 });
      const { onFileData } = body;
      if (onFileData) stream.on('data', (chunk) => onFileData(chunk as Buffer));
      stream.on('error', (e) => req.destroy(e));
      stream.pipe(req, { end: !body.suffix });
      if (body.suffix) stream.on('end', () => req.end(body.suffix));
    } else {
      req.end();
    }
  });
}

/** Transient HTTP answers become DestinationUnavailable (retry), other 4xx UploadRejected (stop, with advice). */
export function throwForHttpStatus(status: number): void {
  if (status >= 500 || status === 0) throw new DestinationUnavailable(`Research server failed: HTTP ${status}`);
  if (status === 408 || status === 429) throw new DestinationUnavailable(`Research server is busy: HTTP ${status}`);
  if (status >= 400) {
    const reason = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : `HTTP ${status}`;
    throw new UploadRejected(`Research server rejected the upload: ${status} ${reason}${advice(status)}`, status);
  }
}

/** Sends one DICOM file to Orthanc's POST /instances and checks Orthanc's answer. */
export async function storeInOrthanc(destination: OrthancDestination, file: string, onFileData?: (chunk: Buffer) => void): Promise<OrthancStoreAnswer> {
  const size = (await fs.promises.stat(file)).size;
  const { status, text } = await orthancRequest(destination, 'POST', '/instances', { file, size, contentType: 'application/dicom', onFileData });
  throwForHttpStatus(status);
  let answer: OrthancStoreAnswer;
  try {
    answer = JSON.parse(text) as OrthancStoreAnswer;
  } catch {
    throw new UploadRejected(`Research server gave an answer that is not Orthanc's (HTTP ${status}); check the destination URL`, status);
  }
  if (!answer.ID || (answer.Status !== 'Success' && answer.Status !== 'AlreadyStored')) {
    throw new UploadRejected(`Research server did not store the instance (status "${answer.Status ?? 'none'}")`, status);
  }
  return answer;
}
