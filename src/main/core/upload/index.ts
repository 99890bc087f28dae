export { storeInOrthanc, orthancRequest, requestAbort, UploadRejected, DestinationUnavailable, type OrthancDestination, type OrthancStoreAnswer } from './orthanc';
export { checkDestination, supportsOrthancVersion, MINIMUM_ORTHANC_VERSION } from './check';
export { uploadInstance, type UploadAnswer } from './destination';
export { confirmDelivery, CSTORE_STATUS_ONLY, type DeliveryCheck, type ExpectedInstance } from './confirm';
export { testConnection } from './test-connection';
