import { describe, expect, it } from 'vitest';
import { type DicomElement, decodeText, tagOf, textElement } from '../../src/main/core/dicom';
import { encodeText } from '../../src/main/core/deid/charset';
import { baseDataset, contextFor, deidentifyRoundTrip } from '../support/deid-harness';

// ISO 8859-5 puts А..я (U+0410..U+044F) at 0xB0..0xEF: written by hand, independent of the code under test.
const iso88595 = (s: string): Buffer => Buffer.from([...s].map((ch) => (ch.charCodeAt(0) >= 0x410 ? ch.charCodeAt(0) - 0x410 + 0xb0 : ch.charCodeAt(0))));
const raw = (keyword: string, vr: string, bytes: Buffer): DicomElement => ({ tag: tagOf(keyword), vr, value: bytes.length % 2 ? Buffer.concat([bytes, Buffer.from(' ')]) : bytes });

describe('descriptors cleaned in the instance\'s own character set', () => {
  it('removes a Cyrillic name from a descriptor and writes the rest back in ISO 8859-5', () => {
    const ds = baseDataset([
      textElement(tagOf('SpecificCharacterSet'), 'CS', 'ISO_IR 144'),
      raw('PatientName', 'PN', iso88595('Иванова^Мария')),
      raw('StudyDescription', 'LO', iso88595('Маммография Иванова')),
    ]);
    const { dataset } = deidentifyRoundTrip(ds, contextFor());
    expect(dataset.get(tagOf('SpecificCharacterSet'))?.value?.toString('latin1').trim()).toBe('ISO_IR 144');
    const description = dataset.get(tagOf('StudyDescription'))!.value!;
    expect(description.toString('latin1').trim()).toBe(iso88595('Маммография').toString('latin1'));
    expect(decodeText(description, 'LO', ['ISO_IR 144']).trim()).toBe('Маммография');
  });

  it('cleans UTF-8 text and keeps it UTF-8', () => {
    const ds = baseDataset([
      textElement(tagOf('SpecificCharacterSet'), 'CS', 'ISO_IR 192'),
      raw('PatientName', 'PN', Buffer.from('Müller-Lüdenscheidt^Jürgen', 'utf8')),
      raw('SeriesDescription', 'LO', Buffer.from('Tomosynthèse Müller-Lüdenscheidt', 'utf8')),
    ]);
    const { dataset } = deidentifyRoundTrip(ds, contextFor());
    expect(dataset.get(tagOf('SeriesDescription'))!.value!.toString('utf8').trim()).toBe('Tomosynthèse');
  });

  it('empties rather than mis-encodes text it cannot write in a multi-byte set other than UTF-8', () => {
    expect(encodeText('乳腺', 'LO', ['GB18030'])).toBeUndefined();
    expect(encodeText('MAMMO', 'LO', ['GB18030'])?.toString('latin1')).toBe('MAMMO ');
    expect(encodeText('Ελλάδα', 'LO', ['ISO_IR 126'])).toBeDefined();
    expect(encodeText('Ελλάδα', 'LO', ['ISO_IR 100'])).toBeUndefined();
  });
});
