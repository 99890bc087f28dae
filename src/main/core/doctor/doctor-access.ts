import crypto from 'node:crypto';
import path from 'node:path';
import type { GatewaySettings } from '../../../shared/settings';
import type { Logger } from '../log';
import { openDatabase, type GatewayDatabase } from '../store';
import { AuditLog } from '../audit';
import { DoctorService } from './doctor-service';

export interface DoctorAccess {
  doctor: DoctorService;
  audit: AuditLog;
  close(): void;
}

/** The audit key as the hosts pass it: 64 hex from their secret store, and whether it was just made. */
export interface AuditKeyOption {
  key: string;
  /** The key is new: entries written before it are checked and re-signed with it (AuditLog.adoptUnkeyedEntries). */
  adoptUnkeyedEntries?: boolean;
}

/** A stand-in audit key for embedders that give none: derived from the database key, so it guards nothing against its holder. */
export const derivedAuditKey = (databaseKey: string): string =>
  Buffer.from(crypto.hkdfSync('sha256', Buffer.from(databaseKey, 'hex'), Buffer.alloc(0), 'deid-gateway audit log', 32)).toString('hex');

/** The doctor service and audit log over an open database: what createGateway builds, and what the command line uses. */
export function createDoctorAccess(db: GatewayDatabase, settings: () => GatewaySettings, logger: Logger, auditKey?: AuditKeyOption): Omit<DoctorAccess, 'close'> {
  const audit = new AuditLog(db, { key: auditKey?.key });
  if (auditKey?.adoptUnkeyedEntries) {
    const outcome = audit.adoptUnkeyedEntries();
    const log = logger.child('audit');
    if (outcome.adopted === 'resigned') log.info(`audit log: ${outcome.entries} earlier entries signed with the new audit key`);
    if (outcome.adopted === 'refused') log.error(`audit log: earlier entries not signed with the new key, their chain is broken (${outcome.problem}); audit-verify reports it`);
  }
  const doctor = new DoctorService({
    db, audit, logger, siteCode: settings().site.code, sessionMinutes: () => settings().doctor.sessionMinutes,
  });
  return { doctor, audit };
}

/**
 * Opens the data folder's database for the doctor alone, without starting intake or uploads, so the
 * crosswalk can be looked up or exported beside a running gateway (SQLite serialises the two processes).
 */
export function openDoctorAccess(options: { settings: GatewaySettings; dataDir: string; databaseKey: string; auditKey?: AuditKeyOption; logger: Logger }): DoctorAccess {
  const db = openDatabase(path.join(options.dataDir, 'gateway.db'), options.databaseKey);
  return { ...createDoctorAccess(db, () => options.settings, options.logger, options.auditKey ?? { key: derivedAuditKey(options.databaseKey) }), close: () => db.close() };
}
