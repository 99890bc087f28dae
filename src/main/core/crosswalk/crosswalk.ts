import type { GatewayDatabase } from '../store';
import type { InstanceIdentity } from '../deid';
import crypto from 'node:crypto';
import { foldForSearch } from '../../../shared/search';
import { newResearchId, newUid, randomCode } from './ids';

export interface PatientLink {
  patientRef: number;
  researchId: string;
}

export interface StudyLink {
  studyRef: number;
  researchStudyUid: string;
  researchAccessionNumber: string;
  researchStudyId: string;
}

/**
 * The link between patients and research IDs, studies and their new identifiers, and original and
 * new UIDs. Every link is created once and then only read, so re-processing an instance after a crash
 * gives the same pseudonym and the same UIDs.
 */
export class Crosswalk {
  private readonly uidCache = new Map<string, string>();
  private readonly statements;

  constructor(private readonly db: GatewayDatabase, private readonly siteCode: string) {
    this.statements = {
      findPatient: db.prepare<[string, string], { id: number; research_id: string }>(
        'SELECT id, research_id FROM patients WHERE patient_id = ? AND issuer = ?',
      ),
      insertPatient: db.prepare(
        `INSERT INTO patients (research_id, patient_id, issuer, patient_name, name_search, birth_date, sex, created_at)
         VALUES (@researchId, @patientId, @issuer, @patientName, @nameSearch, @birthDate, @sex, @now)`,
      ),
      findStudy: db.prepare<[string], { id: number; research_study_uid: string; research_accession_number: string; research_study_id: string }>(
        'SELECT id, research_study_uid, research_accession_number, research_study_id FROM studies WHERE study_uid = ?',
      ),
      insertStudy: db.prepare(
        `INSERT INTO studies (patient_ref, study_uid, research_study_uid, study_date, accession_number, research_accession_number,
           study_id, research_study_id, modality, created_at)
         VALUES (@patientRef, @studyUid, @researchStudyUid, @studyDate, @accessionNumber, @researchAccessionNumber,
           @studyId, @researchStudyId, @modality, @now)`,
      ),
      findUid: db.prepare<[string], { replacement: string }>('SELECT replacement FROM uid_map WHERE original = ?'),
      insertUid: db.prepare('INSERT INTO uid_map (original, replacement) VALUES (?, ?)'),
      findShift: db.prepare<[number], { date_shift_days: number | null }>('SELECT date_shift_days FROM patients WHERE id = ?'),
      setShift: db.prepare('UPDATE patients SET date_shift_days = ? WHERE id = ? AND date_shift_days IS NULL'),
    };
  }

  /** The patient's research ID, created on first sight. Without a Patient ID, name and birth date identify the patient. */
  linkPatient(identity: InstanceIdentity): PatientLink {
    const patientId = identity.patientId || `(no ID) ${identity.patientName} ${identity.birthDate}`;
    const issuer = identity.issuerOfPatientId;
    return this.db.transaction((): PatientLink => {
      const found = this.statements.findPatient.get(patientId, issuer);
      if (found) return { patientRef: found.id, researchId: found.research_id };
      for (let attempt = 0; ; attempt++) {
        const researchId = newResearchId(this.siteCode);
        try {
          const result = this.statements.insertPatient.run({
            researchId, patientId, issuer, patientName: identity.patientName, nameSearch: foldForSearch(identity.patientName), birthDate: identity.birthDate, sex: identity.sex,
            now: new Date().toISOString(),
          });
          return { patientRef: Number(result.lastInsertRowid), researchId };
        } catch (error) {
          // 40 random bits: a clash is rare, and a new draw resolves it.
          if (attempt < 5 && String(error).includes('patients.research_id')) continue;
          throw error;
        }
      }
    })();
  }

  linkStudy(patient: PatientLink, identity: InstanceIdentity): StudyLink {
    return this.db.transaction((): StudyLink => {
      const found = this.statements.findStudy.get(identity.studyInstanceUid);
      if (found) {
        return {
          studyRef: found.id,
          researchStudyUid: found.research_study_uid,
          researchAccessionNumber: found.research_accession_number,
          researchStudyId: found.research_study_id,
        };
      }
      const link = {
        researchStudyUid: this.mapUid(identity.studyInstanceUid),
        researchAccessionNumber: randomCode(12),
        researchStudyId: randomCode(10),
      };
      const result = this.statements.insertStudy.run({
        patientRef: patient.patientRef, studyUid: identity.studyInstanceUid, studyDate: identity.studyDate,
        accessionNumber: identity.accessionNumber, studyId: identity.studyId, modality: identity.modality,
        now: new Date().toISOString(), ...link,
      });
      return { studyRef: Number(result.lastInsertRowid), ...link };
    })();
  }

  /**
   * The patient's date shift in whole days, drawn once (crypto-random, never 0, within ±maxDays) and then
   * kept, so every study of the patient moves by the same amount and the intervals between them stay exact.
   */
  dateShiftDays(patient: PatientLink, maxDays: number): number {
    return this.db.transaction((): number => {
      const found = this.statements.findShift.get(patient.patientRef)?.date_shift_days;
      if (found !== null && found !== undefined) return found;
      const magnitude = crypto.randomInt(1, maxDays + 1);
      const days = crypto.randomInt(2) === 0 ? -magnitude : magnitude;
      this.statements.setShift.run(days, patient.patientRef);
      return days;
    })();
  }

  /**
   * Runs `work`'s links and UID mappings as one transaction: one commit (one disk sync) per instance instead of
   * one per new UID. If it throws, none of it is kept, and the cache forgets too, since it may hold mappings the
   * store just rolled back.
   */
  inOneTransaction<T>(work: () => T): T {
    try {
      return this.db.transaction(work)();
    } catch (error) {
      this.uidCache.clear();
      throw error;
    }
  }

  /** The same original UID always maps to the same new UID, across instances, studies and restarts. */
  mapUid(original: string): string {
    const cached = this.uidCache.get(original);
    if (cached) return cached;
    const found = this.statements.findUid.get(original);
    let replacement = found?.replacement;
    if (!replacement) {
      replacement = newUid();
      this.statements.insertUid.run(original, replacement);
    }
    if (this.uidCache.size > 100_000) this.uidCache.clear();
    this.uidCache.set(original, replacement);
    return replacement;
  }
}
