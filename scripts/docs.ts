/**
 * Writes the generated sections of the documents in docs/ from the code's own tables (`npm run docs`).
 *
 * A generated section sits between `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->`; the text
 * around it is written by hand. test/unit/docs.test.ts regenerates every section in memory and fails when the
 * committed documents differ, so a change to a table the documents describe cannot go unnoticed.
 *
 * `npm run docs` rewrites the files; `npm run docs -- --check` only reports which differ (exit 1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import dimse from 'dcmjs-dimse';
import { z } from 'zod';
import { GatewaySettings, DeidSettings, IntakeSettings, LimitSettings, RetentionSettings, DoctorSettings } from '../src/shared/settings';
import { STORE_STATUS, STORAGE_CLASSES, isStorageClass } from '../src/main/core/intake/storage-scp';
import { describeTransferSyntax } from '../src/main/core/dicom/transfer-syntax';
import { CHARSETS } from '../src/main/core/dicom/values';
import { parseTag } from '../src/main/core/dicom/tag';
import { encodeText } from '../src/main/core/deid/charset';
import { enabledOptions, methodCodes, describeMethod, deidentifyDataset, type DeidContext } from '../src/main/core/deid/deidentify';
import { vrOf, tagOf } from '../src/main/core/dicom/dictionary';
import { textElement, trimValue, TEXT_VRS } from '../src/main/core/dicom/values';
import type { DicomDataset, DicomElement } from '../src/main/core/dicom/model';
import type { ParsedInstance } from '../src/main/core/dicom/parse';
import { readIdentity } from '../src/main/core/deid/identity';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../src/main/core/dicom/write';
import { actionForCode, profileRowFor, profileRows, resolveAction, OPTION_PRECEDENCE, PROFILE_SOURCE, type ProfileOption, type ProfileRow } from '../src/main/core/deid/profile';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SETTINGS_SOURCE = path.join(ROOT, 'src/shared/settings.ts');

// ---------------------------------------------------------------------------------------------------------------
// Facts of the standard, carried as data (the code decides which of them apply; these only name them).

/** PS3.6 Annex A, Table A-1 (2024 editions): transfer syntax UIDs and names, to ask the code about each. */
const TRANSFER_SYNTAX_NAMES: Array<[string, string]> = [
  ['1.2.840.10008.1.2', 'Implicit VR Little Endian'],
  ['1.2.840.10008.1.2.1', 'Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.1.98', 'Encapsulated Uncompressed Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.2', 'Explicit VR Big Endian (retired)'],
  ['1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)'],
  ['1.2.840.10008.1.2.4.70', 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, Selection Value 1)'],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless Image Compression'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Lossy (Near-Lossless) Image Compression'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 Image Compression (Lossless Only)'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000 Image Compression'],
  ['1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)'],
  ['1.2.840.10008.1.2.4.93', 'JPEG 2000 Part 2 Multi-component Image Compression'],
  ['1.2.840.10008.1.2.4.94', 'JPIP Referenced'],
  ['1.2.840.10008.1.2.4.95', 'JPIP Referenced Deflate'],
  ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level'],
  ['1.2.840.10008.1.2.4.101', 'MPEG2 Main Profile / High Level'],
  ['1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.103', 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.104', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video'],
  ['1.2.840.10008.1.2.4.105', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video'],
  ['1.2.840.10008.1.2.4.106', 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2'],
  ['1.2.840.10008.1.2.4.107', 'HEVC/H.265 Main Profile / Level 5.1'],
  ['1.2.840.10008.1.2.4.108', 'HEVC/H.265 Main 10 Profile / Level 5.1'],
  ['1.2.840.10008.1.2.4.110', 'JPEG XL Lossless'],
  ['1.2.840.10008.1.2.4.111', 'JPEG XL JPEG Recompression'],
  ['1.2.840.10008.1.2.4.112', 'JPEG XL'],
  ['1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 Image Compression (Lossless Only)'],
  ['1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)'],
  ['1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000 Image Compression'],
  ['1.2.840.10008.1.2.4.204', 'JPIP HTJ2K Referenced'],
  ['1.2.840.10008.1.2.4.205', 'JPIP HTJ2K Referenced Deflate'],
  ['1.2.840.10008.1.2.5', 'RLE Lossless'],
  ['1.2.840.10008.1.2.6.1', 'RFC 2557 MIME encapsulation (retired)'],
  ['1.2.840.10008.1.2.6.2', 'XML Encoding (retired)'],
  ['1.2.840.10008.1.2.7.1', 'SMPTE ST 2110-20 Uncompressed Progressive Active Video'],
  ['1.2.840.10008.1.2.7.2', 'SMPTE ST 2110-20 Uncompressed Interlaced Active Video'],
  ['1.2.840.10008.1.2.7.3', 'SMPTE ST 2110-30 PCM Digital Audio'],
  ['1.2.840.10008.1.2.8.1', 'Deflated Image Frame Compression'],
];

/** PS3.4 Annex B.2.3 and Annex C (C-STORE and general DIMSE statuses): the standard's meaning of each code. */
const STATUS_MEANING: Record<number, string> = {
  0x0000: 'Success',
  0x0107: 'Warning: Attribute list error',
  0x0110: 'Failure: Processing failure',
  0x0111: 'Failure: Duplicate SOP Instance',
  0x0117: 'Failure: Invalid object instance',
  0x0122: 'Failure: SOP class not supported',
  0x0124: 'Failure: Not authorized',
  0x0210: 'Failure: Duplicate invocation',
  0x0211: 'Failure: Unrecognized operation',
  0x0212: 'Failure: Mistyped argument',
  0x0213: 'Failure: Resource limitation',
  0xa700: 'Refused: Out of Resources',
  0xa900: 'Error: Data Set does not match SOP Class',
  0xb000: 'Warning: Coercion of Data Elements',
  0xb006: 'Warning: Elements Discarded',
  0xb007: 'Warning: Data Set does not match SOP Class',
  0xc000: 'Error: Cannot understand',
};

/**
 * When the gateway answers each C-STORE status. Keyed by status value: a status the intake's table gains without
 * a sentence here stops `npm run docs` with a message naming it, so the statement never lists a status unexplained.
 */
const STATUS_WHEN: Record<number, string> = {
  0x0000:
    'The instance is in the spool, synced to disk, and its job is recorded: only then is success answered. Its de-identification and upload follow.',
  0xa700:
    'The gateway may not keep more now: pending instances have reached `limits.spoolCapBytes`, the data folder’s disk is below `limits.minFreeBytes`, or the spool cannot be checked. The data is read and dropped; the sender should retry later. The association goes on.',
  0xa900:
    'The data set lacks an attribute the gateway needs to track it (SOP Instance UID, Study Instance UID, Series Instance UID or SOP Class UID). It is kept in quarantine as a review-list entry with the reason.',
  0xc000:
    'The data set cannot be parsed (not DICOM, truncated, or malformed). It is kept in quarantine as a review-list entry with the reason.',
  0x0110:
    'The gateway could not store the instance for another reason (the spool file could not be created or written). The instance is not processed (a partial spool file is removed at the next start at the latest); the error comment says “Gateway could not store the instance”.',
};

/** PS3.15 E.3: the option each column of Table E.1-1 stands for. */
const OPTION_NAMES: Record<ProfileOption, string> = {
  rtnSafePrivOpt: 'Retain Safe Private Option',
  rtnUIDsOpt: 'Retain UIDs Option',
  rtnDevIdOpt: 'Retain Device Identity Option',
  rtnInstIdOpt: 'Retain Institution Identity Option',
  rtnPatCharsOpt: 'Retain Patient Characteristics Option',
  rtnLongFullDatesOpt: 'Retain Longitudinal Temporal Information with Full Dates Option',
  rtnLongModifDatesOpt: 'Retain Longitudinal Temporal Information with Modified Dates Option',
  cleanDescOpt: 'Clean Descriptors Option',
  cleanStructContOpt: 'Clean Structured Content Option',
  cleanGraphOpt: 'Clean Graphics Option',
};

/** What each engine action does to the attribute, in the statement's words. */
const ACTION_WORDS: Record<string, string> = {
  keep: 'kept',
  remove: 'removed',
  empty: 'emptied',
  dummy: 'dummy value',
  uid: 'new UID',
  clean: 'cleaned',
};

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = (header: string[], rows: string[][]): string =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
const hex4 = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

function bytes(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}

type AnySchema = z.ZodType & { def: { type: string; innerType?: AnySchema; defaultValue?: unknown; shape?: Record<string, AnySchema>; options?: unknown[]; element?: AnySchema } };

/** The schema under its default/prefault/optional wrappers. */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  while (s.def.innerType && ['default', 'prefault', 'optional', 'nullable', 'readonly'].includes(s.def.type)) s = s.def.innerType;
  return s;
}

function objectShape(schema: AnySchema): Record<string, AnySchema> {
  const s = unwrap(schema) as AnySchema & { shape?: Record<string, AnySchema> };
  if (!s.shape) throw new Error('not an object schema');
  return s.shape;
}

/** The values a setting accepts, read from its schema. */
function allowed(schema: AnySchema): string {
  const s = unwrap(schema) as AnySchema & { minValue?: number | null; maxValue?: number | null; options?: unknown[] };
  switch (s.def.type) {
    case 'number': {
      const min = s.minValue;
      const max = s.maxValue;
      const big = (v: number | null | undefined): boolean => v === undefined || v === null || !Number.isFinite(v) || Math.abs(v) >= Number.MAX_SAFE_INTEGER;
      if (big(min) && big(max)) return 'a number';
      if (big(max)) return `≥ ${min}`;
      if (big(min)) return `≤ ${max}`;
      return `${min}–${max}`;
    }
    case 'boolean':
      return '`true` / `false`';
    case 'enum':
      return (s.options ?? []).map((o) => `\`${String(o)}\``).join(', ');
    case 'array':
      return 'a list';
    case 'string': {
      const max = (s as unknown as { maxLength?: number | null }).maxLength;
      return max ? `text, at most ${max} characters` : 'text';
    }
    default:
      return s.def.type;
  }
}

function formatDefault(key: string, value: unknown): string {
  if (value === undefined) return 'none';
  if (typeof value === 'number' && /Bytes$/.test(key)) return `${value} (${bytes(value)})`;
  return `\`${JSON.stringify(value)}\``;
}

interface SettingComment {
  /** The `/** … *\/` comment above the key, or above the schema it is built from. */
  doc?: string;
  /** The schema constant the key's value is built from (`birthDate: BirthDateRule.default(…)`), to find its keys' comments. */
  ref?: string;
}

const jsdoc = (text: string, pos: number): string | undefined => {
  const ranges = ts.getLeadingCommentRanges(text, pos) ?? [];
  const doc = ranges.map((r) => text.slice(r.pos, r.end)).filter((c) => c.startsWith('/**')).pop();
  return doc
    ?.replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, '').trim())
    .filter(Boolean)
    .join(' ');
};

