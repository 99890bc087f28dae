import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResearchOrthanc, type ResearchOrthanc } from '../support/research-orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { storescu } from '../support/dicom-tools';
import {
  addedErrors, fold, generateHostileCorpus, inspectCorpusFiles, iodErrors, valueAt,
  type Corpus, type CorpusFile, type CorpusInspection, type Needle,
} from '../support/corpus';
import { openDatabase } from '../../src/main/core/store';

/**
 * The hostile corpus of issue 16 (test/fixtures/generate-hostile-corpus.py) sent by storescu, each file in its own
 * transfer syntax, into the running gateway (spawned as `npm run headless` does) and on to the research Orthanc
 * with its shipped configuration; what Orthanc stores is fetched back (/instances/{id}/file) and read with pydicom,
 * zlib and dciodvfy, never with the gateway's own code.
 *
 * Four gateways run side by side into one Orthanc: the main one (site code KGH, equal to one patient's Issuer of
 * Patient ID, default de-identification) receives the whole corpus; three more, one per study-date rule (month,
 * year, shift), receive the files with date-times that carry UTC offsets.
 */

const RULES = ['month', 'year', 'shift'] as const;
type Rule = 'all' | (typeof RULES)[number];
/** The files whose date-times (offsets, fractions, at depth) are checked under every date rule. */
const DATE_TIME_FILES = ['ffdm-dt-offsets', 'tomo-lmlo', 'cad-sr'];

/**
 * dciodvfy errors an output may have that its input did not, each with its reason. Empty: the requirement is
 * that de-identification adds no IOD error.
 */
const ALLOWED_ADDED_ERRORS: Array<{ pattern: RegExp; why: string }> = [];

interface Row {
  sop_instance_uid: string;
  state: string;
  last_error: string | null;
  research_sop_instance_uid: string | null;
}

interface Delivery {
  file: CorpusFile;
  rule: Rule;
  row?: Row;
  /** The file as Orthanc stores it, when delivered. */
  output?: string;
}

const FINAL = new Set(['uploaded', 'held', 'failed', 'discarded']);
const DT = /^(\d{4})(\d{2})(\d{2})(\d{6}(?:\.\d{1,6})?)?([+-]\d{4})?$/;
const daysBetween = (a: string, b: string): number =>
  (Date.UTC(+b.slice(0, 4), +b.slice(4, 6) - 1, +b.slice(6, 8)) - Date.UTC(+a.slice(0, 4), +a.slice(4, 6) - 1, +a.slice(6, 8))) / 86_400_000;
const addDays = (date: string, days: number): string => {
  const d = new Date(Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8)) + days * 86_400_000);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
};

