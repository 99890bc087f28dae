import zlib from 'node:zlib';

/**
 * The searchable text of a PDF (an Encapsulated PDF report), for the residual check: the file as bytes, every
 * stream inflated (FlateDecode, as real reports compress their page content), and the strings of both read as
 * PDF writes them (literal strings with escapes, hex strings, UTF-16BE with a byte-order mark), the pieces of a
 * TJ array joined as they are shown. Fonts with their own encodings (CID fonts without ToUnicode look-up) are not
 * decoded: their text is not readable here.
 */
export function pdfText(pdf: Buffer): string {
  const parts: string[] = [];
  const latin1 = pdf.toString('latin1');
  parts.push(latin1, stringsOf(latin1));
  for (const content of inflatedStreams(pdf, latin1)) {
    const text = content.toString('latin1');
    parts.push(text, stringsOf(text));
  }
  return parts.join('\n');
}

const STREAM = /stream\r?\n/g;

function inflatedStreams(pdf: Buffer, latin1: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of latin1.matchAll(STREAM)) {
    const start = m.index + m[0].length;
    const end = latin1.indexOf('endstream', start);
    if (end < 0) continue;
    const data = pdf.subarray(start, end);
    // Only zlib data inflates; other filters (DCT images…) hold no text and fail here, which is fine.
    for (const inflate of [zlib.inflateSync, zlib.inflateRawSync]) {
      try {
        out.push(inflate(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
        break;
      } catch {
        // Not this kind of stream.
      }
    }
  }
  return out;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '(': '(', ')': ')', '\\': '\\' };

/** PDF string bytes as text: UTF-16BE when they start with its byte-order mark, else one byte per character. */
function asText(bytes: string): string {
  if (bytes.startsWith('\xfe\xff')) return Buffer.from(bytes.slice(2), 'latin1').swap16().toString('utf16le');
  return bytes;
}

/** Reads a literal string starting after its "(" at `at`; returns the text and where it ended. */
function literalAt(s: string, at: number): [string, number] {
  let depth = 1;
  let out = '';
  let i = at;
  while (i < s.length && depth > 0) {
    const ch = s[i]!;
    if (ch === '\\') {
      const next = s[i + 1] ?? '';
      if (/[0-7]/.test(next)) {
        const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4))![0];
        out += String.fromCharCode(parseInt(oct, 8) & 0xff);
        i += 1 + oct.length;
        continue;
      }
      out += ESCAPES[next] ?? (next === '\r' || next === '\n' ? '' : next);
      i += 2;
      continue;
    }
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (depth > 0) out += ch;
    i += 1;
  }
  return [asText(out), i];
}

/** Every string of a content stream or file; a TJ array's pieces joined with nothing, others with a space. */
function stringsOf(s: string): string {
  const out: string[] = [];
  let inArray = false;
  let piece = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '(') {
      const [text, end] = literalAt(s, i + 1);
      if (inArray) piece += text;
      else out.push(text);
      i = end - 1;
    } else if (ch === '<' && s[i + 1] !== '<') {
      const end = s.indexOf('>', i);
      if (end < 0) break;
      const hex = s.slice(i + 1, end).replace(/\s/g, '');
      if (/^[0-9a-fA-F]*$/.test(hex)) {
        const text = asText(Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex').toString('latin1'));
        if (inArray) piece += text;
        else out.push(text);
      }
      i = end;
    } else if (ch === '<') {
      i += 1; // a dictionary's "<<"
    } else if (ch === '[') {
      inArray = true;
      piece = '';
    } else if (ch === ']') {
      if (inArray && piece) out.push(piece);
      inArray = false;
    }
  }
  return out.join(' ');
}
