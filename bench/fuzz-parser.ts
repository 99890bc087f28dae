/**
 * The parser fuzz of test/unit/parser-fuzz.test.ts, run longer: executions from a seed (random unless given), with
 * findings grouped by error and their inputs written out for a reproduction.
 *
 *   npx tsx bench/fuzz-parser.ts [--seed N] [--executions 1000000] [--findings-dir DIR]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fuzzParser } from '../test/support/parser-fuzz';

const { values } = parseArgs({ options: { seed: { type: 'string' }, executions: { type: 'string', default: '1000000' }, 'findings-dir': { type: 'string', default: 'fuzz-findings' } } });
const seed = values.seed === undefined ? crypto.randomInt(2 ** 31) : Number(values.seed);
const executions = Number(values.executions);
const started = Date.now();
const report = await fuzzParser(seed, executions, { onProgress: (done) => done % 100_000 === 0 && done > 0 && console.log(`  ${done} executions…`) });
const seconds = (Date.now() - started) / 1000;
console.log(`seed ${seed}: ${report.executions} executions in ${seconds.toFixed(0)} s (${Math.round(report.executions / seconds)}/s), ${report.accepted} read, ${report.refused} refused with DicomParseError, ${report.findings.length} findings`);
const groups = new Map<string, typeof report.findings>();
for (const f of report.findings) {
  const key = f.error.slice(0, 200);
  groups.set(key, [...(groups.get(key) ?? []), f]);
}
if (groups.size) fs.mkdirSync(values['findings-dir']!, { recursive: true });
for (const [error, findings] of groups) {
  const first = findings[0]!;
  const file = path.join(values['findings-dir']!, `seed${seed}-execution${first.execution}.dcm`);
  fs.writeFileSync(file, first.input);
  console.log(`${findings.length} × ${error}\n    first at execution ${first.execution} (from ${first.corpusFile}), input in ${file}`);
}