/**
 * The comments above each key of `export const <name> = z.strictObject({ … })` in src/shared/settings.ts: the
 * schema is the one place where each setting is explained, so the documents quote it rather than repeat it.
 */
function settingComments(schemaName: string): { keys: Map<string, SettingComment>; inline: Map<string, ts.ObjectLiteralExpression> } {
  const text = fs.readFileSync(SETTINGS_SOURCE, 'utf8');
  const source = ts.createSourceFile(SETTINGS_SOURCE, text, ts.ScriptTarget.Latest, true);
  const keys = new Map<string, SettingComment>();
  const inline = new Map<string, ts.ObjectLiteralExpression>();
  const statements = new Map<string, { literal?: ts.ObjectLiteralExpression; doc?: string }>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!declaration.initializer) continue;
      statements.set(declaration.name.getText(source), { literal: findObjectLiteral(declaration.initializer), doc: jsdoc(text, statement.getFullStart()) });
    }
  }
  const read = (literal: ts.ObjectLiteralExpression | undefined, prefix: string): void => {
    for (const property of literal?.properties ?? []) {
      if (!ts.isPropertyAssignment(property)) continue;
      const key = `${prefix}${property.name.getText(source)}`;
      let root: ts.Expression = property.initializer;
      while (ts.isCallExpression(root) || ts.isPropertyAccessExpression(root)) root = ts.isCallExpression(root) ? root.expression : root.expression;
      const ref = ts.isIdentifier(root) && statements.has(root.text) ? root.text : undefined;
      keys.set(key, { doc: jsdoc(text, property.getFullStart()) ?? (ref ? statements.get(ref)?.doc : undefined), ref });
      const nested = !ref ? findObjectLiteral(property.initializer) : undefined;
      if (nested) {
        inline.set(key, nested);
        read(nested, `${key}.`);
      }
      if (ref) read(statements.get(ref)?.literal, `${key}.`);
    }
  };
  read(statements.get(schemaName)?.literal, '');
  return { keys, inline };
}

