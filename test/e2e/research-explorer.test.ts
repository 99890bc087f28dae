import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startResearchOrthanc, type ResearchOrthanc } from '../support/research-orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { generateMammograms, storescu, DEBIAN_PYTHON } from '../support/dicom-tools';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** What the researchers' guide promises of the web interface, done in a real browser with a researcher account. */
describe('researchers in Orthanc\'s web interface: find a clinic\'s studies and download one', () => {
  let orthanc: ResearchOrthanc;
  let gateway: GatewayProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const refused: string[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'research-explorer-'));

  beforeAll(async () => {
    const [server, mammograms, port] = await Promise.all([startResearchOrthanc(), generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '2']), freePort()]);
    orthanc = server;
    gateway = await startGateway({
      site: { code: 'KGH' },
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.accounts.gateway.username, password: orthanc.accounts.gateway.password },
    });
    await storescu(port, mammograms.files.map((f) => path.join(mammograms.dir, f.file)));
    await waitFor('both instances at the archive', async () => (await orthanc.request(orthanc.accounts.researcher, 'GET', '/instances')).json<string[]>().length >= 2 || undefined, 60_000, 250);

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    const { username, password } = orthanc.accounts.researcher;
    context = await browser.newContext({ httpCredentials: { username, password }, acceptDownloads: true });
    page = await context.newPage();
    page.on('response', (res) => {
      if (res.status() === 403) refused.push(`${res.request().method()} ${new URL(res.url()).pathname}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('finds the clinic\'s studies by research ID wildcard on the lookup page', async () => {
    await page.goto(`${orthanc.url}/app/explorer.html#lookup`);
    await page.fill('#lookup-patient-id', 'KGH-*');
    await page.click('#lookup-submit');
    const result = page.locator('#lookup-result a', { hasText: /KGH-[0-9A-Z]{8}/ });
    await result.first().waitFor({ timeout: 15_000 });
    expect(await result.count()).toBe(1);
    await result.first().click();
    await page.waitForURL(/#study\?uuid=/);
  });

  it('downloads the study as a ZIP with both images, from the study page', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#study-archive')]);
    const file = path.join(scratch, 'study.zip');
    await download.saveAs(file);
    const { stdout } = await run(DEBIAN_PYTHON, ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', file]);
    expect(stdout.trim().split('\n').filter((e) => /\.dcm$/i.test(e))).toHaveLength(2);
  });

  it('downloads the study as a DICOMDIR, from the study page', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#study-media')]);
    const file = path.join(scratch, 'study-dicomdir.zip');
    await download.saveAs(file);
    const { stdout } = await run(DEBIAN_PYTHON, ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', file]);
    expect(stdout.trim().split('\n')).toContain('DICOMDIR');
  });

  it('meets no refusal from the access rules while browsing as a researcher', () => {
    expect(refused).toEqual([]);
  });
});
