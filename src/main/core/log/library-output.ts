import { createRequire } from 'node:module';
import dcmjs from 'dcmjs';
import dimse from 'dcmjs-dimse';
import * as imaging from 'dcmjs-imaging';
import type { Logger } from './logger';

/**
 * The DICOM libraries print on their own: dcmjs (twice: our copy and the one dcmjs-dimse bundles), dcmjs-dimse and
 * dcmjs-imaging each log through a private loglevel, and dcmjs also calls `console` directly in a few places. Their
 * text carries values from the instance ("Truncating value <SOP Instance UID> of …", whole associations and data
 * sets at info level), so none of it may reach the log as written. Here, in one place, every such path is routed
 * through the redacting logger: a few known messages keep their harmless parts (a keyword, a limit), the rest is
 * recorded as withheld, at debug level.
 */

interface LogLevelLogger {
  methodFactory: (method: string, level: number, name: string | symbol | undefined) => (...args: unknown[]) => void;
  setLevel(level: string): void;
  rebuild?(): void;
  getLoggers?(): Record<string, LogLevelLogger>;
}

/** Messages whose shape is known: the parts that cannot carry instance data, by name (not "keyword": the logger blanks /key/). */
const KNOWN: Array<{ pattern: RegExp; say: string; fields: string[] }> = [
  { pattern: /^Truncating value .* of (\w+) because it is longer than (\d+)$/s, say: 'a value was truncated to the longest its VR allows', fields: ['attribute', 'maxLength'] },
  { pattern: /^Unsupported character set: .*, using default character set$/s, say: 'unsupported character set, default used', fields: [] },
  { pattern: /^Invalid vr type .* - using (\w\w)$/s, say: 'invalid VR replaced', fields: ['replacement'] },
];

/** What may be logged of one library message: never its free text. */
export function describeLibraryMessage(args: unknown[]): { say: string; fields: Record<string, string> } {
  const text = args.map((a) => (typeof a === 'string' ? a : '')).join(' ').trim();
  for (const known of KNOWN) {
    const m = known.pattern.exec(text);
    if (!m) continue;
    const fields: Record<string, string> = {};
    known.fields.forEach((name, i) => (fields[name] = m[i + 1]!));
    return { say: known.say, fields };
  }
  return { say: 'library message withheld (it may carry instance data)', fields: {} };
}

const LIBRARY_FILE = /node_modules[\\/](dcmjs(?:-dimse|-imaging)?)[\\/]/;
let installedFor: Logger | undefined;

/** Routes (and quietens) every output path of the DICOM libraries; safe to call more than once. */
export function routeLibraryOutput(logger: Logger): void {
  const log = logger.child('library');
  installedFor = log;
  const route = (library: string, target: LogLevelLogger): void => {
    target.methodFactory = (method) => (...args: unknown[]) => {
      const { say, fields } = describeLibraryMessage(args);
      installedFor?.debug(say, { library, level: method, ...fields });
    };
    // Info and below are the libraries' tracing (whole associations and data sets): not even built.
    target.setLevel('warn');
    target.rebuild?.();
  };
  const loggersOf = (root: LogLevelLogger): LogLevelLogger[] => [root, ...Object.values(root.getLoggers?.() ?? {})];
  const nestedDcmjs = createRequire(createRequire(import.meta.url).resolve('dcmjs-dimse'))('dcmjs') as typeof dcmjs;
  for (const l of loggersOf((dcmjs as unknown as { log: LogLevelLogger }).log)) route('dcmjs', l);
  if (nestedDcmjs !== dcmjs) for (const l of loggersOf((nestedDcmjs as unknown as { log: LogLevelLogger }).log)) route('dcmjs', l);
  route('dcmjs-dimse', dimse.log as unknown as LogLevelLogger);
  const imagingLog = (imaging as unknown as { log?: LogLevelLogger; default?: { log?: LogLevelLogger } }).log ?? (imaging as unknown as { default?: { log?: LogLevelLogger } }).default?.log;
  if (imagingLog) route('dcmjs-imaging', imagingLog);
  guardConsole();
}

let consoleGuarded = false;

/** dcmjs's direct `console` calls (e.g. "Unknown tag info", with the bytes it read): diverted by where they come from. */
function guardConsole(): void {
  if (consoleGuarded) return;
  consoleGuarded = true;
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    // The one place the core touches console: to take the libraries' lines off it.
    // eslint-disable-next-line no-console
    const original = console[method].bind(console);
    // eslint-disable-next-line no-console
    console[method] = (...args: unknown[]) => {
      const library = LIBRARY_FILE.exec(new Error().stack ?? '')?.[1];
      if (!library) return original(...args);
      const { say, fields } = describeLibraryMessage(args);
      installedFor?.debug(say, { library, level: method, ...fields });
    };
  }
}
