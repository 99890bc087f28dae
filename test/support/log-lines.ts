/**
 * What the gateway may log while hostile input arrives: its own lines only (timestamp, level, module), and at warn
 * or error only the intake's typed outcomes. Anything else (a library printing on its own, a stack trace, an
 * internal error) is returned as unexpected.
 */
const LINE = /^\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO |WARN |ERROR) \[([\w.]+)\] (.*)$/;
const TYPED_CODES = new Set([
  'not-a-pdu',
  'pdu-too-large',
  'malformed-pdu',
  'bad-presentation-context',
  'unexpected-pdu',
  'context-not-accepted',
  'fragment-out-of-order',
  'malformed-command',
  'operation-overlap',
  'pdu-deadline',
  'idle',
  'too-slow',
]);

export function unexpectedLogLines(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (!m) {
      out.push(line);
      continue;
    }
    const [, level, module, text] = m;
    if (level === 'DEBUG' || level === 'INFO ') continue;
    if (module === 'gateway.intake') {
      if (text!.startsWith('association aborted ')) {
        const code = /"code":"([\w-]+)"/.exec(text!)?.[1];
        if (code && TYPED_CODES.has(code)) continue;
      } else if (/^(association rejected: |instance refused |connection refused: )/.test(text!)) {
        continue;
      }
    }
    out.push(line);
  }
  return out;
}
