export { openDatabase, DatabaseKeyError, type GatewayDatabase } from './database';
export { migrate, DatabaseTooNewError, type Migration } from './migrate';
export { DeferredSync } from './deferred-sync';
export {
  deriveSealingKey,
  SealingKey,
  SealedFileDamaged,
  SealedFileTooNew,
  SealedInstanceSource,
  SealedFileWriter,
  openSealedInstance,
  createSealedWriteStream,
  createSealedReadStream,
  writeSealedFile,
  readSealedFile,
  isSealedFile,
  sealFileInPlace,
  sealedFiles,
} from './sealed-file';
