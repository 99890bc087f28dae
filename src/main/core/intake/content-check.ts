import { type InstanceFiles, type ParseLimits, DicomLimitExceeded, openInstanceFile } from '../dicom';
import { readIdentity } from '../deid';

/** C-STORE failure statuses this check answers (PS3.4 Annex B.2.3). */
const STATUS = { outOfResources: 0xa700, doesNotMatchSopClass: 0xa900, cannotUnderstand: 0xc000 } as const;

/** Why a spooled instance is refused for its content, with the C-STORE status that says so. */
export interface ContentRefusal {
  status: number;
  message: string;
}

/**
 * Reads the spooled instance (large values stay on disk, the parse yields to other associations, a deflated data set
 * is inflated to disk up to its limit): is it DICOM within the limits, and does it name its instance and study?
 * Past a limit: 0xA700 (out of resources), as the spool cap answers; not DICOM: 0xC000; no UIDs: 0xA900. A limit's
 * message fits the 64 characters of the C-STORE Error Comment and names the setting.
 */
export async function checkSpooledContent(spoolPath: string, files: InstanceFiles, limits?: Partial<ParseLimits>): Promise<ContentRefusal | undefined> {
  let parsed;
  try {
    parsed = await openInstanceFile(spoolPath, limits, files);
  } catch (error) {
    if (error instanceof DicomLimitExceeded) return { status: STATUS.outOfResources, message: error.message };
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return { status: STATUS.outOfResources, message: 'No disk space left to read the data set' };
    return { status: STATUS.cannotUnderstand, message: `Cannot understand the data set: ${(error as Error).message}` };
  }
  try {
    readIdentity(parsed);
    return undefined;
  } catch (error) {
    return { status: STATUS.doesNotMatchSopClass, message: (error as Error).message };
  } finally {
    parsed.close();
  }
}
