import type { DestinationSettings } from '../../../shared/settings';
import { DestinationUnavailable, orthancRequest, throwForHttpStatus, UploadRejected, type OrthancDestination } from './orthanc';
import { findInstanceWithCFind } from './dimse';

/** What the gateway knows about the file it sent, to compare with what the server holds. */
export interface ExpectedInstance {
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  transferSyntaxUid?: string;
  sizeBytes?: number;
  md5?: string;
  /** The ID the server gave in its upload answer (Orthanc), if there was one. */
  serverInstanceId?: string;
}

/**
 * The server's side of a delivery. 'present': it holds the instance and everything it exposes matches
 * (`confirmation` lists what was compared); 'missing': it does not hold it; 'mismatch': it holds something
 * under that UID that differs (`reason`, readable); 'unverifiable': it cannot be asked (C-STORE status only).
 * An unreachable server throws DestinationUnavailable (the caller retries later).
 */
export type DeliveryCheck =
  | { status: 'present'; serverInstanceId: string; confirmation: string }
  | { status: 'missing' }
  | { status: 'mismatch'; reason: string }
  | { status: 'unverifiable'; confirmation: string };

/** The confirmation recorded for a DICOM destination that does not answer C-FIND. */
export const CSTORE_STATUS_ONLY = 'C-STORE status only (the destination does not answer C-FIND)';

/** Asks the destination whether it holds the instance, and compares what it exposes with what was sent. */
export async function confirmDelivery(destination: DestinationSettings, expected: ExpectedInstance): Promise<DeliveryCheck> {
  if (destination.type === 'dimse') {
    const { host, port, calledAeTitle } = destination;
    if (!host || !port || !calledAeTitle) throw new UploadRejected('DICOM destination needs host, port and calledAeTitle in Settings', 0);
    const found = await findInstanceWithCFind({ host, port, calledAeTitle, callingAeTitle: destination.callingAeTitle ?? 'DEID_GW' }, {
      studyInstanceUid: expected.studyInstanceUid,
      seriesInstanceUid: expected.seriesInstanceUid,
      sopInstanceUid: expected.sopInstanceUid,
    });
    if (found === 'unsupported') return { status: 'unverifiable', confirmation: CSTORE_STATUS_ONLY };
    return found === 'found' ? { status: 'present', serverInstanceId: expected.sopInstanceUid, confirmation: 'C-FIND: SOP Instance UID' } : { status: 'missing' };
  }
  if (!destination.url) throw new UploadRejected('Destination URL is missing in Settings', 0);
  const http = { url: destination.url, username: destination.username, password: destination.password, caFile: destination.caFile };
  return destination.type === 'dicomweb' ? confirmWithQido(http, expected) : confirmInOrthanc(http, expected);
}

async function get(destination: OrthancDestination, method: string, route: string, body?: string): Promise<{ status: number; text: string }> {
  const answer = await orthancRequest(destination, method, route, body === undefined ? undefined : { bytes: Buffer.from(body), contentType: 'text/plain' });
  if (answer.status >= 500 || answer.status === 408 || answer.status === 429) throwForHttpStatus(answer.status);
  return answer;
}

function refusedCheck(status: number): UploadRejected {
  // 401 is the password (the same advice as for an upload); 403 is the site's access rules.
  const advice = status === 401
    ? 'check the user name and password in Settings'
    : 'the account must be allowed to look up its own uploads: resources/research-orthanc';
  return new UploadRejected(`Research server refused the delivery check: HTTP ${status} (${advice})`, status);
}

/**
 * Orthanc's REST API, with only the routes the shipped access rules give a gateway account: /tools/lookup by
 * the SOP Instance UID, then the stored file's size and MD5 and the transfer syntax it was stored in.
 */
