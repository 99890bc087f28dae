import type { GatewayDatabase } from '../store';
import type { InstanceState } from '../../../shared/domain';
import type { HeldInstance, StudyInstance, StudyState, StudySummary } from '../../../shared/api';
import { foldForSearch, searchDatePrefix } from '../../../shared/search';

/** Read models for the screens: studies, their instances, the review list, today's counts. Reads only. */

interface StudyRow {
  study_key: number;
  research_id: string;
  research_study_uid: string;
  patient_name: string;
  patient_id: string;
  accession_number: string;
  study_date: string;
  modality: string;
  instances: number;
  deidentified: number;
  uploaded: number;
  failed: number;
  held: number;
  retrying: number;
  discarded: number;
  last_error: string | null;
  updated_at: string | null;
  created_at: string;
}

interface InstanceRow {
  id: number;
  research_sop_instance_uid: string | null;
  state: InstanceState;
  attempts: number;
  last_error: string | null;
  received_at: string;
  updated_at: string;
  size_bytes: number;
}

export interface InstanceFiles {
  id: number;
  state: InstanceState;
  spoolPath: string;
  outboxPath: string | null;
  studyRef: number | null;
}

export function studyStateOf(r: { instances: number; uploaded: number; failed: number; held: number; retrying: number; discarded: number }): StudyState {
  if (r.failed > 0) return 'failed';
  if (r.held > 0) return 'held';
  // Discarded instances were a technologist's decision: the rest being uploaded completes the study.
  if (r.uploaded > 0 && r.uploaded + r.discarded === r.instances) return 'complete';
  if (r.retrying > 0) return 'retrying';
  return 'in-progress';
}

// A DICOM person name (FAMILY^GIVEN^MIDDLE) for people: "FAMILY, GIVEN MIDDLE".
export function formatPersonName(pn: string): string {
  const [family = '', given = '', middle = ''] = pn.split('=')[0]!.split('^');
  const rest = [given, middle].filter(Boolean).join(' ');
  return rest ? `${family}, ${rest}` : family;
}

const toSummary = (r: StudyRow): StudySummary => ({
  studyKey: r.study_key,
  researchId: r.research_id,
  researchStudyUid: r.research_study_uid,
  patientName: formatPersonName(r.patient_name),
  // A patient without a Patient ID is keyed by name and birth date in the crosswalk: that key is not an ID to show.
  patientId: r.patient_id.startsWith(NO_ID_PREFIX) ? '' : r.patient_id,
  accessionNumber: r.accession_number,
  studyDate: r.study_date,
  modality: r.modality,
  instances: r.instances,
  deidentified: r.deidentified,
  uploaded: r.uploaded,
  failed: r.failed,
  held: r.held,
  state: studyStateOf(r),
  lastError: r.last_error ?? undefined,
  updatedAt: r.updated_at ?? r.created_at,
});

// Per-study aggregates over its instances; `s` is the studies row.
const AGGREGATES = `
  count(i.id) AS instances,
  coalesce(sum(i.state IN ('deidentified', 'uploading', 'uploaded') OR (i.state = 'failed' AND i.outbox_path IS NOT NULL)), 0) AS deidentified,
  coalesce(sum(i.state = 'uploaded'), 0) AS uploaded,
  coalesce(sum(i.state = 'failed'), 0) AS failed,
  coalesce(sum(i.state = 'held'), 0) AS held,
  coalesce(sum(i.state = 'discarded'), 0) AS discarded,
  coalesce(sum(i.state IN ('deidentified', 'uploading') AND i.attempts > 0), 0) AS retrying,
  max(i.updated_at) AS updated_at,
  (SELECT e.last_error FROM instances e WHERE e.study_ref = s.id AND e.last_error IS NOT NULL AND e.state NOT IN ('uploaded', 'discarded')
     ORDER BY e.updated_at DESC LIMIT 1) AS last_error`;

const STUDY_COLUMNS = `s.id AS study_key, p.research_id, s.research_study_uid, p.patient_name, p.patient_id, s.accession_number,
  s.study_date, s.modality, s.created_at`;
