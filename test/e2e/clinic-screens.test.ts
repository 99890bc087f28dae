import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { RawConnection, associate, cStoreRaw, release } from '../support/raw-scu';
import { DEBIAN_PYTHON, echoscu, generateMammograms, storescu, type ManifestFile } from '../support/dicom-tools';
import { extractWith7z, parseCsv } from '../support/seven-zip';
import { ensureRendererBuilt } from '../support/renderer-build';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const DOC_SHOTS = path.join(ROOT, 'docs/screenshots');
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const DOCTOR_PASSWORD = 'Radiology-Desk-2026!';
const EXPORT_PASSWORD = 'Export-Crosswalk-77#';

/** The technologist's and the doctor's screens, driven in Chromium against the headless runner, a real Orthanc and storescu. */
describe('the clinic\'s screens in a browser', () => {
  let orthanc: OrthancServer;
  let gateway: GatewayProcess;
  let browser: Browser;
  let page: Page;
  let dicomPort: number;
  let files: ManifestFile[];
  let mammoDir: string;
  // Every API answer the page received, by method, to check where a patient's identity travels.
  const answers: Array<Promise<{ method: string; body: string }>> = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'clinic-screens-'));
  const filesOf = (patient: number): string[] => files.filter((f) => f.file.startsWith(`p${patient}_`)).map((f) => path.join(mammoDir, f.file));
  const shot = async (name: string, alsoDocs = false): Promise<void> => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
    if (alsoDocs) {
      fs.mkdirSync(DOC_SHOTS, { recursive: true });
      fs.copyFileSync(path.join(ARTIFACTS, `${name}.png`), path.join(DOC_SHOTS, `${name}.png`));
    }
  };
  const open = async (screen: string): Promise<void> => {
    await page.click(`nav a[href="#/${screen}"]`);
    await page.waitForFunction((s) => window.location.hash === `#/${s}`, screen);
  };
  const orthancInstances = async (): Promise<number> => (await orthanc.api<string[]>('/instances')).length;
  const patientName = async (file: string): Promise<string> =>
    (await run(DEBIAN_PYTHON, ['-c', 'import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).PatientName)', file])).stdout.trim();

  beforeAll(async () => {
    const [server, mammograms, port] = await Promise.all([
      startOrthanc(),
      generateMammograms(['--patients', '3', '--studies-per-patient', '1', '--views', '2']),
      freePort(),
      ensureRendererBuilt(),
    ]);
    orthanc = server;
    files = mammograms.files;
    mammoDir = mammograms.dir;
    dicomPort = port;
    gateway = await startGateway({
      site: { code: 'KGH' },
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true, colorScheme: 'light' });
    page = await context.newPage();
    page.on('response', (res) => {
      const method = /\/api\/(\w+)$/.exec(new URL(res.url()).pathname)?.[1];
      // POST only: the event stream (GET /api/events) never ends.
      if (method && res.request().method() === 'POST') answers.push(res.text().then((body) => ({ method, body }), () => ({ method, body: '' })));
    });
    await page.goto(gateway.uiUrl());
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses an API request without a session or the control token, never takes the token from a URL, and takes the one-time code out of the address bar', async () => {
    const base = gateway.uiOrigin();
    expect((await fetch(`${base}/api/getStatus`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await fetch(`${base}/api/getStatus`, { method: 'POST', body: '{}', headers: { 'X-Gateway-Token': 'guessed' } })).status).toBe(401);
    expect((await fetch(`${base}/api/getStatus?token=${gateway.controlToken()}`, { method: 'POST', body: '{}' })).status).toBe(401);
    // The page itself is served without a session (it then says how to get in).
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect((await fetch(`${base}/api/events`)).status).toBe(401);
    expect((await fetch(`${base}/api/events?token=${gateway.controlToken()}`)).status).toBe(401);
    await page.waitForSelector('nav');
    expect(page.url()).not.toContain('open=');
  });

  it('shows a study sent with storescu arriving and completing on Status, live', async () => {
    await expect.poll(() => page.textContent('[data-testid="intake-ae"]')).toBe('DEID_GW');
    expect(await page.textContent('[data-testid="intake-port"]')).toBe(String(dicomPort));
    expect(await page.textContent('[data-testid="today-received"]')).toBe('0');
    await storescu(dicomPort, filesOf(1));
    // No reload: the page follows the gateway's events.
    await page.waitForFunction(() => document.querySelector('[data-testid="today-uploaded"]')?.textContent === '2', undefined, { timeout: 30_000 });
    expect(await page.textContent('[data-testid="today-received"]')).toBe('2');
    expect(await page.textContent('[data-testid="today-deidentified"]')).toBe('2');
    expect(await page.textContent('[data-testid="last-association"]')).toContain('MAMMO_UNIT');
    await expect.poll(() => page.textContent('[data-testid="destination-reachable"]'), { timeout: 20_000 }).toMatch(/^yes/);
    expect(await orthancInstances()).toBe(2);
  });

  it('lists the study on Studies with the local patient name, and shows instances, de-identified header and a thumbnail', async () => {
    await open('studies');
    const row = page.locator('[data-testid="study-row"]');
    await expect.poll(() => row.count()).toBe(1);
    const family = (await patientName(filesOf(1)[0]!)).split('^')[0]!;
    expect(await row.first().textContent()).toContain(family);
    expect(await row.locator('[data-testid="study-state"]').textContent()).toBe('Complete');
    expect(await row.locator('[data-testid="study-instances"]').textContent()).toBe('2 / 2 / 2');
    const researchId = (await row.locator('a').textContent())!;
    expect(researchId).toMatch(/^KGH-[0-9A-Z]{8}$/);

    await page.fill('input[type="search"]', family.toLowerCase());
    await expect.poll(() => page.textContent('#studies-range')).toBe('1–1 of 1');
    await page.fill('input[type="search"]', 'NOBODY-BY-THIS-NAME');
    await expect.poll(() => row.count()).toBe(0);
    await page.fill('input[type="search"]', '');
    await expect.poll(() => row.count()).toBe(1);

    await row.locator('a').click();
    await expect.poll(() => page.locator('[data-testid="instance-row"]').count()).toBe(2);
    const header = page.locator('[data-testid="deid-header"]');
    await header.waitFor();
    const headerText = (await header.textContent())!;
    expect(headerText).toContain('PatientIdentityRemoved');
    expect(headerText).toContain(researchId);
    expect(headerText).not.toContain(family);
    const image = page.locator('[data-testid="preview-image"]');
    await image.waitFor();
    expect(await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await shot('study-detail');
  });

  it('Settings: a birth-date day is checked next to the field, previewed live, saved with a new DICOM port, and the next study carries it at Orthanc', async () => {
    await open('settings');
    const day = page.getByLabel('Birth date: day written');
    await day.fill('31');
    expect(await page.textContent('[data-testid="error-birth-day"]')).toMatch(/Day must be 1–28/);
    expect(await page.isDisabled('button[type="submit"]')).toBe(true);
    await day.fill('1');
    expect(await page.textContent('[data-testid="birth-preview"]')).toBe('1965-07-23 → 1965-07-01');
    expect(await page.locator('[data-testid="error-birth-day"]').count()).toBe(0);
    // The saved password is not sent to the page: the field is empty, with a note that one is saved.
    expect(await page.inputValue('#dest-password')).toBe('');
    await shot('settings');
    const oldPort = dicomPort;
    dicomPort = await freePort();
    await page.fill('#intake-port', String(dicomPort));
    await page.click('button[type="submit"]');
    await expect.poll(() => page.textContent('[data-testid="save-outcome"]')).toContain(`Saved. DICOM listener restarted: AE title DEID_GW, port ${dicomPort}`);
    // Applied without a restart: the old port no longer answers.
    expect((await storescu(oldPort, filesOf(2), { allowFailure: true })).code).not.toBe(0);
    const saved = JSON.parse(fs.readFileSync(gateway.settingsFile, 'utf8')) as { intake: { port: number }; deid: { birthDate: { day: number } }; destination: { password: string } };
    expect(saved.deid.birthDate.day).toBe(1);
    expect(saved.intake.port).toBe(dicomPort);
    // The password moved out of the settings file into its own 0600 file beside it.
    expect(saved.destination.password).toBe('');
    const passwordFile = path.join(path.dirname(gateway.settingsFile), 'destination.password');
    expect(fs.readFileSync(passwordFile, 'utf8')).toBe(`${orthanc.password}\n`);
    expect(fs.statSync(passwordFile).mode & 0o777).toBe(0o600);

    await storescu(dicomPort, filesOf(2));
    await waitFor('patient 2 at Orthanc', async () => ((await orthancInstances()) >= 4 ? true : undefined), 30_000, 250);
    const birth2 = files.find((f) => f.file.startsWith('p2_'))!.birthDate;
    const birth1 = files.find((f) => f.file.startsWith('p1_'))!.birthDate;
    const patients = await orthanc.api<Array<{ MainDicomTags: { PatientBirthDate?: string } }>>('/patients?expand');
    const births = patients.map((p) => p.MainDicomTags.PatientBirthDate);
    expect(births).toContain(`${birth2.slice(0, 6)}01`);
    expect(births).toContain(`${birth1.slice(0, 6)}15`);
  });

  it('shows the research server\'s outage and its reason; once it is back, a refused study is resent from the Resend screen', async () => {
    await orthanc.stop();
    await storescu(dicomPort, filesOf(3));
    await open('studies');
    const row = page.locator('[data-testid="study-row"]').first();
    await expect.poll(() => row.locator('[data-testid="study-state"]').textContent(), { timeout: 30_000 }).toBe('Retrying');
    expect(await row.locator('[data-testid="study-error"]').textContent()).toMatch(/Research server unreachable at http:\/\/127\.0\.0\.1:\d+: connection refused/);
    await shot('studies-failure');
    await open('status');
    await expect.poll(() => page.textContent('[data-testid="destination-reachable"]'), { timeout: 30_000 }).toMatch(/^no — /);
    expect(await page.textContent('[data-testid="destination-error"]')).toMatch(/connection refused/);
    await shot('status-failure');

    // A wrong password makes the server refuse: the study ends "failed" (no automatic retry), whatever the backoff timing.
    await open('settings');
    await page.fill('#dest-password', 'not-the-research-password');
    await page.click('button[type="submit"]');
    await expect.poll(() => page.textContent('[data-testid="save-outcome"]')).toMatch(/^Saved\. Destination changed/);
    await orthanc.restart();
    await open('resend');
    await page.getByRole('button', { name: /^Resend all failed/ }).click();
    const failed = page.locator('[data-testid="resend-row"]', { hasText: 'Failed' });
    await expect.poll(() => failed.count(), { timeout: 30_000 }).toBe(1);
    // Refused for the password, at the upload or at the check that it did not arrive already (an instance retried after an outage).
    expect(await failed.textContent()).toMatch(/Research server (rejected the upload: 401 Unauthorized|refused the delivery check: HTTP 401) \(check the user name and password in Settings\)/);

    await open('settings');
    await page.fill('#dest-password', orthanc.password);
    await page.click('button[type="submit"]');
    await expect.poll(() => page.textContent('[data-testid="save-outcome"]')).toMatch(/^Saved\./);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.textContent('[data-testid="test-connection-result"]'), { timeout: 20_000 }).toMatch(/^Connection works/);
    await open('resend');
    await failed.getByRole('button', { name: /^Resend KGH-/ }).click();
    await expect.poll(() => page.textContent('[data-testid="resend-outcome"]')).toMatch(/^Study KGH-[0-9A-Z]{8}: 2 instance\(s\) queued/);
    await shot('resend');
    await waitFor('patient 3 at Orthanc', async () => ((await orthancInstances()) >= 6 ? true : undefined), 30_000, 250);
    await open('studies');
    await expect.poll(() => page.locator('[data-testid="study-row"]').first().locator('[data-testid="study-state"]').textContent(), { timeout: 15_000 }).toBe('Complete');

    // A completed study sent again, from the de-identified copies retention keeps: Orthanc already has it, nothing doubles.
    await open('resend');
    const complete = page.locator('[data-testid="resend-row"]', { hasText: 'Complete' }).first();
    await complete.getByRole('button', { name: /^Send again KGH-/ }).click();
    await expect.poll(() => page.textContent('[data-testid="resend-outcome"]')).toMatch(/: 2 instance\(s\) queued/);
    await expect.poll(() => complete.textContent(), { timeout: 15_000 }).toMatch(/2 \/ 2\s*Complete/);
    expect(await orthancInstances()).toBe(6);

    // The research server is asked whether it still holds every delivered instance.
    await page.getByRole('button', { name: 'Check delivery at the research server' }).click();
    await expect.poll(() => page.textContent('[data-testid="recheck-outcome"]'), { timeout: 20_000 }).toBe('Checked 6 delivered instance(s): 6 still there.');
  });

  it('shows on Status an association it rejected, and why', async () => {
    await echoscu(dicomPort, { calledAe: 'WRONG_AE' });
    await open('status');
    await expect.poll(() => page.textContent('[data-testid="last-association"]')).toMatch(/from MAMMO_UNIT — rejected: called AE title WRONG_AE is not DEID_GW$/);
  });

  it('Review list: held instances show the reason and a preview; release asks first and uploads, discard removes', async () => {
    // Two copies of a mammogram that say text is burned into their pixels, as new instances.
    const marked = [1, 2].map((n) => path.join(scratch, `burned-${n}.dcm`));
    await run(DEBIAN_PYTHON, ['-c', [
      'import sys, pydicom, pydicom.uid',
      'for out in sys.argv[2:]:',
      '    ds = pydicom.dcmread(sys.argv[1]); ds.BurnedInAnnotation = "YES"',
      '    ds.SOPInstanceUID = pydicom.uid.generate_uid(); ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID',
      '    ds.save_as(out)',
    ].join('\n'), filesOf(1)[0]!, ...marked]);
    await storescu(dicomPort, marked);
    await open('review');
    const rows = page.locator('[data-testid="held-row"]');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);
    expect(await rows.first().textContent()).toMatch(/Burned-in text/);
    const image = page.locator('[data-testid="preview-image"]');
    await image.waitFor();
    expect(await image.evaluate((img: HTMLImageElement) => img.naturalWidth > 0)).toBe(true);
    await shot('review');

    const before = await orthancInstances();
    await page.getByRole('button', { name: 'Release…' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    // The dialog opens on its safe answer, and Escape is "no": nothing happens.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    expect(await rows.count()).toBe(2);
    await page.getByRole('button', { name: 'Release…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Release and upload' }).click();
    await expect.poll(() => page.textContent('[data-testid="review-outcome"]')).toMatch(/released/);
    await waitFor('released instance at Orthanc', async () => ((await orthancInstances()) > before ? true : undefined), 30_000, 250);

    await expect.poll(() => rows.count()).toBe(1);
    await page.getByRole('button', { name: 'Discard…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Discard' }).click();
    await page.locator('[data-testid="review-empty"]').waitFor();
    expect(await orthancInstances()).toBe(before + 1);
  });

  it('Review list: "Discard all refused" names the count, asks first, and removes every refused data set', async () => {
    const conn = await RawConnection.open(dicomPort);
    expect((await associate(conn, 'DEID_GW')).type).toBe(0x02);
    for (let i = 0; i < 3; i += 1) expect(await cStoreRaw(conn, `1.2.826.0.1.3680043.10.78.${i}`, Buffer.from('Not a DICOM data set. '.repeat(50)))).toBe(0xc000);
    await release(conn);
    conn.close();
    await open('review');
    const button = page.locator('[data-testid="discard-refused"]');
    await expect.poll(() => button.textContent(), { timeout: 15_000 }).toBe('Discard all refused (3)…');
    // Each row says when retention deletes it.
    expect(await page.locator('[data-testid="held-expiry"]').first().textContent()).toMatch(/\d/);
    await button.click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    expect(await dialog.textContent()).toMatch(/Discard all 3 refused data set\(s\)\?/);
    await dialog.getByRole('button', { name: 'Discard 3' }).click();
    await expect.poll(() => page.textContent('[data-testid="review-outcome"]')).toMatch(/^3 refused data set\(s\) discarded/);
    await page.locator('[data-testid="review-empty"]').waitFor();
  });

  it('Crosswalk: the doctor sets a password, unlocks, looks up a research ID, exports with progress, and 7-Zip opens the export', async () => {
    await open('studies');
    const researchId = (await page.locator('[data-testid="study-row"] a').last().textContent())!;
    const family = (await patientName(filesOf(1)[0]!)).split('^')[0]!;

    await open('crosswalk');
    await page.getByLabel('New doctor password').fill(DOCTOR_PASSWORD);
    await page.getByLabel('Same password again').fill(DOCTOR_PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByLabel('Doctor password').fill('not-the-password');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.textContent('[data-testid="doctor-message"]')).toMatch(/Wrong doctor password/);
    await page.getByLabel('Doctor password').fill(DOCTOR_PASSWORD);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.locator('[data-testid="doctor-unlocked"]').waitFor();

    await page.getByLabel('Research ID or research Study UID').fill(researchId);
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.textContent('[data-testid="lookup-result"]')).toContain(family);

    await page.getByLabel('Password for the export file').fill(EXPORT_PASSWORD);
    await page.getByLabel('Same password again').fill('Something-else-99!');
    await page.getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => page.textContent('[data-testid="export-error"]')).toMatch(/not the same/);
    await page.getByLabel('Same password again').fill(EXPORT_PASSWORD);
    await page.getByLabel('File format').selectOption('csv-comma');
    // Listen to the same event stream the page gets, to see the export's progress events.
    const stream = await fetch(`${gateway.uiOrigin()}/api/events`, { headers: { 'X-Gateway-Token': gateway.controlToken() } });
    const reader = stream.body!.getReader();
    let sse = '';
    void (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        sse += new TextDecoder().decode(value);
      }
    })().catch(() => undefined);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
    await page.locator('[data-testid="export-done"]').waitFor();
    expect(await page.textContent('[data-testid="export-done"]')).toMatch(/3 patient\(s\)/);
    const progress = async () => [...sse.matchAll(/^event: exportProgress\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { rowsWritten: number; rowsTotal: number });
    await expect.poll(async () => (await progress()).at(-1)).toMatchObject({ rowsWritten: 3, rowsTotal: 3 });
    await reader.cancel();
    const zip = path.join(scratch, download.suggestedFilename());
    await download.saveAs(zip);
    expect(path.basename(zip)).toMatch(/^crosswalk-KGH-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}\.zip$/);
    expect((await extractWith7z(zip, 'wrong password')).code).not.toBe(0);
    const opened = await extractWith7z(zip, EXPORT_PASSWORD);
    expect(opened.code).toBe(0);
    const [csv] = [...opened.files.values()];
    const rows = parseCsv(csv!);
    expect(rows.slice(1).map((r) => r[0])).toContain(researchId);
    expect(csv).toContain(family);

    const audit = page.locator('[data-testid="audit-log"]');
    await expect.poll(() => audit.textContent(), { timeout: 15_000 }).toContain('Export crosswalk');
    await shot('crosswalk');

    // The audit log checks its own chain, and saves a copy with its hashes.
    await page.getByRole('button', { name: 'Check the audit log' }).click();
    await expect.poll(() => page.textContent('[data-testid="audit-verdict"]')).toMatch(/^Intact: all \d+ entries are as they were written\.$/);
    const [auditDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save as CSV' }).click()]);
    const auditFile = path.join(scratch, auditDownload.suggestedFilename());
    await auditDownload.saveAs(auditFile);
    const auditCsv = fs.readFileSync(auditFile, 'utf8');
    expect(auditCsv.split('\r\n')[0]).toBe('id,at,actor,action,outcome,detail,prevHash,hash');
    expect(auditCsv).toContain('crosswalk.export');
    expect(auditCsv).not.toContain(family);

    // A new doctor password replaces the old one: after locking, only the new one unlocks.
    const newPassword = 'Mammography-Desk-2027?';
    await page.getByRole('button', { name: 'Change the doctor password…' }).click();
    await page.getByLabel('New doctor password').fill(newPassword);
    await page.getByLabel('New password again').fill(newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Change password' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Lock now' }).click();
    await page.getByLabel('Doctor password').fill(newPassword);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.locator('[data-testid="doctor-unlocked"]').waitFor();
  });

  it('works from the keyboard: Alt+number opens a screen with focus on its title, Tab and Enter open a study', async () => {
    await page.keyboard.press('Alt+2');
    await page.waitForFunction(() => window.location.hash === '#/studies');
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Studies');
    await page.locator('[data-testid="study-row"]').first().waitFor();
    await page.keyboard.press('Tab'); // search
    await page.keyboard.press('Tab'); // study date from
    await page.keyboard.press('Tab'); // study date to
    await page.keyboard.press('Tab'); // state filter
    await page.keyboard.press('Tab'); // the first study's research ID
    expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(/^KGH-[0-9A-Z]{8}$/);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /^#\/studies\/\d+$/.test(window.location.hash));
    await page.locator('[data-testid="instance-row"]').first().waitFor();
    await page.keyboard.press('Alt+1');
    await page.waitForFunction(() => window.location.hash === '#/status');
    // The port saved in Settings earlier is the one Status reports.
    await expect.poll(() => page.textContent('[data-testid="intake-port"]')).toBe(String(dicomPort));
  });

  it('sends a patient\'s name or ID only to the Studies screen and the doctor\'s look-up', async () => {
    const identities = new Set<string>();
    for (const f of files) {
      const [patientId] = f.patientKey.split('|');
      identities.add(patientId!);
      identities.add((await patientName(path.join(mammoDir, f.file))).split('^')[0]!);
    }
    const received = await Promise.all(answers);
    expect([...new Set(received.map((a) => a.method))]).toEqual(expect.arrayContaining(['getStatus', 'listStudies', 'getStudy', 'getInstanceHeader', 'getInstancePreview', 'getSettings', 'listHeld', 'listAudit', 'crosswalkLookup']));
    const allowed = new Set(['listStudies', 'getStudy', 'crosswalkLookup']);
    const carrying = received.filter((a) => [...identities].some((id) => a.body.includes(id))).map((a) => a.method);
    expect(carrying.length).toBeGreaterThan(0);
    expect(carrying.filter((m) => !allowed.has(m))).toEqual([]);
  });

  it('leaves screenshots of Status and Studies for the README, light and dark', async () => {
    await open('studies');
    await expect.poll(() => page.locator('[data-testid="study-row"]').count()).toBe(3);
    await shot('studies', true);
    await open('status');
    await expect.poll(() => page.textContent('[data-testid="destination-reachable"]'), { timeout: 20_000 }).toMatch(/^yes/);
    await shot('status', true);
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('status-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
