import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './processes';
import { DEBIAN_PYTHON, generateMammograms, type ManifestFile } from './dicom-tools';

export interface ImportArchive {
  root: string;
  /** The DICOMDIR (written by dcmtk's dcmmkdir) and the files it references. */
  dicomdir: string;
  dicomdirFiles: string[];
  /** Original SOP Instance UIDs of every DICOM instance in the archive (each once). */
  sopInstanceUids: string[];
  /** Files that are not DICOM. */
  notDicom: string[];
  files: ManifestFile[];
}

// Writes a data set with no preamble and no meta, re-encoded as implicit VR little endian (pydicom, not our writer).
const BARE_IMPLICIT = `
import sys, pydicom
from pydicom.filewriter import write_dataset
from pydicom.filebase import DicomFileLike
ds = pydicom.dcmread(sys.argv[1])
ds.is_little_endian = True
ds.is_implicit_VR = True
with open(sys.argv[2], 'wb') as f:
    fp = DicomFileLike(f)
    fp.is_little_endian = True
    fp.is_implicit_VR = True
    write_dataset(fp, ds)
`;

/**
 * An archive as a clinic's disks hold one: a DICOMDIR tree with ISO 9660 names (upper-case 8.3, one renamed to
 * lower case and one with a ";1" version suffix after dcmmkdir wrote the DICOMDIR), nested folders with any names,
 * files without the preamble (meta first) and bare data sets (no meta, one implicit VR), and files that are not DICOM.
 */
export async function makeImportArchive(generatorArgs: string[]): Promise<ImportArchive> {
  const set = await generateMammograms(generatorArgs);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-'));
  const files = set.files;
  const source = (i: number): string => path.join(set.dir, files[i]!.file);
  const third = Math.max(2, Math.floor(files.length / 3));

  // 1. The DICOMDIR tree: dcmmkdir wants DICOM file names (upper-case, 8 characters, no extension).
  const disk = path.join(root, 'DISK1');
  const dicomdirFiles: string[] = [];
  for (let i = 0; i < third; i++) {
    const dir = path.join(disk, 'PAT', `ST${String(Math.floor(i / 4)).padStart(2, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `IM${String(i).padStart(6, '0')}`);
    fs.copyFileSync(source(i), file);
    dicomdirFiles.push(file);
  }
  await run('dcmmkdir', ['+r', '+I', '-W', '+id', disk, '+D', path.join(disk, 'DICOMDIR'), 'PAT']);
  // As copies of ISO 9660 media spell them: a lower-case name and a version suffix.
  const lower = dicomdirFiles[0]!.replace(/IM0+0$/, 'im000000');
  fs.renameSync(dicomdirFiles[0]!, lower);
  dicomdirFiles[0] = lower;
  const versioned = `${dicomdirFiles[1]!};1`;
  fs.renameSync(dicomdirFiles[1]!, versioned);
  dicomdirFiles[1] = versioned;

  // 2. Nested folders, any names.
  for (let i = third; i < files.length - 3; i++) {
    const dir = path.join(root, 'clinic server', `year ${2020 + (i % 3)}`, `box-${i % 2}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(source(i), path.join(dir, `scan ${i}.img`));
  }

  // 3. No preamble: meta first (the first 132 bytes cut), and bare data sets (meta cut too; one re-encoded implicit).
  const odd = path.join(root, 'odd writers');
  fs.mkdirSync(odd);
  const noPreamble = fs.readFileSync(source(files.length - 3));
  fs.writeFileSync(path.join(odd, 'meta-first'), noPreamble.subarray(132));
  const bare = fs.readFileSync(source(files.length - 2));
  // PS3.10 7.1: (0002,0000) File Meta Information Group Length, UL, value at byte 140; the meta ends that far after 144.
  fs.writeFileSync(path.join(odd, 'bare-explicit'), bare.subarray(144 + bare.readUInt32LE(140)));
  await run(DEBIAN_PYTHON, ['-c', BARE_IMPLICIT, source(files.length - 1), path.join(odd, 'BARE.IMP')]);

  // 4. Not DICOM.
  const notDicom = [path.join(root, 'README.TXT'), path.join(root, 'clinic server', 'Thumbs.db'), path.join(odd, 'empty'), path.join(odd, 'broken.dcm')];
  fs.writeFileSync(notDicom[0]!, 'Archive of the clinic, 2020-2022.\n');
  fs.writeFileSync(notDicom[1]!, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  fs.writeFileSync(notDicom[2]!, '');
  fs.writeFileSync(notDicom[3]!, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.from('not really a meta group at all')]));
  fs.rmSync(set.dir, { recursive: true, force: true });
  return { root, dicomdir: path.join(disk, 'DICOMDIR'), dicomdirFiles, sopInstanceUids: files.map((f) => f.sopInstanceUID), notDicom, files };
}
