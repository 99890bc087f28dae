import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResearchOrthanc, startTlsProxy, type Account, type ResearchOrthanc } from '../support/research-orthanc';
import { startGateway } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';
import { checkDestination } from '../../src/main/core/upload';

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(String((server.address() as AddressInfo).port))));
}

describe('checkDestination: is the research Orthanc reachable, is the account allowed to upload, is it recent enough', () => {
  let orthanc: ResearchOrthanc;
  const others: http.Server[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'destination-check-'));
  const as = (account: Account, url = orthanc.url) => ({ url, username: account.username, password: account.password });

  beforeAll(async () => {
    orthanc = await startResearchOrthanc();
  });

  afterAll(async () => {
    for (const server of others) server.close();
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('passes a gateway account, naming the Orthanc version, and stores nothing while checking', async () => {
    const check = await checkDestination(as(orthanc.accounts.gateway));
    expect(check.ok).toBe(true);
    expect(check.problem).toBeUndefined();
    expect(check.server).toMatchObject({ version: '1.10.1', apiVersion: expect.any(Number) as number });
    // Plain http on this test server is worth a warning; the account's rights are not.
    expect(check.warnings).toHaveLength(1);
    expect(check.warnings[0]).toMatch(/plain http/);
    expect((await orthanc.request(orthanc.accounts.admin, 'GET', '/instances')).json<string[]>()).toEqual([]);
  });

  it('passes a gateway account through nginx (the Debian recipe\'s HTTPS) without the plain-http warning', async () => {
    const proxy = await startTlsProxy(orthanc);
    const trusted = https.globalAgent.options.ca;
    https.globalAgent.options.ca = proxy.certificate; // as if the site's certificate authority were installed
    try {
      const check = await checkDestination(as(orthanc.accounts.gateway, proxy.url));
      expect(check).toMatchObject({ ok: true, warnings: [], server: { version: '1.10.1' } });
    } finally {
      https.globalAgent.options.ca = trusted;
      await proxy.stop();
    }
  });

  it('passes an account that may do everything, with a warning that it can read every study', async () => {
    const check = await checkDestination(as(orthanc.accounts.admin));
    expect(check.ok).toBe(true);
    expect(check.warnings.some((w) => /can also read every study/.test(w))).toBe(true);
  });

  it('fails a read-only researcher account: it may not upload', async () => {
    const check = await checkDestination(as(orthanc.accounts.researcher));
    expect(check.ok).toBe(false);
    expect(check.problem?.code).toBe('upload-forbidden');
    expect(check.problem?.message).toMatch(/403 Forbidden.*gateway account/);
  });

  it('fails a wrong password, saying to check it in Settings', async () => {
    const check = await checkDestination({ ...as(orthanc.accounts.gateway), password: 'not-the-password' });
    expect(check).toMatchObject({ ok: false, problem: { code: 'unauthorized' } });
    expect(check.problem?.message).toMatch(/401 Unauthorized.*Settings/);
  });

  it('fails an account the access rules give no role', async () => {
    const check = await checkDestination(as(orthanc.accounts.guest));
    expect(check).toMatchObject({ ok: false, problem: { code: 'unexpected-answer' } });
  });

  it('fails when nothing listens at the URL', async () => {
    const check = await checkDestination({ url: `http://127.0.0.1:${await freePort()}`, username: 'x', password: 'y' });
    expect(check).toMatchObject({ ok: false, problem: { code: 'unreachable' } });
    expect(check.problem?.message).toMatch(/connection refused/);
  });

  it('fails a URL that is not the Orthanc base URL, saying to check it', async () => {
    // A gateway account meets the access rules' 403 before Orthanc's 404; a researcher account gets the 404.
    const asGateway = await checkDestination(as(orthanc.accounts.gateway, `${orthanc.url}/orthanc/`));
    expect(asGateway).toMatchObject({ ok: false, problem: { code: 'unexpected-answer' } });
    expect(asGateway.problem?.message).toMatch(/check that the destination URL is the Orthanc base URL/);
    const asResearcher = await checkDestination(as(orthanc.accounts.researcher, `${orthanc.url}/orthanc/`));
    expect(asResearcher).toMatchObject({ ok: false, problem: { code: 'not-orthanc' } });
  });

  it('fails a web server that is not an Orthanc', async () => {
    const server = http.createServer((_req, res) => res.end('<html>It works!</html>'));
    others.push(server);
    const port = await listen(server);
    const check = await checkDestination({ url: `http://127.0.0.1:${port}`, username: 'x', password: 'y' });
    expect(check).toMatchObject({ ok: false, problem: { code: 'not-orthanc' } });
  });

  it('fails https:// to a server that speaks plain http, naming the scheme to check', async () => {
    const check = await checkDestination(as(orthanc.accounts.gateway, orthanc.url.replace('http:', 'https:')));
    expect(check).toMatchObject({ ok: false, problem: { code: 'unreachable' } });
    expect(check.problem?.message).toMatch(/does not speak HTTPS/);
  });

  it('fails an HTTPS server whose certificate this computer does not trust', async () => {
    const key = path.join(scratch, 'key.pem');
    const cert = path.join(scratch, 'cert.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert]);
    const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) => res.end('{}'));
    others.push(server);
    const port = await listen(server);
    const check = await checkDestination({ url: `https://127.0.0.1:${port}`, username: 'x', password: 'y' });
    expect(check).toMatchObject({ ok: false, problem: { code: 'certificate' } });
    expect(check.problem?.message).toMatch(/certificate is not trusted/);
  });

  it('logs an actionable line at gateway start-up when the account may not upload', async () => {
    const gateway = await startGateway({
      intake: { aeTitle: 'DEID_GW', port: await freePort(), allowedCallingAeTitles: [] },
      destination: as(orthanc.accounts.researcher),
    });
    try {
      await waitFor('the destination check in the log', () => /research server check/.test(gateway.output()) || undefined, 20_000);
      expect(gateway.output()).toMatch(/ERROR .*research server check failed: The research server does not let this account upload \(403 Forbidden\): ask the research site for a gateway account/);
      expect(gateway.output()).not.toContain(orthanc.accounts.researcher.password);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });
});
