import { type DicomDataset, type Tag, isPrivateCreator, groupOf, elementOf, tag, trimValue } from '../dicom';

export interface SafePrivateAttribute {
  creator: string;
  /** "(0019,xx10)": the group, and the element byte within the creator's block. */
  tag: string;
}

interface Allowed {
  group: number;
  creator: string;
  element: number;
}

/**
 * Retain Safe Private: keeps only the private attributes the allow-list names by (private creator, element).
 * The block a creator holds differs between files, so each dataset's creator elements are read to find it.
 */
export class SafePrivateFilter {
  private readonly allowed: Allowed[];

  constructor(list: readonly SafePrivateAttribute[]) {
    this.allowed = list.map((a) => {
      const m = /^\(([0-9A-Fa-f]{4}),[xX]{2}([0-9A-Fa-f]{2})\)$/.exec(a.tag);
      if (!m) throw new Error(`Not a private tag pattern: ${a.tag}`);
      return { group: parseInt(m[1]!, 16), creator: a.creator.trim(), element: parseInt(m[2]!, 16) };
    });
  }

  /** The private tags of this dataset to keep: the allowed elements present, and their creators. */
  keptIn(ds: DicomDataset): Set<Tag> {
    const kept = new Set<Tag>();
    if (this.allowed.length === 0) return kept;
    for (const [t, e] of ds) {
      if (!isPrivateCreator(t) || !e.value) continue;
      const creator = trimValue(e.value.toString('latin1'), 'LO');
      const block = elementOf(t);
      for (const a of this.allowed) {
        if (a.group !== groupOf(t) || a.creator !== creator) continue;
        const element = tag(a.group, (block << 8) | a.element);
        if (ds.has(element)) {
          kept.add(element);
          kept.add(t);
        }
      }
    }
    return kept;
  }
}
