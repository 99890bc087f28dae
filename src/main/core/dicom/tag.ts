/** A DICOM tag as one 32-bit number: group << 16 | element. */
export type Tag = number;

export const tag = (group: number, element: number): Tag => ((group << 16) | element) >>> 0;
export const groupOf = (t: Tag): number => t >>> 16;
export const elementOf = (t: Tag): number => t & 0xffff;
export const isPrivate = (t: Tag): boolean => (groupOf(t) & 1) === 1;
/** (gggg,0010-00FF) in an odd group reserves a block of private elements for one creator. */
export const isPrivateCreator = (t: Tag): boolean =>
  isPrivate(t) && elementOf(t) >= 0x10 && elementOf(t) <= 0xff;

export const formatTag = (t: Tag): string =>
  `(${groupOf(t).toString(16).padStart(4, '0').toUpperCase()},${elementOf(t).toString(16).padStart(4, '0').toUpperCase()})`;

/** Parses "(0010,0010)" or "00100010" into a tag number. */
export function parseTag(text: string): Tag {
  const hex = text.replace(/[(),\s]/g, '');
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw new Error(`Not a DICOM tag: ${text}`);
  return parseInt(hex, 16) >>> 0;
}

export const ITEM = tag(0xfffe, 0xe000);
export const ITEM_DELIMITER = tag(0xfffe, 0xe00d);
export const SEQUENCE_DELIMITER = tag(0xfffe, 0xe0dd);
export const PIXEL_DATA = tag(0x7fe0, 0x0010);
export const UNDEFINED_LENGTH = 0xffffffff;
