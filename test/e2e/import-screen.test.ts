import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { ensureRendererBuilt } from '../support/renderer-build';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { makeImportArchive, type ImportArchive } from '../support/import-archive';

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** The Import screen in Chromium against the headless runner and a real Orthanc. */
describe('the Import screen in a browser', () => {
  let orthanc: OrthancServer;
  let gateway: GatewayProcess;
  let archive: ImportArchive;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const [server, made, port] = await Promise.all([
      startOrthanc(),
      // 30 instances of about 100 kB, and 4 files that are not DICOM.
      makeImportArchive(['--patients', '5', '--studies-per-patient', '2', '--views', '3', '--seed', '2103', '--rows', '256', '--cols', '200', '--no-verify']),
      freePort(),
      ensureRendererBuilt(),
    ]);
    orthanc = server;
    archive = made;
    // Throttled, so that the import lasts long enough to be watched and paused.
    gateway = await startGateway({
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
      import: { maxMegabytesPerSecond: 0.3, concurrency: 1 },
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
    await page.goto(gateway.uiUrl());
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await orthanc?.stop();
    if (archive) fs.rmSync(archive.root, { recursive: true, force: true });
  });

  const card = () => page.locator('[data-testid="import"]').first();
  const progressValue = async (): Promise<number> => Number(await card().locator('progress').getAttribute('value'));
  const count = async (name: string): Promise<number> => Number(await card().locator(`[data-count="${name}"]`).textContent());

  it('imports a typed path: the progress bar moves, pause and resume work, and the counts are right at the end', async () => {
    await page.click('nav a[href="#/import"]');
    await page.waitForFunction(() => window.location.hash === '#/import');
    await page.fill('#import-path', archive.root);
    await page.click('button[type="submit"]');
    await card().waitFor();

    // The bar moves: a first value, then a larger one.
    const first = await waitFor('the bar to start', async () => ((await progressValue()) > 0 ? progressValue() : undefined), 60_000, 100);
    await waitFor('the bar to move', async () => ((await progressValue()) > first ? true : undefined), 60_000, 100);
    expect(await page.locator('[data-testid="import"] p', { hasText: '/s' }).count()).toBeGreaterThan(0);

    await card().getByRole('button', { name: 'Pause' }).click();
    await waitFor('paused', async () => ((await card().getAttribute('data-state')) === 'paused' ? true : undefined), 30_000, 100);
    await card().getByRole('button', { name: 'Resume' }).waitFor();
    expect(await count('waiting')).toBeGreaterThan(0);

    await card().getByRole('button', { name: 'Resume' }).click();
    await waitFor('done', async () => ((await card().getAttribute('data-state')) === 'done' ? true : undefined), 180_000, 200);
    expect({
      found: await count('found'), queued: await count('queued'), alreadyDelivered: await count('alreadyDelivered'),
      notDicom: await count('notDicom'), failed: await count('failed'), waiting: await count('waiting'),
    }).toEqual({ found: 34, queued: 30, alreadyDelivered: 0, notDicom: 4, failed: 0, waiting: 0 });
    expect(await progressValue()).toBe(34);
    await waitFor('all at Orthanc', async () => ((await orthanc.api<string[]>('/instances')).length >= 30 ? true : undefined), 120_000, 200);
    expect((await orthanc.api<string[]>('/instances')).length).toBe(30);
  }, 400_000);

  it('says why a path cannot be imported', async () => {
    await page.fill('#import-path', '/no/such/disk');
    await page.click('button[type="submit"]');
    await page.locator('[role="status"]', { hasText: 'Nothing is there' }).waitFor();
  });
});
