/** How a transfer syntax lays out the bytes of a dataset. */
export interface TransferSyntax {
  uid: string;
  explicitVr: boolean;
  littleEndian: boolean;
  deflated: boolean;
  encapsulated: boolean;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

/** Every transfer syntax whose dataset encoding we can read and write back unchanged. */
export function describeTransferSyntax(uid: string): TransferSyntax | undefined {
  switch (uid) {
    case IMPLICIT_VR_LITTLE_ENDIAN:
      return { uid, explicitVr: false, littleEndian: true, deflated: false, encapsulated: false };
    case EXPLICIT_VR_LITTLE_ENDIAN:
      return { uid, explicitVr: true, littleEndian: true, deflated: false, encapsulated: false };
    case DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:
      return { uid, explicitVr: true, littleEndian: true, deflated: true, encapsulated: false };
    case EXPLICIT_VR_BIG_ENDIAN:
      return { uid, explicitVr: true, littleEndian: false, deflated: false, encapsulated: false };
  }
  // JPEG (1.2.840.10008.1.2.4.x), JPEG 2000, JPEG-LS, HTJ2K, RLE (1.2.840.10008.1.2.5), MPEG/HEVC video:
  // all explicit VR little endian with encapsulated pixel data, which we copy without decoding.
  if (/^1\.2\.840\.10008\.1\.2\.(4\.\d+|5)$/.test(uid)) {
    return { uid, explicitVr: true, littleEndian: true, deflated: false, encapsulated: true };
  }
  return undefined;
}

/**
 * Whether intake accepts a proposed transfer syntax: one we can read, and not Deflated Explicit VR Little Endian
 * where the site has turned it off (limits.acceptDeflatedTransferSyntax), so a sender must offer another.
 */
export function acceptsTransferSyntax(uid: string, acceptDeflated = true): boolean {
  const syntax = describeTransferSyntax(uid);
  return syntax !== undefined && (acceptDeflated || !syntax.deflated);
}