function findObjectLiteral(node: ts.Node): ts.ObjectLiteralExpression | undefined {
  if (ts.isObjectLiteralExpression(node)) return node;
  if (ts.isCallExpression(node)) {
    // z.strictObject({ … }).default({ … }): the schema's literal is the innermost call's, not the default's.
    const inner = findObjectLiteral(node.expression);
    if (inner) return inner;
    if (ts.isPropertyAccessExpression(node.expression) && ['strictObject', 'object', 'looseObject'].includes(node.expression.name.text)) {
      for (const argument of node.arguments) if (ts.isObjectLiteralExpression(argument)) return argument;
    }
    return undefined;
  }
  if (ts.isPropertyAccessExpression(node)) return findObjectLiteral(node.expression);
  return undefined;
}

/**
 * One table row per setting of a section: name, default (as the schema gives it), allowed values, and meaning
 * (the schema's comment, or the PS3.15 option the setting turns on).
 */
function settingsTable(section: string, schemaName: string, schema: AnySchema, defaults: Record<string, unknown> | undefined): string {
  const { keys } = settingComments(schemaName);
  const options = section === 'deid' ? optionsBySetting() : new Map<string, string[]>();
  const rows: string[][] = [];
  const walk = (prefix: string, shape: Record<string, AnySchema>, values: Record<string, unknown> | undefined): void => {
    for (const [key, child] of Object.entries(shape)) {
      const inner = unwrap(child);
      const value = values?.[key];
      if (inner.def.type === 'object') {
        walk(`${prefix}${key}.`, objectShape(inner), value as Record<string, unknown> | undefined);
        continue;
      }
      const meaning = [keys.get(`${prefix}${key}`)?.doc, ...(options.get(`${prefix}${key}`) ?? [])].filter(Boolean).join(' ');
      rows.push([`\`${section}.${prefix}${key}\``, formatDefault(key, value), allowed(child), meaning]);
    }
  };
  walk('', objectShape(schema), defaults);
  return table(['Setting', 'Default', 'Allowed', 'Meaning (from the settings schema)'], rows);
}

