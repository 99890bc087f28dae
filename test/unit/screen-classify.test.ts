import { describe, expect, it } from 'vitest';
import { classifyLine, datesIn, foldText, identifyingMatch, prepareValues } from '../../src/main/core/screen/classify';
import { framesToScreen, mergeBoxes } from '../../src/main/core/screen/screen';

const values = prepareValues({
  names: ['MÜLLER^JÖRDIS^M', 'HALVORSEN^INGRID', 'DR SØRENSEN^PER'],
  ids: ['0004711', 'KGH-882301'],
  dates: ['19650723'],
  institutions: ['KLINIKUM GRÜNWALD'],
});
const words = (text: string, confidence = 95): Array<{ text: string; confidence: number }> => text.split(' ').map((t) => ({ text: t, confidence }));

describe('burned-in text: what a line read by OCR is', () => {
  it('folds case, accents, ligatures and punctuation the way OCR output varies', () => {
    expect(foldText('Müller, Jördis')).toBe('MULLER JORDIS');
    expect(foldText('SØRENSEN^PER')).toBe('SORENSEN PER');
    expect(foldText('Straße')).toBe('STRASSE');
    expect(foldText('  L-CC  ')).toBe('L CC');
  });

  it('reads birth dates in the spellings found beside names', () => {
    for (const text of ['23.07.1965', '23/07/1965', '1965-07-23', '19650723', '23071965', '07/23/1965', '23 Jul 1965', 'July 23, 1965', '23JUL1965', '23. Juli 1965', '23 juillet 1965', '23-07-65', '230765']) {
      expect([...datesIn(foldText(text))], text).toContain('19650723');
    }
    expect([...datesIn(foldText('24 Jul 1965'))]).not.toContain('19650723');
  });

  it('matches names, identifiers, birth dates and the institution, also with OCR slips', () => {
    expect(identifyingMatch('MULLER, JORDIS', values)).toBe('a name');
    expect(identifyingMatch('MUELLER JOERDIS', values)).toBe('a name'); // ü and ö written ue and oe: one letter more
    expect(identifyingMatch('HALV0RSEN', values)).toBe('a name'); // O read as 0
    expect(identifyingMatch('ID 0OO4711', values)).toBe('an identifier'); // letters O for zeros
    expect(identifyingMatch('MRN KGH 882301', values)).toBe('an identifier'); // hyphen lost
    expect(identifyingMatch('DOB 23.07.1965', values)).toBe('a date of birth');
    expect(identifyingMatch('Klinikum Grunwald', values)).toBe('the institution');
    expect(identifyingMatch('KLINIKUM', values)).toBeUndefined(); // one common word of the institution is not enough
    expect(identifyingMatch('R MLO', values)).toBeUndefined();
    expect(identifyingMatch('QUALITY CONTROL', values)).toBeUndefined();
  });

  it('keeps laterality and view markers and exposure figures, and calls other readable words other', () => {
    expect(classifyLine(words('L CC'), values).kind).toBe('harmless');
    expect(classifyLine(words('RMLO'), values).kind).toBe('harmless');
    expect(classifyLine(words('28 kV 63 mAs'), values).kind).toBe('harmless');
    expect(classifyLine(words('45mm'), values).kind).toBe('harmless');
    expect(classifyLine(words('QUALITY CONTROL PHANTOM'), values).kind).toBe('other');
    expect(classifyLine(words('HALVORSEN INGRID'), values)).toEqual({ kind: 'identifying', why: 'a name' });
    // Identifying text counts at any confidence; other text only when OCR is sure of it.
    expect(classifyLine(words('HALVORSEN', 20), values).kind).toBe('identifying');
    expect(classifyLine(words('QUALITY CONTROL', 30), values).kind).toBe('unreadable');
    expect(classifyLine(words('i ,', 90), values).kind).toBe('unreadable');
  });

  it('screens every frame up to the limit, else the limit spread from first to last', () => {
    expect(framesToScreen(3, 16)).toEqual([0, 1, 2]);
    expect(framesToScreen(61, 5)).toEqual([0, 15, 30, 45, 60]);
  });

  it('lists a region found on several frames once', () => {
    expect(mergeBoxes([{ x0: 0, y0: 0, x1: 10, y1: 10 }, { x0: 20, y0: 0, x1: 30, y1: 10 }, { x0: 5, y0: 5, x1: 25, y1: 8 }])).toEqual([{ x0: 0, y0: 0, x1: 30, y1: 10 }]);
  });
});
