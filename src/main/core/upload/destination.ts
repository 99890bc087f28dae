import crypto from 'node:crypto';
import type { DestinationSettings } from '../../../shared/settings';
import { storeInOrthanc, UploadRejected } from './orthanc';
import { storeWithStow } from './dicomweb';
import { storeWithCStore } from './dimse';

/** The destination's answer to an upload: its status, and the ID it gave the instance where it gives one (Orthanc). */
export interface UploadAnswer {
  status: string;
  serverInstanceId?: string;
  /** MD5 of the bytes sent, where the destination exposes the stored file's MD5 to compare it with (Orthanc). */
  md5?: string;
}

/** Sends one de-identified file to the destination the settings name; throws DestinationUnavailable or UploadRejected. */
export async function uploadInstance(destination: DestinationSettings, file: string): Promise<UploadAnswer> {
  if (destination.type === 'dimse') {
    const { host, port, calledAeTitle } = destination;
    if (!host || !port || !calledAeTitle) throw new UploadRejected('DICOM destination needs host, port and calledAeTitle in Settings', 0);
    await storeWithCStore({ host, port, calledAeTitle, callingAeTitle: destination.callingAeTitle ?? 'DEID_GW' }, file);
    return { status: 'C-STORE success' };
  }
  if (!destination.url) throw new UploadRejected('Destination URL is missing in Settings', 0);
  const http = { url: destination.url, username: destination.username, password: destination.password, caFile: destination.caFile };
  if (destination.type === 'dicomweb') {
    await storeWithStow(http, file);
    return { status: 'STOW-RS stored' };
  }
  // Hashed as it is sent: reading a 27 MB file again only to hash it cost as much as the upload itself.
  const hash = crypto.createHash('md5');
  const answer = await storeInOrthanc(http, file, (chunk) => hash.update(chunk));
  return { status: answer.Status, serverInstanceId: answer.ID, md5: hash.digest('hex') };
}