// ---------------------------------------------------------------------------------------------------------------
// Sections

const DEFAULTS = GatewaySettings.parse({});

function sopClassesScp(): string {
  const { SopClass, StorageClass } = dimse.constants;
  const names = new Map<string, string>(Object.entries(StorageClass as Record<string, string>).map(([name, uid]) => [uid, name]));
  const storage = [...STORAGE_CLASSES].filter((uid) => isStorageClass(uid)).sort((a, b) => (names.get(a) ?? a).localeCompare(names.get(b) ?? b));
  // The library's names are identifiers ("MammographyCadSrStorage"): spaced out, with the standard's acronyms.
  const ACRONYMS = new Set(['Cad', 'Cda', 'Ct', 'Mr', 'Pdf', 'Pet', 'Rt', 'Sr', 'Vl', 'Xa', 'Xrf']);
  const words = (name: string): string =>
    name
      .replace(/([a-z])(\d)/g, '$1 $2')
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .replace(/([A-Z])([A-Z][a-z])/g, '$1 $2')
      .split(' ')
      .map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w === '3d' ? '3D' : w))
      .join(' ')
      .replace(/\bX Ray\b/g, 'X-Ray')
      .replace(/\bMultiframe\b/g, 'Multi-frame');
  const rows = [
    ['Verification', SopClass.Verification as string, 'SCP'],
    ...storage.map((uid) => [words(names.get(uid) ?? uid), uid, 'SCP']),
  ];
  const probe = '1.2.840.10008.5.1.4.1.1.999.1';
  const rule = isStorageClass(probe)
    ? '\n\nIn addition, **any other SOP Class UID under the storage root `1.2.840.10008.5.1.4.1.1.`** is accepted as a storage SOP class (newer storage classes than the library names), with the same transfer syntaxes. Every other abstract syntax (query/retrieve, worklist, MPPS, commitment, print, …) is rejected with result “abstract syntax not supported”.'
    : '\n\nEvery other abstract syntax is rejected with result “abstract syntax not supported”.';
  return `${table(['SOP Class', 'UID', 'Role'], rows)}${rule}`;
}

