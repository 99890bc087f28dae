import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { echoscu, generateMammograms } from '../support/dicom-tools';
import { datasetOfFile } from '../support/raw-scu';
import { fuzzPdus } from '../support/pdu-fuzz';
import { unexpectedLogLines } from '../support/log-lines';

/** Bounded by a count, not a timer: about 14 s on the 2-core CI machine. `FUZZ_SEED` replays another run. */
const EXECUTIONS = 500;
const SEED = Number(process.env.FUZZ_SEED ?? 15);

describe('PDU layer fuzz: mutated association and P-DATA streams never stop the gateway', () => {
  let gateway: GatewayProcess;
  let port: number;
  let sample: { dataset: Buffer; syntax: string };

  beforeAll(async () => {
    let set;
    [set, port] = await Promise.all([generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '1', '--rows', '32', '--cols', '32', '--no-verify', '--seed', '99']), freePort()]);
    sample = datasetOfFile(`${set.dir}/${set.files[0]!.file}`);
    gateway = await startGateway({
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      limits: { idleTimeoutSeconds: 1, pduTimeoutSeconds: 1 },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it(`survives ${EXECUTIONS} mutated inputs (seed ${SEED}), answers a good C-ECHO after each batch, and logs only typed outcomes`, async () => {
    const logFrom = gateway.output().length;
    const report = await fuzzPdus({ port, seed: SEED, executions: EXECUTIONS, dataset: sample.dataset, syntax: sample.syntax, healthy: () => gateway.child.exitCode === null }).catch((error: Error) => {
      // Whatever stopped the run, the gateway's last words say why.
      throw new Error(`${error.message}; gateway exit ${gateway.child.exitCode}; its last output:\n${gateway.output().slice(-3000)}`);
    });
    const unexpected = unexpectedLogLines(gateway.output().slice(logFrom));
    console.log(`PDU fuzz: seed ${report.seed}, ${report.executions} executions in ${(report.elapsedMs / 1000).toFixed(1)} s, ${report.findings.length} findings, ${unexpected.length} unexpected log lines`);
    expect(report.executions).toBe(EXECUTIONS);
    expect(report.findings).toEqual([]);
    expect(unexpected).toEqual([]);
    expect(gateway.child.exitCode).toBeNull();
    expect((await echoscu(port)).code).toBe(0);
  });
});
