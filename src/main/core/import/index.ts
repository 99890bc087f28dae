export { ImportService, ImportRefused, ImportNotFound, IMPORT_SOURCE, type ImportDeps } from './import-service';
export { TokenBucket, RateMeter } from './throttle';
export { readFileLayout, type FileLayout } from './layout';
export { referencedFiles, mediaName } from './dicomdir';