function transferSyntaxes(): string {
  const accepted: string[][] = [];
  const refused: string[][] = [];
  for (const [uid, name] of TRANSFER_SYNTAX_NAMES) {
    const ts = describeTransferSyntax(uid);
    if (!ts) {
      refused.push([name, uid]);
      continue;
    }
    const encoding = `${ts.explicitVr ? 'explicit' : 'implicit'} VR, ${ts.littleEndian ? 'little' : 'big'} endian${ts.deflated ? ', deflated' : ''}`;
    const pixels = ts.encapsulated ? 'encapsulated: copied as received, never decoded or re-encoded' : 'native: copied as received';
    accepted.push([name, uid, encoding, pixels]);
  }
  return [
    'Accepted, for every SOP class of the table above (the sender’s first proposed syntax that appears here is chosen):',
    '',
    table(['Transfer Syntax', 'UID', 'Data set encoding', 'Pixel data'], accepted),
    '',
    'Not accepted (a presentation context that proposes only these is rejected with “transfer syntaxes not supported”):',
    '',
    table(['Transfer Syntax', 'UID'], refused),
  ].join('\n');
}

function storeStatuses(): string {
  const { Status } = dimse.constants;
  // STORE_STATUS holds the failure statuses; success and processing failure are the library's constants the SCP uses.
  const statuses = new Map<number, string>([[Status.Success as number, 'success']]);
  for (const [name, value] of Object.entries(STORE_STATUS)) statuses.set(value, name);
  if (![...statuses.keys()].includes(Status.ProcessingFailure as number)) statuses.set(Status.ProcessingFailure as number, 'processingFailure');
  const rows = [...statuses.entries()].map(([value, name]) => {
    const when = STATUS_WHEN[value];
    if (!when) throw new Error(`C-STORE status ${hex4(value)} (STORE_STATUS.${name}) has no description: add it to STATUS_WHEN in scripts/docs.ts, then run npm run docs`);
    return [hex4(value), STATUS_MEANING[value] ?? name, when];
  });
  return [
    table(['Status', 'Meaning (PS3.4)', 'When the gateway returns it'], rows),
    '',
    'C-ECHO is always answered `0x0000` (Success) on an accepted association.',
  ].join('\n');
}

/** A character each encoding can represent: the writer is asked whether a cleaned value holding it can be written back. */
const ENCODING_SAMPLE: Record<string, string> = {
  latin1: 'é', 'iso-8859-2': 'ł', 'iso-8859-3': 'ğ', 'iso-8859-4': 'ā', 'iso-8859-5': 'Ж', 'iso-8859-6': 'ع',
  'iso-8859-7': 'Ω', 'iso-8859-8': 'ש', 'iso-8859-9': 'ğ', 'iso-8859-15': '€', 'windows-874': 'ก',
  shift_jis: '日', 'iso-2022-jp': '日', 'euc-kr': '가', gb18030: '中', gbk: '中', 'utf-8': 'é',
};

function characterSets(): string {
  const rows = Object.entries(CHARSETS)
    .filter(([term]) => term !== '')
    .map(([term, encoding]) => {
      const sample = ENCODING_SAMPLE[encoding];
      if (!sample) throw new Error(`No sample character for encoding ${encoding} (term ${term}): add one to ENCODING_SAMPLE in scripts/docs.ts`);
      // Code extension terms are used after a first value (often empty, the default repertoire), as in real data sets.
      const terms = term.startsWith('ISO 2022') && term !== 'ISO 2022 IR 6' ? ['', term] : [term];
      const written = encodeText(`A ${sample}`, 'LO', terms) !== undefined;
      return [`\`${term}\``, encoding, written ? 'yes' : 'no: the value is emptied'];
    });
  return [
    table(['Specific Character Set (0008,0005)', 'Decoded as', 'Cleaned non-ASCII text written back'], rows),
    '',
    'A data set without Specific Character Set is read in the default repertoire (ISO-IR 6; bytes above 0x7F read as Latin-1); an unknown term is read as Latin-1. The last column is measured when this section is generated: the writer (`deid/charset.ts`) is asked to encode a cleaned value holding a character of that set; where it cannot, the cleaned value is emptied rather than written in the wrong encoding.',
  ].join('\n');
}

interface OptionVariant {
  setting: string;
  value: unknown;
  on: ProfileOption[];
  off: ProfileOption[];
}

