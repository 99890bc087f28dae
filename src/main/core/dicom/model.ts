import type { Tag } from './tag';

/**
 * One attribute. Exactly one of value / items / bulk is set:
 * value holds the raw bytes in the source's byte order, items the nested datasets of a sequence,
 * bulk the place of a large element (pixel data) in the source, copied verbatim when written.
 */
export interface DicomElement {
  tag: Tag;
  vr: string;
  value?: Buffer;
  items?: DicomDataset[];
  bulk?: { offset: number; length: number };
}

export type DicomDataset = Map<Tag, DicomElement>;
