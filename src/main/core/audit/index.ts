export {
  AuditLog, GENESIS_HASH, csvField, entryHash, entryMac,
  type AdoptionOutcome, type AuditLogOptions,
  type AuditActor, type AuditEntry, type AuditEntryInput, type AuditOutcome, type AuditVerification,
} from './audit-log';
