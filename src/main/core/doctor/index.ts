export {
  DoctorService, FREE_ATTEMPTS, unlockPauseMs,
  type DoctorServiceDeps, type DoctorSession, type ExportProgress, type ExportRequest, type ExportResult,
} from './doctor-service';
export {
  CrosswalkLocked, DoctorPasswordAlreadySet, DoctorPasswordNotSet, InvalidExportRequest, PasswordsDoNotMatch,
  UnlockThrottled, WeakPassword, WrongPassword,
} from './errors';
export { SCRYPT_PARAMS, hashPassword, passwordWeakness, verifyPassword, type PasswordHash } from './password';
export { CROSSWALK_CSV_HEADER, CROSSWALK_XLSX_COLUMNS, type CrosswalkFileFormat, type CsvDelimiter } from './export-zip';
export { createDoctorAccess, derivedAuditKey, openDoctorAccess, type AuditKeyOption, type DoctorAccess } from './doctor-access';
