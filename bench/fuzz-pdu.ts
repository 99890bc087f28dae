/**
 * The PDU-layer fuzz run longer than CI does: `npx tsx bench/fuzz-pdu.ts [executions] [seed]`.
 * Prints executions, their rate, findings (failed health checks, each with the inputs just before) and every log
 * line that is not one of the intake's typed outcomes.
 */
import { startGateway } from '../test/support/gateway-process';
import { freePort } from '../test/support/ports';
import { generateMammograms } from '../test/support/dicom-tools';
import { datasetOfFile } from '../test/support/raw-scu';
import { fuzzPdus } from '../test/support/pdu-fuzz';
import { unexpectedLogLines } from '../test/support/log-lines';

const executions = Number(process.argv[2] ?? 5000);
const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);

const [set, port] = await Promise.all([generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '1', '--rows', '32', '--cols', '32', '--no-verify', '--seed', '99']), freePort()]);
const sample = datasetOfFile(`${set.dir}/${set.files[0]!.file}`);
const gateway = await startGateway({ intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] }, limits: { idleTimeoutSeconds: 1, pduTimeoutSeconds: 1 } });
try {
  const logFrom = gateway.output().length;
  const report = await fuzzPdus({ port, seed, executions, dataset: sample.dataset, syntax: sample.syntax, healthy: () => gateway.child.exitCode === null });
  const unexpected = unexpectedLogLines(gateway.output().slice(logFrom));
  console.log(`seed ${report.seed}: ${report.executions} executions in ${(report.elapsedMs / 1000).toFixed(1)} s (${((report.executions * 1000) / report.elapsedMs).toFixed(0)}/s)`);
  console.log(`findings: ${report.findings.length}`);
  for (const f of report.findings) console.log(`  ${f}`);
  console.log(`unexpected log lines: ${unexpected.length}`);
  for (const line of [...new Set(unexpected)].slice(0, 40)) console.log(`  ${line}`);
  console.log(`gateway still running: ${gateway.child.exitCode === null}`);
} finally {
  await gateway.stop();
}
