import { describe, expect, it } from 'vitest';
import { tagOf, textElement, type DicomDataset } from '../../src/main/core/dicom';
import { burnedInTextRisk } from '../../src/main/core/deid';
import { baseDataset } from '../support/deid-harness';

const document = (sopClass: string, extra: Array<[string, string, string]> = []): DicomDataset =>
  baseDataset([
    textElement(tagOf('SOPClassUID'), 'UI', sopClass),
    ...extra.map(([keyword, vr, value]) => textElement(tagOf(keyword), vr, value)),
  ]);

describe('encapsulated documents are held for review by SOP class', () => {
  it.each([
    ['Encapsulated PDF', '1.2.840.10008.5.1.4.1.1.104.1'],
    ['Encapsulated CDA', '1.2.840.10008.5.1.4.1.1.104.2'],
    ['Encapsulated STL', '1.2.840.10008.5.1.4.1.1.104.3'],
    ['Encapsulated OBJ', '1.2.840.10008.5.1.4.1.1.104.4'],
    ['Encapsulated MTL', '1.2.840.10008.5.1.4.1.1.104.5'],
  ])('holds %s whatever its modality and Burned In Annotation say', (_name, sopClass) => {
    // Modality MG is not in the burned-in list, and the document claims to have no burned-in text.
    const ds = document(sopClass, [['Modality', 'CS', 'MG'], ['BurnedInAnnotation', 'CS', 'NO']]);
    expect(burnedInTextRisk(ds, [])).toMatch(/^Encapsulated document:/);
    expect(burnedInTextRisk(ds, ['US'], { allowEncapsulatedDocuments: false })).toMatch(/^Encapsulated document:/);
  });

  it('holds any instance that carries an Encapsulated Document, whatever its SOP class', () => {
    const ds = document('1.2.840.10008.5.1.4.1.1.7', [['Modality', 'CS', 'OT'], ['BurnedInAnnotation', 'CS', 'NO']]);
    ds.set(tagOf('EncapsulatedDocument'), { tag: tagOf('EncapsulatedDocument'), vr: 'OB', value: Buffer.from('%PDF-1.4\n') });
    expect(burnedInTextRisk(ds, [])).toMatch(/^Encapsulated document:/);
  });

  it('lets them through when the site allows encapsulated documents, and still applies the burned-in rules', () => {
    const pdf = document('1.2.840.10008.5.1.4.1.1.104.1', [['Modality', 'CS', 'DOC'], ['BurnedInAnnotation', 'CS', 'NO']]);
    expect(burnedInTextRisk(pdf, ['DOC'], { allowEncapsulatedDocuments: true })).toBeUndefined();
    const unsure = document('1.2.840.10008.5.1.4.1.1.104.1', [['Modality', 'CS', 'DOC']]);
    expect(burnedInTextRisk(unsure, ['DOC'], { allowEncapsulatedDocuments: true })).toMatch(/^Burned-in text possible/);
  });

  it('leaves a mammogram that says it has no burned-in text alone', () => {
    const mg = document('1.2.840.10008.5.1.4.1.1.1.2', [['Modality', 'CS', 'MG'], ['BurnedInAnnotation', 'CS', 'NO']]);
    expect(burnedInTextRisk(mg, ['US'])).toBeUndefined();
  });
});
