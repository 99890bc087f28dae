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

/** The doctor service and audit log over an open database: what createGateway builds, and what the command line uses. */
export function createDoctorAccess(db: GatewayDatabase, settings: () => GatewaySettings, logger: Logger): Omit<DoctorAccess, 'close'> {
  const audit = new AuditLog(db);
  const doctor = new DoctorService({
    db, audit, logger, siteCode: settings().site.code, sessionMinutes: () => settings().doctor.sessionMinutes,
  });
  return { doctor, audit };
}

/**
 * Opens the data folder's database for the doctor alone, without starting intake or uploads, so the
 * crosswalk can be looked up or exported beside a running gateway (SQLite serialises the two processes).
 */
export function openDoctorAccess(options: { settings: GatewaySettings; dataDir: string; databaseKey: string; logger: Logger }): DoctorAccess {
  const db = openDatabase(path.join(options.dataDir, 'gateway.db'), options.databaseKey);
  return { ...createDoctorAccess(db, () => options.settings, options.logger), close: () => db.close() };
}
