import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaName, readFileLayout, referencedFiles } from '../../src/main/core/import';
import { makeImportArchive, type ImportArchive } from '../support/import-archive';

let archive: ImportArchive;

beforeAll(async () => {
  archive = await makeImportArchive(['--patients', '3', '--studies-per-patient', '2', '--views', '2', '--rows', '64', '--cols', '64', '--no-verify']);
}, 120_000);
afterAll(() => fs.rmSync(archive.root, { recursive: true, force: true }));

describe('import: reading an archive as disks hold it', () => {
  it('follows the directory records of a DICOMDIR written by dcmmkdir, to files renamed lower-case or with ";1"', () => {
    const entries = referencedFiles(archive.dicomdir);
    expect(entries.filter((e) => 'missing' in e)).toEqual([]);
    expect(entries.map((e) => ('file' in e ? e.file : '')).sort()).toEqual([...archive.dicomdirFiles].sort());
  });

  it('reports a record whose file is gone as missing, naming the path the DICOMDIR gives', () => {
    const gone = archive.dicomdirFiles[2]!;
    const kept = `${gone}.moved-away`;
    fs.renameSync(gone, kept);
    try {
      const missing = referencedFiles(archive.dicomdir).filter((e) => 'missing' in e);
      expect(missing).toEqual([{ missing: path.relative(path.dirname(archive.dicomdir), gone) }]);
    } finally {
      fs.renameSync(kept, gone);
    }
  });

  it('spells names as ISO 9660 copies do', () => {
    expect(mediaName('im000001;1')).toBe('IM000001');
    expect(mediaName('IM000001.;1')).toBe('IM000001');
    expect(mediaName('DICOMDIR')).toBe('DICOMDIR');
  });

  it('finds the data set of a file with the preamble, with meta first, and with no meta at all', async () => {
    const standard = await readFileLayout(archive.dicomdirFiles[3]!);
    expect(standard).toMatchObject({ kind: 'dicom', preamble: true, hasMeta: true, transferSyntaxUid: '1.2.840.10008.1.2.1' });
    const odd = path.join(archive.root, 'odd writers');
    const metaFirst = await readFileLayout(path.join(odd, 'meta-first'));
    expect(metaFirst).toMatchObject({ kind: 'dicom', preamble: false, hasMeta: true });
    // The meta group is the same bytes as in a standard file, 132 bytes earlier.
    expect((metaFirst as { datasetStart: number }).datasetStart).toBe((standard as { datasetStart: number }).datasetStart - 132);
    expect(await readFileLayout(path.join(odd, 'bare-explicit'))).toMatchObject({ kind: 'dicom', hasMeta: false, datasetStart: 0, transferSyntaxUid: '1.2.840.10008.1.2.1' });
    expect(await readFileLayout(path.join(odd, 'BARE.IMP'))).toMatchObject({ kind: 'dicom', hasMeta: false, datasetStart: 0, transferSyntaxUid: '1.2.840.10008.1.2' });
  });

  it('tells files that are not DICOM', async () => {
    for (const file of archive.notDicom) expect((await readFileLayout(file)).kind, path.basename(file)).toBe('not-dicom');
  });
});
