import crypto from 'node:crypto';
import fs from 'node:fs';
import { orthancRequest, throwForHttpStatus, UploadRejected, type OrthancDestination } from './orthanc';

const FAILED_SOP_SEQUENCE = '00081198';
const REFERENCED_SOP_SEQUENCE = '00081199';
const FAILURE_REASON = '00081197';

type DicomJson = Record<string, { Value?: Array<Record<string, { Value?: unknown[] }>> } | undefined>;

/**
 * Sends one DICOM file with DICOMweb STOW-RS (PS3.18 §10.5): POST {base}/studies, one multipart/related part
 * of type application/dicom, streamed from disk. Checks the answer's Failed SOP Sequence.
 */
export async function storeWithStow(destination: OrthancDestination, file: string): Promise<{ stored: number }> {
  const boundary = `deid-${crypto.randomUUID()}`;
  const prefix = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const suffix = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = (await fs.promises.stat(file)).size;
  const { status, text } = await orthancRequest(destination, 'POST', '/studies', {
    file,
    size,
    prefix,
    suffix,
    contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
  });
  let answer: DicomJson | undefined;
  try {
    answer = text ? (JSON.parse(text) as DicomJson) : undefined;
  } catch {
    answer = undefined;
  }
  const failed = answer?.[FAILED_SOP_SEQUENCE]?.Value ?? [];
  if (failed.length > 0 || status === 409) {
    const reason = failed[0]?.[FAILURE_REASON]?.Value?.[0];
    const code = typeof reason === 'number' ? ` (failure reason 0x${reason.toString(16).toUpperCase()})` : '';
    throw new UploadRejected(`Research server's DICOMweb service refused the instance${code}`, status);
  }
  throwForHttpStatus(status);
  const stored = answer?.[REFERENCED_SOP_SEQUENCE]?.Value?.length ?? 0;
  if (stored < 1) throw new UploadRejected(`Research server's DICOMweb answer names no stored instance (HTTP ${status}); check the destination URL (the DICOMweb root)`, status);
  return { stored };
}