/** Every boolean and choice of the de-identification settings, changed one at a time from the defaults: the options it switches. */
function optionVariants(): OptionVariant[] {
  const base = DEFAULTS.deid;
  const baseOptions = enabledOptions(base);
  const variants: OptionVariant[] = [];
  const walk = (prefix: string[], shape: Record<string, AnySchema>): void => {
    for (const [key, child] of Object.entries(shape)) {
      const inner = unwrap(child) as AnySchema & { options?: unknown[] };
      const keyPath = [...prefix, key];
      if (inner.def.type === 'object') walk(keyPath, objectShape(inner));
      const values: unknown[] = inner.def.type === 'boolean' ? [true, false] : inner.def.type === 'enum' ? (inner.options ?? []) : [];
      for (const value of values) {
        const settings = structuredClone(base) as Record<string, unknown>;
        let at = settings;
        for (const k of keyPath.slice(0, -1)) at = at[k] as Record<string, unknown>;
        const last = keyPath[keyPath.length - 1]!;
        if (at[last] === value) continue;
        at[last] = value;
        const options = enabledOptions(settings as typeof base);
        const on = [...options].filter((o) => !baseOptions.has(o));
        const off = [...baseOptions].filter((o) => !options.has(o));
        if (on.length || off.length) variants.push({ setting: keyPath.join('.'), value, on, off });
      }
    }
  };
  walk([], objectShape(DeidSettings as unknown as AnySchema));
  return variants;
}

/** For each de-identification setting, what its values do to the PS3.15 options. */
function optionsBySetting(): Map<string, string[]> {
  const bySetting = new Map<string, string[]>();
  for (const v of optionVariants()) {
    const parts = [...v.on.map((o) => `${OPTION_NAMES[o]} on`), ...v.off.map((o) => `${OPTION_NAMES[o]} off`)];
    bySetting.set(v.setting, [...(bySetting.get(v.setting) ?? []), `\`${JSON.stringify(v.value)}\`: ${parts.join(', ')}.`]);
  }
  return bySetting;
}

