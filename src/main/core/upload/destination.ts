import type { DestinationSettings } from '../../../shared/settings';
import { storeInOrthanc, UploadRejected } from './orthanc';
import { storeWithStow } from './dicomweb';
import { storeWithCStore } from './dimse';

/** Sends one de-identified file to the destination the settings name; throws DestinationUnavailable or UploadRejected. */
export async function sendToDestination(destination: DestinationSettings, file: string): Promise<string> {
  if (destination.type === 'dimse') {
    const { host, port, calledAeTitle } = destination;
    if (!host || !port || !calledAeTitle) throw new UploadRejected('DICOM destination needs host, port and calledAeTitle in Settings', 0);
    await storeWithCStore({ host, port, calledAeTitle, callingAeTitle: destination.callingAeTitle ?? 'DEID_GW' }, file);
    return 'C-STORE success';
  }
  if (!destination.url) throw new UploadRejected('Destination URL is missing in Settings', 0);
  const http = { url: destination.url, username: destination.username, password: destination.password, caFile: destination.caFile };
  if (destination.type === 'dicomweb') {
    await storeWithStow(http, file);
    return 'STOW-RS stored';
  }
  return (await storeInOrthanc(http, file)).Status;
}
