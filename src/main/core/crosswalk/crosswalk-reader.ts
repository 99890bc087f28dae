import type { GatewayDatabase } from '../store';
import type { CrosswalkPatientView, CrosswalkStudyView } from '../../../shared/api';

/** One study of a patient in the crosswalk: what the doctor's screen shows, plus the research accession number. */
export type CrosswalkStudy = CrosswalkStudyView & { researchAccessionNumber: string };

/** Who a research ID is: what the doctor sees after unlocking (PHI: never logged, never audited). */
export interface CrosswalkPatient extends Omit<CrosswalkPatientView, 'studies'> {
  studies: CrosswalkStudy[];
}

/** Which part of the crosswalk to export: everything, studies in a date range (YYYYMMDD, inclusive), or chosen research IDs. */
export type CrosswalkFilter =
  | { kind: 'all' }
  | { kind: 'dateRange'; from?: string; to?: string }
  | { kind: 'researchIds'; researchIds: string[] };

/** One export row: the patient, then one of their studies (study fields empty, counts 0, for a patient with none). */
export type CrosswalkRow = Omit<CrosswalkPatient, 'studies'> & Pick<CrosswalkStudy, 'studyDate' | 'accessionNumber' | 'studyInstanceUid' | 'researchStudyUid'> & {
  /** The study's instances received, and of them those delivered (uploaded and confirmed at the research server). */
  instances: number;
  delivered: number;
};

/** Which rows an export keeps besides its filter: every patient, or only those with an instance delivered to research. */
export interface CrosswalkScope {
  deliveredOnly?: boolean;
}

interface PatientRow { id: number; research_id: string; patient_id: string; issuer: string; patient_name: string; birth_date: string; sex: string }
interface StudyRow { study_date: string; accession_number: string; study_uid: string; research_study_uid: string; research_accession_number: string; modality: string }
interface JoinedRow {
  research_id: string; patient_id: string; issuer: string; patient_name: string; birth_date: string; sex: string; study_date: string | null;
  accession_number: string | null; study_uid: string | null; research_study_uid: string | null; instances: number; delivered: number;
}

// A patient with at least one instance the research server holds: the only ones a researcher can ask about.
const DELIVERED_PATIENT = `EXISTS (SELECT 1 FROM studies ds JOIN instances di ON di.study_ref = ds.id WHERE ds.patient_ref = p.id AND di.state = 'uploaded')`;
const scopeSql = (scope: CrosswalkScope): string => (scope.deliveredOnly ? ` AND ${DELIVERED_PATIENT}` : '');

const FILTER_SQL: Record<CrosswalkFilter['kind'], { join: string; where: string }> = {
  all: { join: 'LEFT JOIN', where: '1' },
  // Only the studies in the range, and only patients who have one.
  dateRange: { join: 'JOIN', where: `s.study_date <> '' AND s.study_date >= @from AND s.study_date <= @to` },
  researchIds: { join: 'LEFT JOIN', where: 'p.research_id IN (SELECT value FROM json_each(@ids))' },
};

const CHUNK = 2000;

/** Reads the crosswalk for the doctor: look-up of one patient and the rows of an export, in chunks. */
export class CrosswalkReader {
  private readonly s;

  constructor(private readonly db: GatewayDatabase) {
    const patientColumns = 'id, research_id, patient_id, issuer, patient_name, birth_date, sex';
    this.s = {
      byResearchId: db.prepare<[string], PatientRow>(`SELECT ${patientColumns} FROM patients WHERE research_id = ?`),
      byResearchStudyUid: db.prepare<[string], PatientRow>(
        `SELECT ${patientColumns} FROM patients WHERE id = (SELECT patient_ref FROM studies WHERE research_study_uid = ? LIMIT 1)`,
      ),
      studiesOf: db.prepare<[number], StudyRow>(
        `SELECT study_date, accession_number, study_uid, research_study_uid, research_accession_number, modality
         FROM studies WHERE patient_ref = ? ORDER BY study_date, id`,
      ),
      // The patient id that ends a window of CHUNK patients after `after`.
      windowEnd: db.prepare<[number], { id: number }>(`SELECT id FROM patients WHERE id > ? ORDER BY id LIMIT 1 OFFSET ${CHUNK - 1}`),
    };
  }