function deidOptions(): string {
  const defaults = enabledOptions(DEFAULTS.deid);
  const variants = optionVariants();
  const rows = OPTION_PRECEDENCE.map((option) => {
    const changed = profileRows.filter((r) => r.options[option]).length;
    const how = defaults.has(option)
      ? ['on by default', ...variants.filter((v) => v.off.includes(option)).map((v) => `off with \`deid.${v.setting}: ${JSON.stringify(v.value)}\``)]
      : variants.filter((v) => v.on.includes(option)).map((v) => `\`deid.${v.setting}: ${JSON.stringify(v.value)}\``);
    return [OPTION_NAMES[option] ?? option, `\`${option}\``, how.length ? how.join('; ') : 'not offered (no setting turns it on)', String(changed)];
  });
  return [
    `Profile data: ${profileRows.length} rows of PS3.15 Table E.1-1 (${PROFILE_SOURCE.edition}, transcribed from ${PROFILE_SOURCE.source}).`,
    '',
    table(['Option', 'Column', 'Setting that turns it on', 'Rows with an entry for it'], rows),
    '',
    `When several enabled options give an action for the same attribute, the first in this order wins: ${OPTION_PRECEDENCE.map((o) => `\`${o}\``).join(', ')}.`,
  ].join('\n');
}

/** A tag of the row the engine can be asked about: the row's own tag, or for (50xx,…) and (60xx,…) one member of it. */
function probeTag(row: ProfileRow): number | undefined {
  const exact = /^\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)$/.test(row.tag);
  if (exact) return parseTag(row.tag);
  const m = /^\(([0-9A-Fa-fx]{4}),([0-9A-Fa-fx]{4})\)$/.exec(row.tag);
  if (!m) return undefined;
  const t = parseTag(`(${m[1]!.replace(/x/g, '0')},${m[2]!.replace(/x/g, '1')})`);
  return profileRowFor(t) === row ? t : undefined;
}

// What the engine is given when the annex asks it about one attribute: a patient, dummy IDs, a UID map.
const SAMPLE_PATIENT = 'DOE^JANE';
const SAMPLE_CONTEXT = (): DeidContext => {
  const uids = new Map<string, string>();
  return {
    settings: DEFAULTS.deid,
    researchId: 'SITE-RESEARCH1',
    researchAccessionNumber: 'RSRCHACC1',
    researchStudyId: 'RSRCHSTUDY1',
    siteCode: 'SITE',
    mapUid: (u) => uids.get(u) ?? (uids.set(u, `2.25.${1000 + uids.size}`), uids.get(u)!),
    dateShiftDays: 10,
  };
};

/** A value of this VR to put into an attribute: text holding a word of the patient's name, so cleaning shows. */
function sampleElement(t: number, vr: string): DicomElement {
  const text: Record<string, string> = {
    PN: 'ROE^RICHARD', LO: 'SAMPLE DOE TEXT', SH: 'SAMPLE DOE', LT: 'SAMPLE DOE TEXT', ST: 'SAMPLE DOE TEXT', UT: 'SAMPLE DOE TEXT',
    UC: 'SAMPLE DOE TEXT', CS: 'SAMPLE', DA: '20240117', DT: '20240117101010', TM: '101010', UI: '1.2.826.0.1.3680043.10.99.1',
    AS: '045Y', DS: '12.5', IS: '7', AE: 'SAMPLE_AE', UR: 'http://sample.example/',
  };
  if (vr === 'SQ') return { tag: t, vr, items: [new Map([[tagOf('CodeMeaning'), textElement(tagOf('CodeMeaning'), 'LO', 'SAMPLE')]])] };
  if (text[vr] !== undefined) return textElement(t, vr, text[vr]!);
  return { tag: t, vr, value: Buffer.from([1, 2, 3, 4]) };
}

/** What the engine does, with the default settings, to one attribute of an otherwise plain mammogram. */
function observedAction(t: number): string {
  // A repeating-group row the dictionary has no entry for (retired curves) is asked about as bytes.
  const vr = vrOf(t) === 'UN' ? 'OB' : vrOf(t);
  const ctx = SAMPLE_CONTEXT();
  const ds: DicomDataset = new Map();
  const put = (e: DicomElement): void => void ds.set(e.tag, e);
  put(textElement(tagOf('SOPClassUID'), 'UI', '1.2.840.10008.5.1.4.1.1.1.2'));
  put(textElement(tagOf('SOPInstanceUID'), 'UI', '1.2.826.0.1.3680043.10.99.2'));
  put(textElement(tagOf('StudyInstanceUID'), 'UI', '1.2.826.0.1.3680043.10.99.3'));
  put(textElement(tagOf('SeriesInstanceUID'), 'UI', '1.2.826.0.1.3680043.10.99.4'));
  put(textElement(tagOf('Modality'), 'CS', 'MG'));
  put(textElement(tagOf('PatientName'), 'PN', SAMPLE_PATIENT));
  const sample = sampleElement(t, vr);
  put(sample);
  // The engine is given what the pipeline gives it: the identity read from the data set by the same function.
  const identity = readIdentity({ dataset: ds } as unknown as ParsedInstance);
  let out: DicomElement | undefined;
  try {
    out = deidentifyDataset(ds, identity, ctx).dataset.get(t);
  } catch (error) {
    return `not observed (${(error as Error).message})`;
  }
  if (!out) return 'removed';
  if (sample.items) return out.items?.length ? 'kept, items de-identified' : 'emptied';
  if (!out.value || out.value.length === 0) return 'emptied';
  if (out.value.equals(sample.value!)) return 'kept';
  if (!TEXT_VRS.has(vr)) return 'replaced (zeros)';
  const before = trimValue(sample.value!.toString('latin1'), vr);
  const after = trimValue(out.value.toString('latin1'), vr);
  if (after === ctx.researchId) return 'research ID';
  if (after === ctx.researchAccessionNumber || after === ctx.researchStudyId) return 'new random value (crosswalk)';
  if (after === ctx.siteCode) return 'site code';
  if (vr === 'UI') return after.startsWith('2.25.') ? 'new UID' : `replaced by \`${after}\``;
  if (vr === 'DA' || vr === 'DT') return `date rule (\`${before}\` → \`${after}\`)`;
  if (before.replace(/\bDOE\b/, '').replace(/\s+/g, ' ').trim() === after) return 'cleaned (identifying words removed)';
  return `replaced by \`${after}\``;
}

function deidAnnex(): string {
  const defaults = enabledOptions(DEFAULTS.deid);
  const rows = profileRows.map((row) => {
    const t = probeTag(row);
    const resolved = t === undefined ? undefined : resolveAction(t, defaults);
    const table = t === undefined ? 'private-attribute rule' : ACTION_WORDS[resolved ?? ''] ?? 'not in table';
    const observed = t === undefined ? 'removed unless Retain Safe Private keeps it' : observedAction(t);
    const options = OPTION_PRECEDENCE.filter((o) => row.options[o]).map((o) => `${o}: ${row.options[o]} (${ACTION_WORDS[actionForCode(row.options[o]!)]})`);
    return [row.tag, row.name, `${row.basic} (${ACTION_WORDS[actionForCode(row.basic)]})`, options.join('; '), table, observed];
  });
  return table(['Tag', 'Attribute', 'Basic Profile', 'Option columns', 'Table action, default settings', 'What the engine does (observed)'], rows);
}

