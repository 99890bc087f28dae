import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { generateMammograms } from '../support/dicom-tools';
import { readGatewayStore, sopUidsAt, storescuReport } from '../support/load';

/** A research server that accepts connections and reads what it is sent, but never answers. */
async function silentServer(): Promise<{ url: string; requests: () => string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let seen = '';
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (d: Buffer) => (seen += d.subarray(0, 200).toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => seen,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('bounded stop: SIGTERM while the research server never answers', () => {
  let gateway: GatewayProcess | undefined;
  let orthanc: OrthancServer | undefined;
  let silent: Awaited<ReturnType<typeof silentServer>> | undefined;
  afterAll(async () => {
    await gateway?.stop();
    await orthanc?.stop();
    await silent?.close();
  });

  it('aborts the upload in flight and exits 0; after a restart the instance is confirmed and delivered once', async () => {
    const [set, port] = await Promise.all([generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '1', '--rows', '128', '--cols', '128', '--no-verify']), freePort()]);
    silent = await silentServer();
    const file = path.join(set.dir, set.files[0]!.file);
    const intake = { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] };
    gateway = await startGateway({ intake, destination: { url: silent.url, username: 'u', password: 'p' } });
    const report = await storescuReport(port, [file]);
    expect(report.acknowledged).toHaveLength(1);
    await waitFor('the upload at the silent server', () => (silent!.requests().includes('POST /instances') ? true : undefined), 60_000, 50);

    const started = Date.now();
    const code = await gateway.stop();
    const stopMs = Date.now() - started;
    // A product requirement is under 10 s; the test prints it rather than timing the machine.
    console.log(`bounded stop: SIGTERM to exit took ${stopMs} ms with an upload in flight to a server that never answers`);
    expect(code).toBe(0);
    const log = gateway.output();
    expect(log).toMatch(/stop: 1 upload\(s\) still in flight after 3 s aborted/);
    expect(log).toMatch(/instance \d+: upload aborted by the stop/);
    expect(log).toMatch(/\bstopped\b/);
    // Left as 'uploading': the next start asks the research server before it sends again.
    expect(readGatewayStore(gateway.dataDir, gateway.databaseKey).counts.uploading).toBe(1);

    orthanc = await startOrthanc();
    gateway = await startGateway(
      { intake, destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password } },
      { dataDir: gateway.dataDir, databaseKey: gateway.databaseKey },
    );
    expect(gateway.output()).toMatch(/1 upload\(s\) cut short by a stop will be sent again/);
    await waitFor('the instance at Orthanc', async () => ((await orthanc!.api<string[]>('/instances')).length === 1 ? true : undefined), 60_000, 100);
    const store = await waitFor('the job delivered', () => {
      const s = readGatewayStore(gateway!.dataDir, gateway!.databaseKey);
      return s.counts.uploaded === 1 ? s : undefined;
    }, 30_000, 100);
    expect(store.rows).toHaveLength(1);
    const at = await sopUidsAt(orthanc);
    expect(at.get(store.uidMap.get(set.files[0]!.sopInstanceUID) ?? '')).toBe(1);
  });
});
