import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchingDeviceRules, regionsOf } from '../../src/main/core/screen/device-rules';
import { textElement, tagOf, type DicomDataset } from '../../src/main/core/dicom';
import { GatewaySettings } from '../../src/shared/settings';

const us = (keyword: string, n: number, littleEndian: boolean) => {
  const value = Buffer.alloc(2);
  if (littleEndian) value.writeUInt16LE(n);
  else value.writeUInt16BE(n);
  return { tag: tagOf(keyword), vr: 'US', value };
};
function header(littleEndian: boolean): DicomDataset {
  return new Map([
    [tagOf('Manufacturer'), textElement(tagOf('Manufacturer'), 'LO', 'Example Medical')],
    [tagOf('ManufacturerModelName'), textElement(tagOf('ManufacturerModelName'), 'LO', 'MAMMO 3000')],
    [tagOf('SOPClassUID'), textElement(tagOf('SOPClassUID'), 'UI', '1.2.840.10008.5.1.4.1.1.1.2')],
    [tagOf('Rows'), us('Rows', 4096, littleEndian)],
    [tagOf('Columns'), us('Columns', 3328, littleEndian)],
  ]);
}
const banner = { x0: 0, y0: 0, x1: 3328, y1: 120 };

describe('device rules: regions a device always writes text into', () => {
  it('apply when every field the rule gives matches the header (case ignored, in either byte order)', () => {
    const rule = { name: 'banner', manufacturer: 'EXAMPLE MEDICAL', model: 'mammo 3000', rows: 4096, columns: 3328, regions: [banner] };
    for (const littleEndian of [true, false]) {
      expect(matchingDeviceRules([rule], header(littleEndian), littleEndian).map((r) => r.name)).toEqual(['banner']);
    }
    expect(regionsOf([rule])).toEqual([banner]);
  });

  it('do not apply when one given field differs, and a rule without fields applies to every image', () => {
    const base = { name: 'x', regions: [banner] };
    expect(matchingDeviceRules([{ ...base, model: 'MAMMO 2000' }], header(true), true)).toEqual([]);
    expect(matchingDeviceRules([{ ...base, rows: 2048 }], header(true), true)).toEqual([]);
    expect(matchingDeviceRules([{ ...base, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.2.1' }], header(true), true)).toEqual([]);
    expect(matchingDeviceRules([base], header(true), true)).toHaveLength(1);
  });

  it('ship a documented example that the settings schema accepts, and refuse an empty region', () => {
    const example = JSON.parse(fs.readFileSync(path.resolve('resources/screening/device-rules.example.json'), 'utf8')) as unknown;
    const settings = GatewaySettings.parse(example);
    expect(settings.screening.deviceRules[0]!.regions).toEqual([banner]);
    expect(() => GatewaySettings.parse({ screening: { deviceRules: [{ name: 'bad', regions: [{ x0: 10, y0: 0, x1: 10, y1: 5 }] }] } })).toThrow(/x1 > x0/);
  });
});