function implementation(): string {
  const { Implementation } = dimse;
  return table(
    ['Where', 'Implementation Class UID', 'Implementation Version Name'],
    [
      ['Association negotiation (A-ASSOCIATE-AC, and -RQ as SCU): dcmjs-dimse’s', Implementation.getImplementationClassUid(), Implementation.getImplementationVersion()],
      ['File Meta Information of every file the gateway writes (spool, outbox)', IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME],
    ],
  );
}

function deidMethod(): string {
  const options = enabledOptions(DEFAULTS.deid);
  return [
    'With the default settings, every de-identified instance carries:',
    '',
    `- Patient Identity Removed (0012,0062): \`YES\``,
    `- De-identification Method (0012,0063): \`${[...describeMethod(DEFAULTS.deid), 'policy <8 hex digits>'].join('\\')}\``,
    '- De-identification Method Code Sequence (0012,0064), scheme DCM (PS3.16 CID 7050):',
    ...methodCodes(options).map(([value, meaning]) => `  - \`${value}\` ${meaning}`),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Documents

/** Every generated section, by document (relative to the repository root) and section name. */
export function generateSections(): Record<string, Record<string, () => string>> {
  return {
    'docs/conformance-statement.md': {
      implementation,
      'sop-classes-scp': sopClassesScp,
      'transfer-syntaxes': transferSyntaxes,
      'store-statuses': storeStatuses,
      'intake-settings': () => settingsTable('intake', 'IntakeSettings', IntakeSettings as unknown as AnySchema, DEFAULTS.intake),
      'limit-settings': () => settingsTable('limits', 'LimitSettings', LimitSettings as unknown as AnySchema, DEFAULTS.limits),
      'character-sets': characterSets,
      'deid-options': deidOptions,
      'deid-settings': () => settingsTable('deid', 'DeidSettings', DeidSettings as unknown as AnySchema, DEFAULTS.deid),
      'deid-method': deidMethod,
      'deid-annex': deidAnnex,
    },
    'docs/privacy.md': {
      'retention-settings': () => settingsTable('retention', 'RetentionSettings', RetentionSettings as unknown as AnySchema, DEFAULTS.retention),
      'doctor-settings': () => settingsTable('doctor', 'DoctorSettings', DoctorSettings as unknown as AnySchema, DEFAULTS.doctor),
    },
  };
}

const MARKER = /<!-- BEGIN GENERATED: ([a-z0-9-]+) -->\n[\s\S]*?\n?<!-- END GENERATED: \1 -->/g;

/** The document with every generated section replaced; a section missing from the document, or unknown, is an error. */
export function renderDocument(file: string, text: string, sections: Record<string, () => string>): string {
  const seen = new Set<string>();
  const out = text.replace(MARKER, (_all, name: string) => {
    const make = sections[name];
    if (!make) throw new Error(`${file}: generated section "${name}" is not known to scripts/docs.ts`);
    seen.add(name);
    return `<!-- BEGIN GENERATED: ${name} -->\n${make().trimEnd()}\n<!-- END GENERATED: ${name} -->`;
  });
  const missing = Object.keys(sections).filter((name) => !seen.has(name));
  if (missing.length) throw new Error(`${file}: no markers for generated section(s) ${missing.join(', ')}`);
  return out;
}

/** Each document as committed and as the code says it should be. */
export function regenerate(root = ROOT): Array<{ file: string; committed: string; generated: string }> {
  return Object.entries(generateSections()).map(([file, sections]) => {
    const committed = fs.readFileSync(path.join(root, file), 'utf8');
    return { file, committed, generated: renderDocument(file, committed, sections) };
  });
}

function main(): void {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { file, committed, generated } of regenerate()) {
    if (committed === generated) continue;
    stale += 1;
    if (check) console.log(`${file}: generated sections are out of date`);
    else {
      fs.writeFileSync(path.join(ROOT, file), generated);
      console.log(`${file}: generated sections rewritten`);
    }
  }
  if (stale === 0) console.log('docs: generated sections are up to date');
  if (check && stale > 0) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
