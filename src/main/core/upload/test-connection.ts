import dimse from 'dcmjs-dimse';
import type { DestinationSettings } from '../../../shared/settings';
import type { DestinationCheck } from '../../../shared/destination-check';
import { checkDestination } from './check';
import { DestinationUnavailable, orthancRequest } from './orthanc';

const { Client } = dimse;
const { CEchoRequest } = dimse.requests;
const ECHO_TIMEOUT_MS = 15_000;

const fail = (code: NonNullable<DestinationCheck['problem']>['code'], message: string): DestinationCheck => ({ ok: false, problem: { code, message }, warnings: [] });

/** A C-ECHO to a DICOM destination: does it answer, and accept our AE titles? */
function echo(destination: { host: string; port: number; callingAeTitle: string; calledAeTitle: string }): Promise<DestinationCheck> {
  const where = `${destination.calledAeTitle}@${destination.host}:${destination.port}`;
  return new Promise((resolve) => {
    const client = new Client();
    const request = new CEchoRequest();
    let outcome: DestinationCheck | undefined;
    request.on('response', (response: InstanceType<typeof dimse.responses.CEchoResponse>) => {
      outcome = response.getStatus() === 0
        ? { ok: true, warnings: [] }
        : fail('unexpected-answer', `DICOM destination ${where} answered C-ECHO with status 0x${response.getStatus().toString(16)}`);
    });
    client.on('associationRejected', () => {
      outcome = fail('unauthorized', `DICOM destination ${where} rejected the association: check the called and calling AE titles in Settings`);
    });
    client.on('networkError', (e: Error) => {
      outcome ??= fail('unreachable', `DICOM destination ${where} unreachable (${e.message}): check host and port in Settings`);
    });
    client.on('closed', () => resolve(outcome ?? fail('unexpected-answer', `DICOM destination ${where} closed the association without answering`)));
    client.addRequest(request);
    client.send(destination.host, destination.port, destination.callingAeTitle, destination.calledAeTitle, {
      connectTimeout: ECHO_TIMEOUT_MS, associationTimeout: ECHO_TIMEOUT_MS, pduTimeout: ECHO_TIMEOUT_MS,
    });
  });
}

/**
 * The Settings screen's "Test connection", for each destination type: Orthanc's full check (version, password,
 * upload right), a DICOMweb query, or a C-ECHO.
 */
export async function testConnection(destination: DestinationSettings): Promise<DestinationCheck> {
  if (destination.type === 'dimse') {
    const { host, port, calledAeTitle } = destination;
    if (!host || !port || !calledAeTitle) return fail('unreachable', 'A DICOM destination needs host, port and called AE title');
    return echo({ host, port, calledAeTitle, callingAeTitle: destination.callingAeTitle ?? 'DEID_GW' });
  }
  if (!destination.url) return fail('unreachable', 'Type the destination URL first');
  const http = { url: destination.url, username: destination.username, password: destination.password, caFile: destination.caFile };
  if (destination.type === 'orthanc-rest') return checkDestination(http);
  try {
    const { status } = await orthancRequest(http, 'GET', '/studies?limit=1', undefined, { timeoutMs: ECHO_TIMEOUT_MS });
    if (status === 401) return fail('unauthorized', 'The DICOMweb service refused the user name or password (401 Unauthorized): check them in Settings');
    // An upload-only account may not search: 403 still proves the service and the password.
    if (status === 200 || status === 204 || status === 403) return { ok: true, warnings: status === 200 ? ['This account can also search the DICOMweb service'] : [] };
    return fail('unexpected-answer', `The DICOMweb service answered HTTP ${status} to a search: check the destination URL (the DICOMweb root, e.g. …/dicom-web)`);
  } catch (error) {
    if (error instanceof DestinationUnavailable) return fail('unreachable', `${error.message}: check the destination URL in Settings`);
    throw error;
  }
}
