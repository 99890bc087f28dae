import type { DestinationCheck, DestinationProblemCode } from '../../../shared/destination-check';
import { DestinationUnavailable, UploadRejected, orthancRequest, type OrthancDestination } from './orthanc';

/**
 * The oldest Orthanc the gateway supports. It uses POST /instances (with the "AlreadyStored" answer),
 * /tools/lookup and GET /system: all older than 1.9, the oldest release still in a supported Debian
 * (bullseye); Debian bookworm's 1.10.1 is the one the tests run against.
 */
export const MINIMUM_ORTHANC_VERSION = '1.9.0';

const CHECK_TIMEOUT_MS = 15_000;

/** Compares dotted versions ("1.10.1" ≥ "1.9.0"); a version that is not dotted numbers (a "mainline" build) is taken as recent. */
export function supportsOrthancVersion(version: string, minimum = MINIMUM_ORTHANC_VERSION): boolean {
  if (!/^\d+(\.\d+)*$/.test(version)) return true;
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

/** The request failed before any answer: unreachable, not HTTPS, or a certificate (or CA file) problem. */
function unreachable(error: DestinationUnavailable | UploadRejected, destination: OrthancDestination): DestinationCheck {
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (TLS_CODES.test(code)) {
    return fail('certificate', `The research server's HTTPS certificate is not trusted (${code}): ask the research site for a certificate from a recognised authority, or set their certificate authority's PEM file as destination.caFile in Settings`);
  }
  // Refused before sending: the configured CA file cannot be read.
  if (error instanceof UploadRejected) return fail('certificate', error.message);
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return fail('unreachable', `The research server does not speak HTTPS at ${new URL(destination.url).origin}: check the destination URL (https:// or http://, and the port) in Settings`);
  }
  return fail('unreachable', `${error.message} (check the destination URL in Settings, and that the research server is running and this computer may reach it)`);
}

function fail(code: DestinationProblemCode, message: string, partial: Partial<DestinationCheck> = {}): DestinationCheck {
  return { ok: false, problem: { code, message }, warnings: [], ...partial };
}

/**
 * Checks that the research Orthanc is reachable, accepts the account, lets it upload, and is recent enough.
 * Upload rights are tested with an empty POST /instances: Orthanc answers 400 (an empty file is not DICOM)
 * when the account may upload and 403 when a filter forbids it, so nothing is ever stored.
 */
export async function checkDestination(destination: OrthancDestination): Promise<DestinationCheck> {
  const ask = async (method: string, route: string, body?: { bytes: Buffer; contentType: string }) => orthancRequest(destination, method, route, body, { timeoutMs: CHECK_TIMEOUT_MS });
  let system: { status: number; text: string };
  try {
    system = await ask('GET', '/system');
  } catch (error) {
    if (error instanceof DestinationUnavailable || error instanceof UploadRejected) return unreachable(error, destination);
    throw error;
  }
  if (system.status === 401) return fail('unauthorized', 'The research server refused the user name or password (401 Unauthorized): check them in Settings');
  if (system.status === 404) return fail('not-orthanc', 'No Orthanc answers at this URL (404 Not Found): the destination URL should be the Orthanc base URL, such as https://research.example.org:8042');
  if (system.status === 403) return fail('unexpected-answer', 'The research server forbids this account to ask its version (403 Forbidden on /system): check that the destination URL is the Orthanc base URL; if it is, ask the research site to apply the access rules shipped with the gateway (resources/research-orthanc)');
  if (system.status !== 200) return fail('unexpected-answer', `The research server answered HTTP ${system.status} to a version request: check the destination URL, or ask the research site whether Orthanc is healthy`);

  let about: { Name?: unknown; Version?: unknown; ApiVersion?: unknown };
  try {
    about = JSON.parse(system.text) as typeof about;
  } catch {
    return fail('not-orthanc', 'The server at this URL is not an Orthanc (its answer to /system is not Orthanc\'s): check the destination URL in Settings');
  }
  if (typeof about.Version !== 'string' || typeof about.ApiVersion !== 'number') {
    return fail('not-orthanc', 'The server at this URL is not an Orthanc (no version in its answer to /system): check the destination URL in Settings');
  }
  const server = { name: typeof about.Name === 'string' ? about.Name : '', version: about.Version, apiVersion: about.ApiVersion };
  if (!supportsOrthancVersion(server.version)) {
    return fail('version-too-old', `The research server runs Orthanc ${server.version}; the gateway needs ${MINIMUM_ORTHANC_VERSION} or later: ask the research site to upgrade`, { server });
  }

  const upload = await ask('POST', '/instances', { bytes: Buffer.alloc(0), contentType: 'application/dicom' }).catch((error: unknown) => error);
  if (upload instanceof DestinationUnavailable || upload instanceof UploadRejected) return unreachable(upload, destination);
  if (upload instanceof Error) throw upload;
  const { status } = upload as { status: number };
  if (status === 403) return fail('upload-forbidden', 'The research server does not let this account upload (403 Forbidden): ask the research site for a gateway account', { server });
  if (status === 401) return fail('unauthorized', 'The research server refused the user name or password for uploads (401 Unauthorized): check them in Settings', { server });
  if (status !== 400) return fail('unexpected-answer', `The research server answered HTTP ${status} to an empty upload (Orthanc answers 400): check the destination URL`, { server });

  const warnings: string[] = [];
  // A gateway account that can also read sees every clinic's studies: allowed, but worth telling the site.
  const read = await ask('GET', '/patients?since=0&limit=1').catch(() => undefined);
  if (read?.status === 200) warnings.push('This account can also read every study on the research server: ask the research site for an upload-only account for this gateway (the access rules shipped with the gateway set one up)');
  if (new URL(destination.url).protocol === 'http:') warnings.push('The destination URL uses plain http: images and passwords cross the network unencrypted unless this is a private link; prefer https');
  return { ok: true, warnings, server };
}