describe('hostile corpus through storescu, the running gateway and a real Orthanc: nothing identifying, nothing invalid, nothing lost', () => {
  let corpus: Corpus;
  let orthanc: ResearchOrthanc;
  const gateways = new Map<Rule, GatewayProcess>();
  const deliveries: Delivery[] = [];
  let inputs: Record<string, CorpusInspection> = {};
  let outputs: Record<string, CorpusInspection> = {};
  const inputErrors = new Map<string, string[]>();
  const outputErrors = new Map<string, string[]>();
  const needles: Array<Pick<Needle, 'value' | 'class'>> = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-corpus-'));
  const input = (f: CorpusFile): string => path.join(corpus.dir, f.file);
  const byName = (name: string): CorpusFile => corpus.files.find((f) => f.name === name)!;
  const main = (): Delivery[] => deliveries.filter((d) => d.rule === 'all');

  const rows = (gateway: GatewayProcess): Row[] => {
    const db = openDatabase(path.join(gateway.dataDir, 'gateway.db'), gateway.databaseKey);
    try {
      return db.prepare('SELECT sop_instance_uid, state, last_error, research_sop_instance_uid FROM instances').all() as Row[];
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    let ports: number[];
    [corpus, orthanc, ports] = await Promise.all([generateHostileCorpus(), startResearchOrthanc(), Promise.all([0, 1, 2, 3].map(() => freePort()))]);
    // The research Orthanc as shipped (resources/research-orthanc): the gateways upload with a gateway account,
    // the test reads back as its administrator.
    const destination = { url: orthanc.url, ...orthanc.accounts.gateway };
    const rules: Rule[] = ['all', ...RULES];
    const started = await Promise.all(rules.map((rule, i) => startGateway({
      site: { code: rule === 'all' ? corpus.siteCode : `R${rule.toUpperCase().slice(0, 3)}` },
      intake: { aeTitle: 'DEID_GW', port: ports[i], allowedCallingAeTitles: [] },
      destination,
      deid: rule === 'all' ? {} : { studyDates: { keep: rule, maxShiftDays: 3650 } },
    })));
    rules.forEach((rule, i) => gateways.set(rule, started[i]!));

    // Each file in its own transfer syntax, one association per file; -R proposes the file's own SOP class (storescu's
    // default list has no Breast Tomosynthesis).
    for (const rule of rules) {
      const files = rule === 'all' ? corpus.files : corpus.files.filter((f) => DATE_TIME_FILES.includes(f.name));
      for (const f of files) await storescu(ports[rules.indexOf(rule)]!, [input(f)], { extra: ['-R', ...f.storescu] });
      for (const f of files) deliveries.push({ file: f, rule });
    }
    for (const rule of rules) {
      const gateway = gateways.get(rule)!;
      const expected = deliveries.filter((d) => d.rule === rule).length;
      await waitFor(`every instance sent to the ${rule} gateway in a final state`, () => {
        const all = rows(gateway);
        return all.length >= expected && all.every((r) => FINAL.has(r.state)) ? true : undefined;
      }, 90_000, 250).catch((error: Error) => {
        throw new Error(`${error.message}\n--- gateway output ---\n${gateway.output()}`);
      });
      const byOriginal = new Map(rows(gateway).map((r) => [r.sop_instance_uid, r]));
      for (const d of deliveries.filter((x) => x.rule === rule)) d.row = byOriginal.get(d.file.sopInstanceUID);
    }

    // What Orthanc stores, matched to its input through the research SOP Instance UID the gateway recorded.
    const { admin } = orthanc.accounts;
    const atOrthanc = (await orthanc.request(admin, 'GET', '/instances?expand')).json<Array<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }>>();
    for (const d of deliveries) {
      const stored = atOrthanc.find((i) => d.row?.research_sop_instance_uid && i.MainDicomTags.SOPInstanceUID === d.row.research_sop_instance_uid);
      if (!stored) continue;
      d.output = path.join(scratch, `${d.rule}-${d.file.name}.dcm`);
      const file = await orthanc.request(admin, 'GET', `/instances/${stored.ID}/file`);
      expect(file.status).toBe(200);
      fs.writeFileSync(d.output, file.body);
    }

    // Every needle of the corpus is searched in every output, once per distinct normalised spelling.
    const seen = new Set<string>();
    for (const f of corpus.files) {
      for (const n of f.needles) {
        if (seen.has(fold(n.value))) continue;
        seen.add(fold(n.value));
        needles.push({ value: n.value, class: n.class });
      }
    }
    const delivered = deliveries.filter((d) => d.output);
    const inputFiles = corpus.files.map(input);
    [inputs, outputs] = await Promise.all([inspectCorpusFiles(inputFiles, needles), inspectCorpusFiles(delivered.map((d) => d.output!), needles)]);
    await Promise.all([
      ...inputFiles.map(async (f) => inputErrors.set(f, await iodErrors(f, inputs[f]!.transferSyntax))),
      ...delivered.map(async (d) => outputErrors.set(d.output!, await iodErrors(d.output!, outputs[d.output!]!.transferSyntax))),
    ]);
  });

  afterAll(async () => {
    await Promise.all([...gateways.values()].map((g) => g.stop()));
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
    if (corpus) fs.rmSync(corpus.dir, { recursive: true, force: true });
  });

  it('the corpus holds every needle it declares, and the independent search finds each one in its input', () => {
    expect(corpus.files.length).toBeGreaterThanOrEqual(12);
    expect(needles.length).toBeGreaterThan(80);
    const classes = new Set(corpus.files.flatMap((f) => f.classes));
    for (const c of ['charset:ISO_IR 100', 'charset:ISO_IR 192', 'charset:ISO 2022 IR 87', 'charset:GB18030', 'tomosynthesis', 'synthesized-2d', 'sr',
      'gsps-text', 'encapsulated-pdf', 'overlay', 'identification-macros', 'alternative-calendar', 'staff-only-in-sequence', 'free-text-physician',
      'dt-offsets', 'site-code-equals-issuer', 'transfer:implicit', 'transfer:big-endian', 'transfer:deflated', 'transfer:explicit', 'transfer:rle',
      'transfer:jpeg-lossless']) expect(classes, c).toContain(c);
    const blind: string[] = [];
    for (const f of corpus.files) {
      const inspection = inputs[input(f)]!;
      expect(inspection.error, f.name).toBeUndefined();
      const found = new Set(inspection.leaks.map((l) => fold(l.value)));
      for (const n of f.needles) if (!found.has(fold(n.value))) blind.push(`${f.name}: ${n.value} (${n.where})`);
    }
    expect(blind).toEqual([]);
  });

  it('delivers every instance to Orthanc, or holds it with the reason the corpus expects: none silently missing', () => {
    const problems: string[] = [];
    for (const d of deliveries) {
      const label = `${d.rule}/${d.file.name}`;
      if (!d.row) {
        problems.push(`${label}: no job recorded for the instance storescu sent`);
        continue;
      }
      const expected = d.file.expect;
      if (expected.outcome === 'delivered') {
        if (!d.output) problems.push(`${label}: not delivered (state ${d.row.state}: ${d.row.last_error ?? 'no reason'})`);
      } else if (d.row.state !== 'held' || !new RegExp(expected.reason, 'i').test(d.row.last_error ?? '')) {
        problems.push(`${label}: expected held (${expected.why}); state ${d.row.state}${d.output ? ', delivered to Orthanc' : ''}: ${d.row.last_error ?? 'no reason'}`);
      } else if (d.output) {
        problems.push(`${label}: held, yet Orthanc has it`);
      }
    }
    expect(problems).toEqual([]);
    expect(deliveries.filter((d) => d.output).length).toBeGreaterThan(0);
  });

  it('leaves zero identifying values in anything Orthanc stores: all elements, all depths, decoded, raw bytes, inflated PDF text', () => {
    const delivered = deliveries.filter((d) => d.output);
    expect(delivered.length).toBeGreaterThan(0);
    const unreadable = delivered.filter((d) => outputs[d.output!]?.error || !outputs[d.output!]).map((d) => `${d.rule}/${d.file.name}: ${outputs[d.output!]?.error ?? 'not inspected'}`);
    expect(unreadable).toEqual([]);
    // Grouped by class, each distinct value once with every place it was found.
    const byClass: Record<string, Record<string, string[]>> = {};
    for (const d of delivered) {
      for (const leak of outputs[d.output!]!.leaks) {
        const values = (byClass[leak.class] ??= {});
        (values[leak.value] ??= []).push(`${d.rule}/${d.file.name}: ${leak.where}`);
      }
    }
    const counts = Object.entries(byClass).map(([c, values]) => `${c} ${Object.keys(values).length}`);
    const total = Object.values(byClass).reduce((n, values) => n + Object.keys(values).length, 0);
    expect(byClass, `${total} distinct identifying values delivered (${counts.join(', ')})`).toEqual({});
  });

  it('adds no IOD error (dciodvfy) to any output, on the file fetched from Orthanc, that its input did not have', () => {
    const delivered = deliveries.filter((d) => d.output);
    expect(delivered.length).toBeGreaterThan(0);
    const added: Record<string, string[]> = {};
    for (const d of delivered) {
      const extra = addedErrors(inputErrors.get(input(d.file))!, outputErrors.get(d.output!)!)
        .filter((e) => !ALLOWED_ADDED_ERRORS.some((a) => a.pattern.test(e)));
      if (extra.length) added[`${d.rule}/${d.file.name}`] = extra;
    }
    const total = Object.values(added).reduce((n, errors) => n + errors.length, 0);
    expect(added, `${total} dciodvfy errors added in ${Object.keys(added).length} outputs`).toEqual({});
  });

  it('keeps study dates, view and laterality codes and mammography descriptors', () => {
    const lost: string[] = [];
    let checked = 0;
    for (const d of main().filter((x) => x.output)) {
      const out = outputs[d.output!]!;
      for (const k of d.file.keep) {
        const value = valueAt(out, k.path);
        checked += 1;
        const ok = k.match === 'equal' ? value === k.value : value !== undefined && value.includes(k.value);
        if (!ok) lost.push(`${d.file.name} ${k.path}: expected ${k.match === 'equal' ? '' : 'to contain '}${JSON.stringify(k.value)}, got ${JSON.stringify(value)}`);
      }
    }
    expect(lost).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  it('keeps pixel data byte-identical (hash of the Pixel Data value, in every transfer syntax)', () => {
    const changed: string[] = [];
    let checked = 0;
    for (const d of deliveries.filter((x) => x.output)) {
      const before = inputs[input(d.file)]!;
      const after = outputs[d.output!]!;
      if (before.pixelSha256 === undefined) {
        expect(after.pixelSha256, d.file.name).toBeUndefined();
        continue;
      }
      checked += 1;
      if (after.pixelSha256 !== before.pixelSha256 || after.pixelLength !== before.pixelLength) changed.push(`${d.rule}/${d.file.name} (${after.transferSyntax})`);
    }
    expect(changed).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('points every reference (GSPS, SR, synthesized 2D) at the research UIDs the referenced instances got', () => {
    const gateway = gateways.get('all')!;
    const research = new Map(rows(gateway).map((r) => [r.sop_instance_uid, r.research_sop_instance_uid]));
    const wrong: string[] = [];
    let checked = 0;
    for (const d of main().filter((x) => x.output)) {
      const out = outputs[d.output!]!;
      for (const ref of d.file.references) {
        const target = byName(ref.target);
        const targetDelivery = main().find((x) => x.file.name === ref.target)!;
        // The target as Orthanc stores it; if it was not delivered, the research UID its job recorded.
        const expected = ref.kind === 'series'
          ? targetDelivery.output ? valueAt(outputs[targetDelivery.output]!, 'SeriesInstanceUID') : undefined
          : targetDelivery.output ? valueAt(outputs[targetDelivery.output]!, 'SOPInstanceUID') : research.get(target.sopInstanceUID) ?? undefined;
        const value = out.uids.find((u) => u.path === ref.path)?.value;
        checked += 1;
        if (!value || value !== expected || value === target.sopInstanceUID || value === target.seriesInstanceUID) {
          wrong.push(`${d.file.name} ${ref.path}: ${value ?? 'missing'}, expected ${expected ?? '(target not delivered)'}`);
        }
      }
      // The study the instance belongs to is the study of the image it references.
      for (const ref of d.file.references.filter((r) => main().find((x) => x.file.name === r.target)?.output)) {
        const targetOut = outputs[main().find((x) => x.file.name === ref.target)!.output!]!;
        if (valueAt(targetOut, 'StudyInstanceUID') !== valueAt(out, 'StudyInstanceUID')) wrong.push(`${d.file.name}: not in the study of ${ref.target}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(7);
  });

  it('applies each study-date rule to the date part of a date-time only, keeping its time, fraction and UTC offset', () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const d of deliveries.filter((x) => DATE_TIME_FILES.includes(x.file.name))) {
      if (!d.output) {
        wrong.push(`${d.rule}/${d.file.name}: not delivered, its date-times cannot be checked`);
        continue;
      }
      const out = outputs[d.output]!;
      const inStudy = valueAt(inputs[input(d.file)]!, 'StudyDate')!;
      const outStudy = valueAt(out, 'StudyDate');
      for (const dt of d.file.dateTimes) {
        checked += 1;
        const m = DT.exec(dt.value)!;
        const [, y, mo, day, time = '', offset = ''] = m;
        let expected: string;
        if (d.rule === 'all') expected = dt.value;
        else if (d.rule === 'month') expected = `${y}${mo}15${time}${offset}`;
        else if (d.rule === 'year') expected = `${y}0715${time}${offset}`;
        else {
          // The shift is the one the patient's study date got (a random whole number of days, zero included).
          if (!outStudy) {
            wrong.push(`${d.rule}/${d.file.name}: no study date in the output`);
            continue;
          }
          expected = `${addDays(`${y}${mo}${day}`, daysBetween(inStudy, outStudy))}${time}${offset}`;
        }
        const value = valueAt(out, dt.path);
        if (value !== expected) wrong.push(`${d.rule}/${d.file.name} ${dt.path}: ${dt.value} → ${JSON.stringify(value)}, expected ${expected}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(4 * 7);
  });
});
