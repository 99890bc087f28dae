import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './processes';

/** Extracts `zip` with Debian's 7-Zip (`7z x -pPASSWORD`); gives the exit code, 7-Zip's output and the extracted files' text. */
export async function extractWith7z(zip: string, password: string): Promise<{ code: number; output: string; files: Map<string, string> }> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), '7z-'));
  try {
    const result = await run('7z', ['x', '-y', `-p${password}`, `-o${out}`, zip], { allowFailure: true });
    const files = new Map<string, string>();
    if (result.code === 0) for (const name of fs.readdirSync(out)) files.set(name, fs.readFileSync(path.join(out, name), 'utf8'));
    return { code: result.code, output: result.stdout + result.stderr, files };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** The encryption method 7-Zip reports for each entry (e.g. "AES-256 Deflate"). */
export async function methodsOf(zip: string): Promise<string[]> {
  const { stdout } = await run('7z', ['l', '-slt', zip]);
  return [...stdout.matchAll(/^Method = (.*)$/gm)].map((m) => m[1]!);
}

/** An RFC 4180 parser for what the gateway writes (quoted fields, CRLF), BOM stripped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && s[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** Extracts `zip` with Debian's 7-Zip like extractWith7z, giving each extracted file's bytes (for binary entries such as .xlsx). */
export async function extractBytesWith7z(zip: string, password: string): Promise<{ code: number; output: string; files: Map<string, Buffer> }> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), '7z-'));
  try {
    const result = await run('7z', ['x', '-y', `-p${password}`, `-o${out}`, zip], { allowFailure: true });
    const files = new Map<string, Buffer>();
    if (result.code === 0) for (const name of fs.readdirSync(out)) files.set(name, fs.readFileSync(path.join(out, name)));
    return { code: result.code, output: result.stdout + result.stderr, files };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