  /** The patient behind a research ID or a research Study Instance UID, with every study; undefined if unknown. */
  lookup(query: { researchId: string } | { researchStudyUid: string }): CrosswalkPatient | undefined {
    const p = 'researchId' in query ? this.s.byResearchId.get(query.researchId.trim().toUpperCase()) : this.s.byResearchStudyUid.get(query.researchStudyUid.trim());
    if (!p) return undefined;
    return {
      researchId: p.research_id, patientId: p.patient_id, issuer: p.issuer, name: p.patient_name, birthDate: p.birth_date, sex: p.sex,
      studies: this.s.studiesOf.all(p.id).map((s) => ({
        studyDate: s.study_date, accessionNumber: s.accession_number, studyInstanceUid: s.study_uid,
        researchStudyUid: s.research_study_uid, researchAccessionNumber: s.research_accession_number, modality: s.modality,
      })),
    };
  }

  /** How many rows an export with this filter has (for progress). */
  countRows(filter: CrosswalkFilter, scope: CrosswalkScope = {}): number {
    const { join, where } = FILTER_SQL[filter.kind];
    const row = this.db
      .prepare(`SELECT count(*) AS n FROM patients p ${join} studies s ON s.patient_ref = p.id WHERE ${where}${scopeSql(scope)}`)
      .get(parametersOf(filter)) as { n: number };
    return row.n;
  }

  /**
   * The export rows in chunks of about CHUNK patients, ordered by patient and study date. Each chunk is
   * one short query, so the gateway's own work on this connection is never blocked by a long export.
   */
  *rows(filter: CrosswalkFilter, scope: CrosswalkScope = {}): Generator<CrosswalkRow[]> {
    const { join, where } = FILTER_SQL[filter.kind];
    const chunk = this.db.prepare<[Record<string, unknown>], JoinedRow>(
      `SELECT p.research_id, p.patient_id, p.issuer, p.patient_name, p.birth_date, p.sex,
              s.study_date, s.accession_number, s.study_uid, s.research_study_uid,
              (SELECT count(*) FROM instances i WHERE i.study_ref = s.id) AS instances,
              (SELECT count(*) FROM instances i WHERE i.study_ref = s.id AND i.state = 'uploaded') AS delivered
       FROM patients p ${join} studies s ON s.patient_ref = p.id
       WHERE p.id > @after AND p.id <= @upto AND ${where}${scopeSql(scope)}
       ORDER BY p.id, s.study_date, s.id`,
    );
    const params = parametersOf(filter);
    let after = 0;
    for (;;) {
      const upto = this.s.windowEnd.get(after)?.id ?? Number.MAX_SAFE_INTEGER;
      const rows = chunk.all({ ...params, after, upto }).map((r): CrosswalkRow => ({
        researchId: r.research_id, patientId: r.patient_id, issuer: r.issuer, name: r.patient_name, birthDate: r.birth_date, sex: r.sex,
        studyDate: r.study_date ?? '', accessionNumber: r.accession_number ?? '', studyInstanceUid: r.study_uid ?? '', researchStudyUid: r.research_study_uid ?? '',
        instances: r.instances, delivered: r.delivered,
      }));
      if (rows.length) yield rows;
      if (upto === Number.MAX_SAFE_INTEGER) return;
      after = upto;
    }
  }
}

function parametersOf(filter: CrosswalkFilter): Record<string, string> {
  if (filter.kind === 'dateRange') return { from: filter.from || '00000000', to: filter.to || '99999999' };
  if (filter.kind === 'researchIds') return { ids: JSON.stringify(filter.researchIds.map((id) => id.trim().toUpperCase())) };
  return {};
}
