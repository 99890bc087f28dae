import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { run } from '../support/processes';
import { generateMammograms } from '../support/dicom-tools';
import { uploadInstance, UploadRejected } from '../../src/main/core/upload';
import { GatewaySettings } from '../../src/shared/settings';

/** A private CA and a server certificate for 127.0.0.1 signed by it, made with openssl. */
async function makeCertificates(dir: string): Promise<{ caFile: string; serverPem: string }> {
  const p = (f: string): string => path.join(dir, f);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=Test Research CA']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(p('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.crt'), '-days', '2', '-extfile', p('san.ext')]);
  // Orthanc wants the certificate and its key in one PEM file.
  fs.writeFileSync(p('server.pem'), Buffer.concat([fs.readFileSync(p('server.crt')), fs.readFileSync(p('server.key'))]));
  return { caFile: p('ca.pem'), serverPem: p('server.pem') };
}

/**
 * Debian's Orthanc 1.10 crashes (segmentation fault) on its first HTTPS connection when SslEnabled is set, so the
 * real Orthanc runs on plain HTTP behind a TLS terminator (node:tls, bytes passed through unchanged), as a research
 * site often runs it behind a reverse proxy.
 */
function tlsTerminator(certPem: string, keyPem: string, targetPort: number): Promise<{ port: number; close(): void }> {
  const server = tls.createServer({ cert: certPem, key: keyPem }, (client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close() })));
}

describe('https destination with a configurable CA', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-'));
  let orthanc: OrthancServer;
  let terminator: { port: number; close(): void };
  let url: string;
  let caFile: string;
  let file: string;
  let auth: { username: string; password: string };

  beforeAll(async () => {
    const [certs, server, set] = await Promise.all([
      makeCertificates(dir),
      startOrthanc(),
      generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '1', '--rows', '64', '--cols', '64', '--no-verify']),
    ]);
    orthanc = server;
    auth = { username: orthanc.username, password: orthanc.password };
    caFile = certs.caFile;
    file = path.join(set.dir, set.files[0]!.file);
    terminator = await tlsTerminator(fs.readFileSync(path.join(dir, 'server.crt'), 'utf8'), fs.readFileSync(path.join(dir, 'server.key'), 'utf8'), orthanc.httpPort);
    url = `https://127.0.0.1:${terminator.port}`;
  });

  afterAll(async () => {
    terminator?.close();
    await orthanc?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uploads over https when destination.caFile names the CA that signed the server certificate', async () => {
    const destination = GatewaySettings.parse({ destination: { url, ...auth, caFile } }).destination!;
    expect((await uploadInstance(destination, file)).status).toBe('Success');
    expect(await orthanc.api<string[]>('/instances')).toHaveLength(1);
  });

  it('refuses an untrusted certificate permanently, with advice, instead of retrying forever', async () => {
    const destination = GatewaySettings.parse({ destination: { url, ...auth } }).destination!;
    const error = await uploadInstance(destination, file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadRejected);
    expect((error as Error).message).toMatch(/certificate is not trusted .*set destination\.caFile/);
  });
});