async function confirmInOrthanc(destination: OrthancDestination, expected: ExpectedInstance): Promise<DeliveryCheck> {
  const lookup = await get(destination, 'POST', '/tools/lookup', expected.sopInstanceUid);
  if (lookup.status !== 200) throw refusedCheck(lookup.status);
  const hits = (JSON.parse(lookup.text || '[]') as Array<{ ID: string; Type: string }>).filter((h) => h.Type === 'Instance');
  if (hits.length === 0) return { status: 'missing' };
  const id = hits[0]!.ID;
  if (expected.serverInstanceId && id !== expected.serverInstanceId) {
    return { status: 'mismatch', reason: `Research server holds this SOP Instance UID under another instance (ID ${id}, the upload answered ${expected.serverInstanceId})` };
  }
  const compared = ['SOP Instance UID'];
  const fact = async (route: string): Promise<string | undefined> => {
    const answer = await get(destination, 'GET', `/instances/${id}${route}`);
    if (answer.status === 404) return undefined; // not stored by this server (MD5 off, an old Orthanc)
    if (answer.status !== 200) throw refusedCheck(answer.status);
    return answer.text.trim();
  };
  const [size, md5, syntax] = await Promise.all([fact('/attachments/dicom/size'), fact('/attachments/dicom/md5'), fact('/metadata/TransferSyntax')]);
  // The transfer syntax first: a server that transcodes on arrival changes size and MD5 too, and this says why.
  if (expected.transferSyntaxUid !== undefined && syntax !== undefined) {
    if (syntax !== expected.transferSyntaxUid) return { status: 'mismatch', reason: `Research server holds this instance in another transfer syntax (${syntax}, sent ${expected.transferSyntaxUid})` };
    compared.push('transfer syntax');
  }
  if (expected.sizeBytes !== undefined && size !== undefined) {
    if (Number(size) !== expected.sizeBytes) return { status: 'mismatch', reason: `Research server holds this instance with a different size (${size} bytes, sent ${expected.sizeBytes})` };
    compared.push('size');
  }
  if (expected.md5 !== undefined && md5 !== undefined) {
    if (md5.toLowerCase() !== expected.md5.toLowerCase()) return { status: 'mismatch', reason: 'Research server holds a different file under this SOP Instance UID (MD5 differs)' };
    compared.push('MD5');
  }
  return { status: 'present', serverInstanceId: id, confirmation: `Orthanc REST: ${compared.join(', ')}` };
}

type DicomJson = Array<Record<string, { Value?: unknown[] } | undefined>>;
const first = (item: DicomJson[number] | undefined, tag: string): unknown => item?.[tag]?.Value?.[0];

/** DICOMweb QIDO-RS (PS3.18 §10.6) for the instance within its study, by SOP Instance UID. */
async function confirmWithQido(destination: OrthancDestination, expected: ExpectedInstance): Promise<DeliveryCheck> {
  // No includefield: asking for an attribute outside the server's index may make it read the stored file.
  const route = `/studies/${expected.studyInstanceUid}/instances?SOPInstanceUID=${expected.sopInstanceUid}`;
  const answer = await get(destination, 'GET', route);
  // 204 No Content: nothing matched (an empty study is not an error for QIDO).
  if (answer.status === 204 || answer.status === 404) return { status: 'missing' };
  if (answer.status !== 200) throw refusedCheck(answer.status);
  let items: DicomJson;
  try {
    items = answer.text ? (JSON.parse(answer.text) as DicomJson) : [];
  } catch (error) {
    throw new DestinationUnavailable('Research server gave a QIDO-RS answer that is not DICOM JSON', { cause: error });
  }
  const item = items.find((i) => first(i, '00080018') === expected.sopInstanceUid);
  if (!item) return { status: 'missing' };
  const compared = ['SOP Instance UID', 'Study Instance UID'];
  // Transfer Syntax UID, or Available Transfer Syntax UID: some servers return one (Orthanc 1.10 neither).
  const syntax = first(item, '00020010') ?? first(item, '00083002');
  if (typeof syntax === 'string' && expected.transferSyntaxUid !== undefined) {
    if (syntax !== expected.transferSyntaxUid) return { status: 'mismatch', reason: `Research server holds this instance in another transfer syntax (${syntax}, sent ${expected.transferSyntaxUid})` };
    compared.push('transfer syntax');
  }
  const retrieveUrl = first(item, '00081190');
  return { status: 'present', serverInstanceId: typeof retrieveUrl === 'string' ? retrieveUrl : expected.sopInstanceUid, confirmation: `QIDO-RS: ${compared.join(', ')}` };
}
