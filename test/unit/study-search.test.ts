import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3-multiple-ciphers';
import { migrate } from '../../src/main/core/store';
import { migrations } from '../../src/main/core/store/migrations';
import { Crosswalk } from '../../src/main/core/crosswalk';
import { StudyQueries } from '../../src/main/core/jobs/study-queries';
import { ListStudiesInput } from '../../src/shared/api';
import { foldForSearch, parseStudyDate, searchDatePrefix } from '../../src/shared/search';
import type { InstanceIdentity } from '../../src/main/core/deid';

// Patients as a modality sends them (DICOM person names, upper case, several scripts), with their studies.
const PATIENTS: Array<Pick<InstanceIdentity, 'patientId' | 'patientName' | 'studyDate' | 'accessionNumber'>> = [
  { patientId: '0004711', patientName: 'MÜLLER^JÖRDIS', studyDate: '20240201', accessionNumber: 'ACC-2024-0815' },
  { patientId: 'P-2', patientName: 'MULLER^ANNA', studyDate: '20240315', accessionNumber: 'ACC-2024-0900' },
  { patientId: 'P-3', patientName: 'ΠΑΠΑΔΟΠΟΎΛΟΥ^ΣΟΦΊΑ', studyDate: '20231130', accessionNumber: 'X1' },
  { patientId: 'P-4', patientName: 'ŁUKASIEWICZ^GRAŻYNA', studyDate: '20240202', accessionNumber: 'X2' },
  { patientId: 'P-5', patientName: 'STRAßER^ÉLODIE', studyDate: '20240229', accessionNumber: 'X3' },
  { patientId: 'P-6', patientName: 'YAMADA^TARO=山田^太郎=やまだ^たろう', studyDate: '', accessionNumber: 'X4' },
  { patientId: 'P-7', patientName: 'ЁЛКИНА^ТАТЬЯНА', studyDate: '20240101', accessionNumber: 'X5' },
];

function seeded(): { db: InstanceType<typeof Database>; queries: StudyQueries } {
  const db = new Database(':memory:');
  migrate(db, migrations);
  const crosswalk = new Crosswalk(db as never, 'KGH');
  PATIENTS.forEach((p, n) => {
    const identity: InstanceIdentity = {
      ...p, issuerOfPatientId: '', birthDate: '19650723', sex: 'F', studyInstanceUid: `1.2.840.99.${n + 1}`,
      seriesInstanceUid: `1.2.840.99.${n + 1}.1`, sopInstanceUid: `1.2.840.99.${n + 1}.1.1`, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.2', studyId: '1', modality: 'MG',
    };
    crosswalk.linkStudy(crosswalk.linkPatient(identity), identity);
  });
  return { db, queries: new StudyQueries(db as never) };
}

const namesFound = (queries: StudyQueries, query: Partial<{ search: string; from: string; to: string }>): string[] =>
  queries
    .listStudies(ListStudiesInput.parse(query))
    .rows.map((r) => r.patientName)
    .sort();

