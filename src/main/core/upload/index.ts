export { storeInOrthanc, orthancRequest, UploadRejected, DestinationUnavailable, type OrthancDestination, type OrthancStoreAnswer } from './orthanc';
export { checkDestination, supportsOrthancVersion, MINIMUM_ORTHANC_VERSION } from './check';
export { sendToDestination } from './destination';
export { testConnection } from './test-connection';
