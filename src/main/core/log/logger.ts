/** One logger for the core: named children, one line each, every field through the redaction step. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  child(name: string): Logger;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogSink = (line: string, level: LogLevel) => void;

// Field names that could carry PHI: their values never reach a log line.
const REDACTED_FIELDS = /name|patient|birth|address|phone|accession|issuer|^password$|secret|token|key/i;

export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = REDACTED_FIELDS.test(k) && k !== 'researchId' ? '[redacted]' : v;
  }
  return out;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(options: { sink?: LogSink; level?: LogLevel; name?: string } = {}): Logger {
  const sink: LogSink = options.sink ?? ((line, level) => (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${line}\n`));
  const min = ORDER[options.level ?? 'info'];
  const make = (name: string): Logger => {
    const log = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
      if (ORDER[level] < min) return;
      const extra = fields && Object.keys(fields).length ? ` ${JSON.stringify(redactFields(fields))}` : '';
      sink(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${name}] ${message}${extra}`, level);
    };
    return {
      child: (child) => make(name ? `${name}.${child}` : child),
      debug: (m, f) => log('debug', m, f),
      info: (m, f) => log('info', m, f),
      warn: (m, f) => log('warn', m, f),
      error: (m, f) => log('error', m, f),
    };
  };
  return make(options.name ?? 'gateway');
}