const NO_ID_PREFIX = '(no ID) ';

// Which studies a state filter keeps, as a condition on `s`.
const STATE_FILTER: Record<StudyState, string> = {
  failed: `EXISTS (SELECT 1 FROM instances x WHERE x.study_ref = s.id AND x.state = 'failed')`,
  held: `EXISTS (SELECT 1 FROM instances x WHERE x.study_ref = s.id AND x.state = 'held')
         AND NOT EXISTS (SELECT 1 FROM instances x WHERE x.study_ref = s.id AND x.state = 'failed')`,
  complete: `EXISTS (SELECT 1 FROM instances x WHERE x.study_ref = s.id)
             AND NOT EXISTS (SELECT 1 FROM instances x WHERE x.study_ref = s.id AND x.state NOT IN ('uploaded', 'discarded'))`,
  retrying: `EXISTS (SELECT 1 FROM instances x WHERE x.study_ref = s.id AND x.state IN ('deidentified', 'uploading') AND x.attempts > 0)
             AND NOT EXISTS (SELECT 1 FROM instances x WHERE x.study_ref = s.id AND x.state IN ('failed', 'held'))`,
  'in-progress': `EXISTS (SELECT 1 FROM instances x WHERE x.study_ref = s.id AND x.state IN ('received', 'deidentified', 'uploading'))
                  AND NOT EXISTS (SELECT 1 FROM instances x WHERE x.study_ref = s.id AND (x.state IN ('failed', 'held') OR (x.state IN ('deidentified', 'uploading') AND x.attempts > 0)))`,
};

const MAX_SEARCH_WORDS = 6;
const escapeLike = (word: string): string => word.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Local midnight as an ISO instant, for "today" in the clinic's time zone. */
export function startOfLocalDay(now: Date): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

export class StudyQueries {
  private readonly s;

  constructor(private readonly db: GatewayDatabase) {
    this.s = {
      study: db.prepare<[number], StudyRow>(
        `SELECT ${STUDY_COLUMNS}, ${AGGREGATES}
         FROM studies s JOIN patients p ON p.id = s.patient_ref LEFT JOIN instances i ON i.study_ref = s.id
         WHERE s.id = ? GROUP BY s.id`,
      ),
      studyByUid: db.prepare<[string], { id: number }>('SELECT id FROM studies WHERE research_study_uid = ? ORDER BY id LIMIT 1'),
      instancesOf: db.prepare<[number], InstanceRow>(
        `SELECT id, research_sop_instance_uid, state, attempts, last_error, received_at, updated_at, size_bytes
         FROM instances WHERE study_ref = ? ORDER BY id`,
      ),
      files: db.prepare<[number], { id: number; state: InstanceState; spool_path: string; outbox_path: string | null; study_ref: number | null }>(
        'SELECT id, state, spool_path, outbox_path, study_ref FROM instances WHERE id = ?',
      ),
      held: db.prepare<[number, number], { id: number; received_at: string; last_error: string | null; calling_ae_title: string; size_bytes: number; held_at: number | null; refused_at_intake: number }>(
        `SELECT id, received_at, last_error, calling_ae_title, size_bytes, held_at, refused_at_intake FROM instances WHERE state = 'held' ORDER BY id DESC LIMIT ? OFFSET ?`,
      ),
      heldCount: db.prepare<[], { n: number; refused: number }>(`SELECT count(*) AS n, coalesce(sum(refused_at_intake), 0) AS refused FROM instances WHERE state = 'held'`),
      today: db.prepare<[string], { received: number; deidentified: number; uploaded: number; held: number; failed: number }>(
        `SELECT count(*) AS received,
                coalesce(sum(research_sop_instance_uid IS NOT NULL), 0) AS deidentified,
                coalesce(sum(state = 'uploaded'), 0) AS uploaded,
                coalesce(sum(state = 'held'), 0) AS held,
                coalesce(sum(state = 'failed'), 0) AS failed
         FROM instances WHERE received_at >= ?`,
      ),
      receivedByHour: db.prepare<[string], { hour: string; n: number }>(
        `SELECT substr(received_at, 1, 13) AS hour, count(*) AS n FROM instances WHERE received_at >= ? GROUP BY hour`,
      ),
      // Uploads by their upload time (ms; set only while uploaded, a resend clears it); failures by their last update.
      uploadedByHour: db.prepare<[number], { hour: string; n: number }>(
        `SELECT strftime('%Y-%m-%dT%H', uploaded_at / 1000, 'unixepoch') AS hour, count(*) AS n FROM instances
         WHERE uploaded_at IS NOT NULL AND uploaded_at >= ? GROUP BY hour`,
      ),
      failedByHour: db.prepare<[string], { hour: string; n: number }>(
        `SELECT substr(updated_at, 1, 13) AS hour, count(*) AS n FROM instances WHERE state = 'failed' AND updated_at >= ? GROUP BY hour`,
      ),
      lastUpload: db.prepare<[], { at: number | null }>(`SELECT max(uploaded_at) AS at FROM instances WHERE uploaded_at IS NOT NULL`),
      backlog: db.prepare<[], { backlog: number; retrying: number }>(
        `SELECT count(*) AS backlog, coalesce(sum(state IN ('deidentified', 'uploading') AND attempts > 0), 0) AS retrying
         FROM instances WHERE state IN ('received', 'deidentified', 'uploading')`,
      ),
      lastRetryError: db.prepare<[], { last_error: string | null }>(
        `SELECT last_error FROM instances WHERE state IN ('deidentified', 'uploading') AND attempts > 0 AND last_error IS NOT NULL
         ORDER BY updated_at DESC LIMIT 1`,
      ),
    };
  }

