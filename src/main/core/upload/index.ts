export { storeInOrthanc, orthancRequest, UploadRejected, DestinationUnavailable, type OrthancDestination, type OrthancStoreAnswer } from './orthanc';