describe('searching studies as the table shows them', () => {
  it('finds a name whatever its case and accents, in Latin, Greek and Cyrillic script', () => {
    const { queries } = seeded();
    // Both Müllers: with the accent folded, MÜLLER and MULLER are the same search word.
    expect(namesFound(queries, { search: 'Müller' })).toEqual(['MULLER, ANNA', 'MÜLLER, JÖRDIS']);
    expect(namesFound(queries, { search: 'muller' })).toEqual(['MULLER, ANNA', 'MÜLLER, JÖRDIS']);
    expect(namesFound(queries, { search: 'jördis' })).toEqual(['MÜLLER, JÖRDIS']);
    expect(namesFound(queries, { search: 'JORDIS müller' })).toEqual(['MÜLLER, JÖRDIS']);
    expect(namesFound(queries, { search: 'παπαδοπουλου' })).toEqual(['ΠΑΠΑΔΟΠΟΎΛΟΥ, ΣΟΦΊΑ']);
    expect(namesFound(queries, { search: 'σοφια' })).toEqual(['ΠΑΠΑΔΟΠΟΎΛΟΥ, ΣΟΦΊΑ']);
    expect(namesFound(queries, { search: 'lukasiewicz grazyna' })).toEqual(['ŁUKASIEWICZ, GRAŻYNA']);
    expect(namesFound(queries, { search: 'strasser elodie' })).toEqual(['STRAßER, ÉLODIE']);
    expect(namesFound(queries, { search: 'елкина' })).toEqual(['ЁЛКИНА, ТАТЬЯНА']);
    // The ideographic and phonetic groups of a Japanese name are searchable too.
    expect(namesFound(queries, { search: '山田' })).toEqual(['YAMADA, TARO']);
    expect(namesFound(queries, { search: 'たろう' })).toEqual(['YAMADA, TARO']);
  });

  it('finds a study date written as the table shows it, day first with dots, or as DICOM writes it', () => {
    const { queries } = seeded();
    expect(namesFound(queries, { search: '2024-02-01' })).toEqual(['MÜLLER, JÖRDIS']);
    expect(namesFound(queries, { search: '01.02.2024' })).toEqual(['MÜLLER, JÖRDIS']);
    expect(namesFound(queries, { search: '1.2.2024' })).toEqual(['MÜLLER, JÖRDIS']);
    expect(namesFound(queries, { search: '20240201' })).toEqual(['MÜLLER, JÖRDIS']);
    expect(namesFound(queries, { search: '2024-02' })).toEqual(['MÜLLER, JÖRDIS', 'STRAßER, ÉLODIE', 'ŁUKASIEWICZ, GRAŻYNA']);
    expect(namesFound(queries, { search: 'müller 2024-03-15' })).toEqual(['MULLER, ANNA']);
  });

  it('finds a patient ID (leading zeros kept) and an accession number, on the local screen', () => {
    const { queries } = seeded();
    expect(namesFound(queries, { search: '0004711' })).toEqual(['MÜLLER, JÖRDIS']);
    expect(namesFound(queries, { search: 'acc-2024-0900' })).toEqual(['MULLER, ANNA']);
    const [row] = queries.listStudies(ListStudiesInput.parse({ search: '0004711' })).rows;
    expect(row).toMatchObject({ patientId: '0004711', accessionNumber: 'ACC-2024-0815' });
  });

  it('filters by a study-date range, inclusive, in any of the accepted forms, leaving out unknown dates', () => {
    const { queries } = seeded();
    expect(namesFound(queries, { from: '2024-02-01', to: '29.02.2024' })).toEqual(['MÜLLER, JÖRDIS', 'STRAßER, ÉLODIE', 'ŁUKASIEWICZ, GRAŻYNA']);
    expect(namesFound(queries, { to: '20231231' })).toEqual(['ΠΑΠΑΔΟΠΟΎΛΟΥ, ΣΟΦΊΑ']);
    expect(namesFound(queries, { from: '2024-03-01' })).toEqual(['MULLER, ANNA']);
    expect(namesFound(queries, { search: 'muller', from: '2024-03-01' })).toEqual(['MULLER, ANNA']);
  });

  it('refuses a range date that is not a real date, and a range that ends before it starts, in plain words', () => {
    const bad = ListStudiesInput.safeParse({ from: '2024-02-30' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ path: ['from'], message: '"2024-02-30" is not a date: write it as 2024-02-01, 01.02.2024 or 20240201' });
    const backwards = ListStudiesInput.safeParse({ from: '2024-03-01', to: '2024-02-01' });
    expect(backwards.error?.issues[0]).toMatchObject({ path: ['to'], message: 'The first date is after the last one' });
  });

  it('gives patients already in the crosswalk their search key when the data folder is upgraded', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.filter((m) => m.version < 90));
    db.prepare(`INSERT INTO patients (research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES ('KGH-1', '1', '', 'MÜLLER^JÖRDIS', '', 'F', 'now')`).run();
    db.prepare(`INSERT INTO studies (patient_ref, study_uid, research_study_uid, study_date, accession_number, research_accession_number, study_id, research_study_id, modality, created_at)
      VALUES (1, '1.2.3', '2.25.1', '20240201', '', '', '', '', 'MG', 'now')`).run();
    expect(migrate(db, migrations.filter((m) => m.version <= 90))).toBe(90);
    expect(db.prepare('SELECT name_search FROM patients').get()).toEqual({ name_search: 'muller jordis' });
    expect(namesFound(new StudyQueries(db as never), { search: 'jördis' })).toEqual(['MÜLLER, JÖRDIS']);
  });
});

describe('the search form of names and dates', () => {
  it('folds case, accents and DICOM separators', () => {
    expect(foldForSearch('MÜLLER^JÖRDIS')).toBe('muller jordis');
    expect(foldForSearch('ΟΔΥΣΣΕΥΣ')).toBe('οδυσσευσ');
    expect(foldForSearch('İSTANBUL')).toBe('istanbul');
    expect(foldForSearch('Ørsted, Æbeltoft')).toBe('orsted aebeltoft');
    expect(foldForSearch('ｶﾞｸ')).toBe('ガク');
  });
  it('reads whole dates in the accepted forms only, and real ones only', () => {
    expect(parseStudyDate('2024-02-01')).toBe('20240201');
    expect(parseStudyDate('2024/2/1')).toBe('20240201');
    expect(parseStudyDate('01.02.2024')).toBe('20240201');
    expect(parseStudyDate('20240229')).toBe('20240229');
    expect(parseStudyDate('20230229')).toBeUndefined();
    expect(parseStudyDate('31.04.2024')).toBeUndefined();
    expect(parseStudyDate('01/02/2024')).toBeUndefined();
    expect(searchDatePrefix('02.2024')).toBe('202402');
    expect(searchDatePrefix('2024-13')).toBeUndefined();
  });
});
