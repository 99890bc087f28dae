export {
  AuditLog, GENESIS_HASH, csvField, entryHash,
  type AuditActor, type AuditEntry, type AuditEntryInput, type AuditOutcome, type AuditVerification,
} from './audit-log';
