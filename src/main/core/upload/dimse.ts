import dimse from 'dcmjs-dimse';
import { DestinationUnavailable, UploadRejected } from './orthanc';

const { Client } = dimse;
const { CStoreRequest, CFindRequest } = dimse.requests;

export interface DimseDestination {
  host: string;
  port: number;
  callingAeTitle: string;
  calledAeTitle: string;
}

const TIMEOUT_MS = 60_000;

/** Failure statuses worth retrying: the peer is out of resources now, not refusing this instance. */
const isTransientStatus = (status: number): boolean => (status & 0xff00) === 0xa700;
const isSuccessOrWarning = (status: number): boolean => status === 0 || status === 0xb000 || status === 0xb006 || status === 0xb007;

/** Sends one DICOM file with a C-STORE on its own association to a DICOM destination (a PACS, storescp, Orthanc's DICOM port). */
export function storeWithCStore(destination: DimseDestination, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const request = new CStoreRequest(file);
    let outcome: Error | null | undefined;
    const where = `${destination.calledAeTitle}@${destination.host}:${destination.port}`;
    request.on('response', (response: InstanceType<typeof dimse.responses.CStoreResponse>) => {
      const status = response.getStatus();
      if (isSuccessOrWarning(status)) outcome = null;
      else if (isTransientStatus(status)) outcome = new DestinationUnavailable(`DICOM destination ${where} is out of resources (status 0x${status.toString(16)})`);
      else outcome = new UploadRejected(`DICOM destination ${where} refused the instance: status 0x${status.toString(16).toUpperCase()} ${response.getErrorComment() ?? ''}`.trim(), 0);
    });
    client.on('associationRejected', (result: { result: number; source: number; reason: number }) => {
      // Result 1 is a permanent rejection (wrong AE titles); 2 is transient (busy).
      outcome = result.result === 1
        ? new UploadRejected(`DICOM destination ${where} rejected the association (reason ${result.reason}); check the AE titles in Settings`, 0)
        : new DestinationUnavailable(`DICOM destination ${where} is busy (association rejected, reason ${result.reason})`);
    });
    client.on('networkError', (e: Error) => {
      outcome ??= new DestinationUnavailable(`DICOM destination ${where} unreachable: ${e.message}`, { cause: e });
    });
    client.on('closed', () => {
      if (outcome === null) resolve();
      else reject(outcome ?? new DestinationUnavailable(`DICOM destination ${where} closed the association without an answer`));
    });
    client.addRequest(request);
    client.send(destination.host, destination.port, destination.callingAeTitle, destination.calledAeTitle, {
      connectTimeout: TIMEOUT_MS,
      associationTimeout: TIMEOUT_MS,
      pduTimeout: TIMEOUT_MS,
    });
  });
}

/** What a C-FIND for one instance found: it is there, it is not, or the peer does not answer queries. */
export type CFindOutcome = 'found' | 'not-found' | 'unsupported';

/**
 * Asks a DICOM destination with a Study Root C-FIND at IMAGE level whether it holds an instance. A peer that
 * refuses the query (no Q/R presentation context, association rejected, a failure status) is 'unsupported':
 * many archives (dcmtk's storescp among them) store but do not answer queries.
 */
export function findInstanceWithCFind(
  destination: DimseDestination,
  keys: { studyInstanceUid: string; seriesInstanceUid?: string; sopInstanceUid: string },
): Promise<CFindOutcome> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const request = CFindRequest.createImageFindRequest({
      StudyInstanceUID: keys.studyInstanceUid,
      SeriesInstanceUID: keys.seriesInstanceUid ?? '',
      SOPInstanceUID: keys.sopInstanceUid,
    });
    let found = false;
    let answered = false;
    let failed = false;
    let unreachable: Error | undefined;
    const where = `${destination.calledAeTitle}@${destination.host}:${destination.port}`;
    request.on('response', (response: InstanceType<typeof dimse.responses.CFindResponse>) => {
      const status = response.getStatus();
      answered = true;
      if (status === 0xff00 || status === 0xff01) {
        const uid = response.getDataset()?.getElement('SOPInstanceUID');
        if (typeof uid === 'string' && uid.trim() === keys.sopInstanceUid) found = true;
      } else if (status !== 0) failed = true;
    });
    client.on('networkError', (e: Error) => {
      unreachable ??= new DestinationUnavailable(`DICOM destination ${where} unreachable for the delivery check: ${e.message}`, { cause: e });
    });
    client.on('closed', () => {
      if (unreachable && !answered) reject(unreachable);
      else if (found) resolve('found');
      else resolve(!answered || failed ? 'unsupported' : 'not-found');
    });
    client.addRequest(request);
    client.send(destination.host, destination.port, destination.callingAeTitle, destination.calledAeTitle, {
      connectTimeout: TIMEOUT_MS,
      associationTimeout: TIMEOUT_MS,
      pduTimeout: TIMEOUT_MS,
    });
  });
}
