import type { DeviceRedactionRule } from '../../../shared/settings';
import { stringValue, tagOf, type DicomDataset } from '../dicom';
import type { Box } from './raster';

const T = { Manufacturer: tagOf('Manufacturer'), Model: tagOf('ManufacturerModelName'), SOPClassUID: tagOf('SOPClassUID'), Rows: tagOf('Rows'), Columns: tagOf('Columns') };

const sameText = (a: string | undefined, b: string): boolean => (a ?? '').trim().toUpperCase() === b.trim().toUpperCase();
/** The device rules an instance's header matches (every field a rule gives must match; case is ignored). */
export function matchingDeviceRules(rules: readonly DeviceRedactionRule[], ds: DicomDataset, littleEndian: boolean): DeviceRedactionRule[] {
  // Values stay in the byte order of the data set they came in.
  const us = (t: number): number | undefined => {
    const value = ds.get(t)?.value;
    if (!value || value.length < 2) return undefined;
    return littleEndian ? value.readUInt16LE(0) : value.readUInt16BE(0);
  };
  return rules.filter(
    (rule) =>
      (rule.manufacturer === undefined || sameText(stringValue(ds, T.Manufacturer), rule.manufacturer)) &&
      (rule.model === undefined || sameText(stringValue(ds, T.Model), rule.model)) &&
      (rule.sopClassUid === undefined || stringValue(ds, T.SOPClassUID) === rule.sopClassUid) &&
      (rule.rows === undefined || us(T.Rows) === rule.rows) &&
      (rule.columns === undefined || us(T.Columns) === rule.columns),
  );
}

/** The regions the matching rules black out. */
export const regionsOf = (rules: readonly DeviceRedactionRule[]): Box[] => rules.flatMap((r) => r.regions.map((b) => ({ ...b })));
