import fs from 'node:fs';
import path from 'node:path';
import { parseInstanceFile, tag, type DicomDataset } from '../dicom';

const DIRECTORY_RECORD_SEQUENCE = tag(0x0004, 0x1220);
const REFERENCED_FILE_ID = tag(0x0004, 0x1500);

/** A file a DICOMDIR names: the path as found on disk, or why it was not found. */
export type DirectoryEntry = { file: string } | { missing: string };

/**
 * The name as ISO 9660 media and their copies spell it: upper-case, with a version suffix (";1") and sometimes a
 * trailing dot, so "IM000001", "im000001", "IM000001.;1" and "IM000001;1" are one file.
 */
export const mediaName = (name: string): string => name.replace(/;\d*$/, '').replace(/\.$/, '').toUpperCase();

/** Finds `component` in `dir` as it is spelled, else by its media name; undefined if none matches. */
function resolveComponent(dir: string, component: string, listings: Map<string, string[]>): string | undefined {
  if (fs.existsSync(path.join(dir, component))) return component;
  let names = listings.get(dir);
  if (!names) {
    try {
      names = fs.readdirSync(dir);
    } catch {
      names = [];
    }
    listings.set(dir, names);
  }
  const wanted = mediaName(component);
  return names.find((n) => mediaName(n) === wanted);
}

/**
 * The files a DICOMDIR's directory records reference (PS3.10 8.2, PS3.3 F.3: Referenced File ID, one path
 * component per value, relative to the DICOMDIR's folder). Records are read in order; a component that would
 * leave the folder ("..", an absolute path) is not followed.
 */
export function referencedFiles(dicomdir: string): DirectoryEntry[] {
  const parsed = parseInstanceFile(dicomdir);
  const root = path.dirname(dicomdir);
  const listings = new Map<string, string[]>();
  const entries: DirectoryEntry[] = [];
  try {
    const records: DicomDataset[] = parsed.dataset.get(DIRECTORY_RECORD_SEQUENCE)?.items ?? [];
    for (const record of records) {
      const raw = record.get(REFERENCED_FILE_ID)?.value;
      if (!raw) continue;
      const components = raw.toString('latin1').replace(/[\0 ]+$/, '').split('\\').map((c) => c.trim()).filter(Boolean);
      if (components.length === 0) continue;
      const spelled = components.join('/');
      if (components.some((c) => c === '.' || c === '..' || c.includes('/'))) {
        entries.push({ missing: spelled });
        continue;
      }
      let at = root;
      let found = true;
      for (const component of components) {
        const name = resolveComponent(at, component, listings);
        if (name === undefined) {
          found = false;
          break;
        }
        at = path.join(at, name);
      }
      entries.push(found ? { file: at } : { missing: spelled });
    }
  } finally {
    parsed.close();
  }
  return entries;
}
