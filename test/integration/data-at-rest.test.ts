import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';
import { generateMammograms, storescu, type ManifestFile } from '../support/dicom-tools';

/** Every file under the folders, with its bytes. */
function filesUnder(...dirs: string[]): Array<{ file: string; bytes: Buffer }> {
  return dirs
    .filter((dir) => fs.existsSync(dir))
    .flatMap((dir) => fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)))
    .map((file) => ({ file, bytes: fs.readFileSync(file) }));
}

/**
 * The patients' names, IDs and birth dates (and other identifying values of six characters or more) of the inputs.
 * Ethnic group is a patient characteristic the profile keeps (Retain Patient Characteristics): the de-identified
 * outbox copies carry it, as the research does.
 */
async function identifyingOf(dir: string, files: ManifestFile[]): Promise<Set<string>> {
  const kept = new Set<string>();
  for (const m of files) {
    const { stdout } = await run('dcmdump', ['+P', 'EthnicGroup', path.join(dir, m.file)]);
    const ethnic = /\[(.*)\]/.exec(stdout)?.[1];
    if (ethnic) kept.add(ethnic);
  }
  const values = new Set<string>();
  // Six characters or more: a shorter string turns up in megabytes of ciphertext by chance.
  for (const m of files) for (const v of m.phi) if (v.length >= 6 && !kept.has(v)) values.add(v);
  for (const m of files) values.add(m.birthDate);
  return values;
}

/** Where any of `values` sits in clear (Latin-1, UTF-8 or UTF-16) in any file under the folders. */
function clearHits(values: Set<string>, ...dirs: string[]): string[] {
  const found: string[] = [];
  for (const { file, bytes } of filesUnder(...dirs)) {
    for (const v of values) {
      if (bytes.includes(Buffer.from(v, 'latin1')) || bytes.includes(Buffer.from(v, 'utf8')) || bytes.includes(Buffer.from(v, 'utf16le'))) found.push(`${v} in ${file}`);
    }
  }
  return found;
}

const folderOf = (gateway: GatewayProcess): string => path.dirname(gateway.settingsFile);
const sealed = (file: string): boolean => fs.readFileSync(file).subarray(0, 8).toString('latin1') === 'DGSEALED';

describe('no clear PHI at rest: the data and config folders read byte by byte', () => {
  let mammograms: { dir: string; files: ManifestFile[] };
  let heldFile: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    mammograms = await generateMammograms(['--patients', '2', '--views', '2']);
    // One image says it has burned-in text: held for review, its original kept in quarantine.
    heldFile = path.join(mammograms.dir, 'held.dcm');
    fs.copyFileSync(path.join(mammograms.dir, mammograms.files[0]!.file), heldFile);
    await run('dcmodify', ['-nb', '-gin', '-i', '(0028,0301)=YES', heldFile]);
  });

  afterAll(async () => {
    // Those the cases stopped or killed have exited already.
    for (const g of gateways) if (g.child.exitCode === null && g.child.signalCode === null) await g.stop();
    fs.rmSync(mammograms.dir, { recursive: true, force: true });
  });

  it('mid-backlog (research server away, gateway stopped) and with a held image: originals are sealed, nothing in clear', async () => {
    const port = await freePort();
    const closedPort = await freePort();
    const gateway = await startGateway({
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: `http://127.0.0.1:${closedPort}` },
      // Originals are kept a while after upload too, so this checks the kept ones as well as those waiting.
      retention: { spoolHours: 24 },
    });
    gateways.push(gateway);
    await storescu(port, [...mammograms.files.map((f) => path.join(mammograms.dir, f.file)), heldFile]);
    const spool = path.join(gateway.dataDir, 'spool');
    const quarantine = path.join(gateway.dataDir, 'quarantine');
    await waitFor('every original spooled and the held one in quarantine', () =>
      fs.readdirSync(spool).filter((f) => f.endsWith('.dcm')).length === mammograms.files.length && fs.readdirSync(quarantine).length === 1 ? true : undefined,
    );
    await gateway.stop();
    const originals = [...fs.readdirSync(spool).map((f) => path.join(spool, f)), ...fs.readdirSync(quarantine).map((f) => path.join(quarantine, f))];
    expect(originals.length).toBe(mammograms.files.length + 1);
    expect(originals.filter((f) => !sealed(f))).toEqual([]);
    const values = await identifyingOf(mammograms.dir, mammograms.files);
    expect(values.size).toBeGreaterThan(20);
    expect(clearHits(values, gateway.dataDir, folderOf(gateway))).toEqual([]);
  });

  it('after a SIGKILL while instances arrive: no clear fragment anywhere', async () => {
    const big = await generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '4', '--size-mb', '24', '--no-verify']);
    const port = await freePort();
    const gateway = await startGateway({ intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] } });
    gateways.push(gateway);
    const sending = storescu(port, big.files.map((f) => path.join(big.dir, f.file)), { allowFailure: true });
    const spool = path.join(gateway.dataDir, 'spool');
    // Killed while a spool file is being written: part of an instance is on disk.
    await waitFor('an instance arriving', () => (fs.readdirSync(spool).some((f) => f.endsWith('.part') && fs.statSync(path.join(spool, f)).size > 1024 * 1024) ? true : undefined), 60_000, 20);
    await gateway.kill();
    await sending;
    const values = await identifyingOf(big.dir, big.files);
    expect(clearHits(values, gateway.dataDir, folderOf(gateway))).toEqual([]);
    fs.rmSync(big.dir, { recursive: true, force: true });
  });

  it('an original altered on disk is refused with a clear reason when it is read again, never de-identified from corrupt data', async () => {
    const port = await freePort();
    const gateway = await startGateway({ intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] } });
    gateways.push(gateway);
    const api = async <T>(method: string, input: unknown): Promise<T> => {
      const answer = await fetch(`${gateway.uiOrigin()}/api/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Gateway-Token': gateway.controlToken() }, body: JSON.stringify(input) });
      const body = (await answer.json()) as { ok: boolean; value: T };
      expect(body.ok).toBe(true);
      return body.value;
    };
    // Held for review (Burned In Annotation YES): its sealed original waits in quarantine until a person releases it.
    await storescu(port, [heldFile]);
    const quarantine = path.join(gateway.dataDir, 'quarantine');
    const held = await waitFor('the image held', async () => (await api<{ rows: Array<{ instanceId: number }> }>('listHeld', { limit: 10, offset: 0 })).rows[0]);
    const [file] = fs.readdirSync(quarantine);
    const original = path.join(quarantine, file!);
    const bytes = fs.readFileSync(original);
    // One bit of one pixel's ciphertext.
    bytes[bytes.length - 40] = bytes[bytes.length - 40]! ^ 0x01;
    fs.writeFileSync(original, bytes);
    expect((await api<{ released: boolean }>('releaseHeld', { instanceId: held.instanceId })).released).toBe(true);
    await waitFor('the altered original held again, with why', () => (/damaged or was altered/.test(gateway.output()) ? true : undefined));
    expect(fs.readdirSync(path.join(gateway.dataDir, 'outbox')).filter((f) => f.endsWith('.dcm'))).toEqual([]);
  });
});