  /**
   * A page of studies, newest first. Every word of `search` must match one of: the patient's name (folded: any
   * case, with or without accents), research ID, patient ID, accession number, research Study UID, modality, or
   * the study date (also written 2024-02-01 or 01.02.2024). `from`/`to` bound the study date (YYYYMMDD, inclusive).
   */
  listStudies(query: { search: string; state?: StudyState; from?: string; to?: string; offset: number; limit: number }): { total: number; rows: StudySummary[] } {
    const words = query.search.split(/[\s,]+/).filter(Boolean).slice(0, MAX_SEARCH_WORDS);
    const params: Record<string, string | number> = { limit: query.limit, offset: query.offset };
    const conditions = words.map((word, n) => {
      params[`w${n}`] = `%${escapeLike(word)}%`;
      const folded = foldForSearch(word);
      params[`f${n}`] = `%${escapeLike(folded)}%`;
      const alternatives = [
        // Rows written without the key (by a tool other than the crosswalk) still match on ASCII case folding.
        `coalesce(p.name_search, replace(p.patient_name, '^', ' ')) LIKE @f${n} ESCAPE '\\'`,
        ...['p.research_id', 'p.patient_id', 's.accession_number', 's.research_study_uid', 's.study_date', 's.modality'].map((column) => `${column} LIKE @w${n} ESCAPE '\\'`),
      ];
      const date = searchDatePrefix(word);
      if (date && date !== word) {
        params[`d${n}`] = `${date}%`;
        alternatives.push(`s.study_date LIKE @d${n}`);
      }
      return `(${alternatives.join(' OR ')})`;
    });
    if (query.state) conditions.push(STATE_FILTER[query.state]);
    if (query.from) {
      params.from = query.from;
      conditions.push(`s.study_date >= @from`);
    }
    if (query.to) {
      params.to = query.to;
      // An unknown study date ('') sorts before every date: a range never includes it.
      conditions.push(`s.study_date <= @to AND s.study_date <> ''`);
    }
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM studies s JOIN patients p ON p.id = s.patient_ref ${where}`).get(params) as { n: number }).n;
    // Page first, then aggregate only that page's instances: the cost stays flat with tens of thousands of studies.
    const rows = this.db
      .prepare(
        `WITH page AS (SELECT s.id FROM studies s JOIN patients p ON p.id = s.patient_ref ${where} ORDER BY s.id DESC LIMIT @limit OFFSET @offset)
         SELECT ${STUDY_COLUMNS}, ${AGGREGATES}
         FROM page JOIN studies s ON s.id = page.id JOIN patients p ON p.id = s.patient_ref LEFT JOIN instances i ON i.study_ref = s.id
         GROUP BY s.id ORDER BY s.id DESC`,
      )
      .all(params) as StudyRow[];
    return { total, rows: rows.map(toSummary) };
  }

  study(studyKey: number): StudySummary | undefined {
    const row = this.s.study.get(studyKey);
    return row ? toSummary(row) : undefined;
  }

  studyKeyOf(researchStudyUid: string): number | undefined {
    return this.s.studyByUid.get(researchStudyUid)?.id;
  }

  instancesOf(studyKey: number): StudyInstance[] {
    return this.s.instancesOf.all(studyKey).map((r) => ({
      instanceId: r.id,
      researchSopInstanceUid: r.research_sop_instance_uid ?? undefined,
      state: r.state,
      attempts: r.attempts,
      lastError: r.last_error ?? undefined,
      receivedAt: r.received_at,
      updatedAt: r.updated_at,
      sizeBytes: r.size_bytes,
    }));
  }

  instanceFiles(instanceId: number): InstanceFiles | undefined {
    const r = this.s.files.get(instanceId);
    return r ? { id: r.id, state: r.state, spoolPath: r.spool_path, outboxPath: r.outbox_path, studyRef: r.study_ref } : undefined;
  }

  held(page: { offset: number; limit: number }): { total: number; refused: number; rows: Array<HeldInstance & { heldAt: number | null }> } {
    const rows = this.s.held.all(page.limit, page.offset).map((r) => ({
      instanceId: r.id,
      receivedAt: r.received_at,
      reason: r.last_error ?? 'Held for review',
      callingAeTitle: r.calling_ae_title,
      sizeBytes: r.size_bytes,
      refusedAtIntake: r.refused_at_intake === 1,
      heldAt: r.held_at,
    }));
    const counts = this.s.heldCount.get();
    return { total: counts?.n ?? 0, refused: counts?.refused ?? 0, rows };
  }

  /** Instances received since `since` by how far they got. */
  countsSince(since: Date): { received: number; deidentified: number; uploaded: number; held: number; failed: number } {
    return this.s.today.get(since.toISOString()) ?? { received: 0, deidentified: 0, uploaded: 0, held: 0, failed: 0 };
  }

  /** The last `hours` whole hours up to now (oldest first): received, uploaded and failed in each. */
  hourly(now: Date, hours: number): Array<{ hour: string; received: number; uploaded: number; failed: number }> {
    const first = new Date(now);
    first.setUTCMinutes(0, 0, 0);
    first.setUTCHours(first.getUTCHours() - (hours - 1));
    const since = first.toISOString();
    const buckets = new Map<string, { hour: string; received: number; uploaded: number; failed: number }>();
    for (let h = 0; h < hours; h += 1) {
      const start = new Date(first.getTime() + h * 3_600_000).toISOString();
      buckets.set(start.slice(0, 13), { hour: start, received: 0, uploaded: 0, failed: 0 });
    }
    for (const r of this.s.receivedByHour.all(since)) {
      const b = buckets.get(r.hour);
      if (b) b.received = r.n;
    }
    for (const r of this.s.uploadedByHour.all(first.getTime())) {
      const b = buckets.get(r.hour);
      if (b) b.uploaded = r.n;
    }
    for (const r of this.s.failedByHour.all(since)) {
      const b = buckets.get(r.hour);
      if (b) b.failed = r.n;
    }
    return [...buckets.values()];
  }

  lastUploadAt(): string | undefined {
    const at = this.s.lastUpload.get()?.at;
    return at ? new Date(at).toISOString() : undefined;
  }

  backlog(): { backlog: number; retrying: number; lastError?: string } {
    const b = this.s.backlog.get() ?? { backlog: 0, retrying: 0 };
    const lastError = b.retrying > 0 ? this.s.lastRetryError.get()?.last_error ?? undefined : undefined;
    return { ...b, lastError };
  }
}
