import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import ExcelJS from 'exceljs';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { DEBIAN_PYTHON, generateMammograms, storescu } from '../support/dicom-tools';
import { extractBytesWith7z } from '../support/seven-zip';
import { ensureRendererBuilt } from '../support/renderer-build';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const DOCTOR_PASSWORD = 'Radiology-Desk-2026!';
const EXPORT_PASSWORD = 'Export-Crosswalk-77#';

// Two patients as the modality sends them (UTF-8 names, a leading-zero ID), one study each.
const PEOPLE = [
  { name: 'MÜLLER^JÖRDIS', id: '0004711', date: '20240201', accession: 'ACC-0815' },
  { name: 'SMITH^ANNA', id: 'P-22', date: '20240315', accession: 'ACC-0900' },
];

/**
 * The screens' second pass (issue 20), in Chromium against the headless runner, a real Orthanc and storescu.
 * Each test opens the screen it needs and leaves the page as any other test expects it: they may run in any order.
 */
describe('the clinic\'s screens, second pass', () => {
  let orthanc: OrthancServer;
  let gateway: GatewayProcess;
  let browser: Browser;
  let page: Page;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'second-pass-'));
  const open = async (screen: string): Promise<void> => {
    // Opened afresh, not left as an earlier test made it.
    if (screen !== 'status' && (await page.evaluate(() => window.location.hash)) === `#/${screen}`) await open('status');
    // Leaving Settings with unsaved changes asks first: an earlier test's leftovers are discarded.
    else if (await page.locator('[data-testid="unsaved"]').count()) page.once('dialog', (d) => void d.accept());
    await page.click(`nav a[href="#/${screen}"]`);
    await page.waitForFunction((s) => window.location.hash === `#/${s}`, screen);
  };

  /** Sets the doctor password if this is the first use, then unlocks (whatever state an earlier test left). */
  const unlockDoctor = async (): Promise<void> => {
    await open('crosswalk');
    const firstUse = page.getByRole('button', { name: 'Set password' });
    const unlock = page.getByRole('button', { name: 'Unlock' });
    const unlocked = page.locator('[data-testid="doctor-unlocked"]');
    await expect.poll(async () => (await firstUse.count()) + (await unlock.count()) + (await unlocked.count())).toBeGreaterThan(0);
    if (await firstUse.count()) {
      await page.getByLabel('New doctor password').fill(DOCTOR_PASSWORD);
      await page.getByLabel('Same password again').fill(DOCTOR_PASSWORD);
      await firstUse.click();
      await unlock.waitFor();
    }
    if (await unlocked.count()) return;
    await page.getByLabel('Doctor password', { exact: true }).fill(DOCTOR_PASSWORD);
    await unlock.click();
    await unlocked.waitFor();
  };

  beforeAll(async () => {
    const [server, mammograms, port] = await Promise.all([
      startOrthanc(),
      generateMammograms(['--patients', '2', '--studies-per-patient', '1', '--views', '1']),
      freePort(),
      ensureRendererBuilt(),
    ]);
    orthanc = server;
    const files = PEOPLE.map((_, n) => path.join(mammograms.dir, mammograms.files.find((f) => f.file.startsWith(`p${n + 1}_`))!.file));
    await run(DEBIAN_PYTHON, ['-c', [
      'import sys, json, pydicom',
      'people = json.loads(sys.argv[1])',
      'for person, f in zip(people, sys.argv[2:]):',
      '    ds = pydicom.dcmread(f); ds.SpecificCharacterSet = "ISO_IR 192"',
      '    ds.PatientName = person["name"]; ds.PatientID = person["id"]; ds.StudyDate = person["date"]; ds.AccessionNumber = person["accession"]',
      '    ds.save_as(f)',
    ].join('\n'), JSON.stringify(PEOPLE), ...files]);
    gateway = await startGateway({
      site: { code: 'KGH' },
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
    });
    await storescu(port, files);
    await waitFor('both studies at Orthanc', async () => ((await orthanc.api<string[]>('/instances')).length === 2 ? true : undefined), 60_000, 250);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true, colorScheme: 'light' });
    page = await context.newPage();
    await page.goto(gateway.uiUrl());
    await page.locator('nav').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  describe('Studies: search finds what the table shows', () => {
    const rows = () => page.locator('[data-testid="study-row"]');
    const namesShown = async (): Promise<string[]> => (await rows().locator('td:first-child').allTextContents()).map((t) => t.replace(/ID .*$/, '').trim()).sort();
    const search = async (text: string, expected: string[]): Promise<void> => {
      await page.fill('input[type="search"]', text);
      await expect.poll(namesShown, { timeout: 10_000 }).toEqual(expected);
    };

    it('finds a name typed in any case, with or without its accents', async () => {
      await open('studies');
      await expect.poll(() => rows().count(), { timeout: 20_000 }).toBe(2);
      await search('Müller', ['MÜLLER, JÖRDIS']);
      await search('muller', ['MÜLLER, JÖRDIS']);
      await search('jördis', ['MÜLLER, JÖRDIS']);
      await search('JORDIS', ['MÜLLER, JÖRDIS']);
      await search('anna smith', ['SMITH, ANNA']);
      await search('', ['MÜLLER, JÖRDIS', 'SMITH, ANNA']);
    });

    it('finds a study date as the table shows it, day first with dots, or as DICOM writes it', async () => {
      await open('studies');
      const shown = rows().filter({ hasText: 'MÜLLER' }).locator('td').nth(2);
      await search('2024-02-01', ['MÜLLER, JÖRDIS']);
      expect(await shown.textContent()).toBe('2024-02-01');
      await search('01.02.2024', ['MÜLLER, JÖRDIS']);
      await search('20240201', ['MÜLLER, JÖRDIS']);
      await search('', ['MÜLLER, JÖRDIS', 'SMITH, ANNA']);
    });

    it('finds a patient ID and an accession number, shown on this local screen', async () => {
      await open('studies');
      await search('0004711', ['MÜLLER, JÖRDIS']);
      expect(await rows().first().locator('[data-testid="study-patient-id"]').textContent()).toBe('ID 0004711');
      await search('acc-0900', ['SMITH, ANNA']);
      await search('', ['MÜLLER, JÖRDIS', 'SMITH, ANNA']);
    });

    it('filters by a study-date range, and says plainly when a range date cannot be read', async () => {
      await open('studies');
      await page.locator('#range-from').fill('2024-03-01');
      await expect.poll(namesShown).toEqual(['SMITH, ANNA']);
      await page.locator('#range-to').fill('31.01.2024');
      expect(await page.textContent('[data-testid="error-to"]')).toBe('The last date is before the first one');
      await page.locator('#range-to').fill('2024-02-30');
      expect(await page.textContent('[data-testid="error-to"]')).toBe('Write a date as 2024-02-01, 01.02.2024 or 20240201');
      await page.locator('#range-from').fill('');
      await page.locator('#range-to').fill('29.02.2024');
      await expect.poll(namesShown).toEqual(['MÜLLER, JÖRDIS']);
      await page.locator('#range-to').fill('');
      await expect.poll(namesShown).toEqual(['MÜLLER, JÖRDIS', 'SMITH, ANNA']);
    });
  });

  it('Crosswalk: the export for people is a spreadsheet 7-Zip opens, with 0004711 as text, ISO dates and names split', async () => {
    await unlockDoctor();
    expect(await page.getByLabel('File format').inputValue()).toBe('xlsx');
    await page.getByLabel('Password for the export file').fill(EXPORT_PASSWORD);
    await page.getByLabel('Same password again').fill(EXPORT_PASSWORD);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
    await page.locator('[data-testid="export-done"]').waitFor();
    expect(await page.textContent('[data-testid="export-done"]')).toMatch(/2 patient\(s\), 2 row\(s\)/);
    const zip = path.join(scratch, download.suggestedFilename());
    await download.saveAs(zip);
    const opened = await extractBytesWith7z(zip, EXPORT_PASSWORD);
    expect(opened.code).toBe(0);
    const [name, bytes] = [...opened.files][0]!;
    expect(name).toMatch(/^crosswalk-KGH-\d{4}-\d{2}-\d{2}\.xlsx$/);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(bytes as never);
    const sheet = workbook.getWorksheet('Crosswalk')!;
    const header = (sheet.getRow(1).values as unknown[]).slice(1).map(String);
    const row = [2, 3].map((r) => sheet.getRow(r)).find((r) => r.getCell(header.indexOf('Patient ID') + 1).value === '0004711')!;
    const cell = (column: string) => row.getCell(header.indexOf(column) + 1);
    expect(cell('Patient ID').type).toBe(ExcelJS.ValueType.String);
    expect([cell('Family Name').value, cell('Given Name').value]).toEqual(['MÜLLER', 'JÖRDIS']);
    expect(cell('Patient Name (DICOM)').value).toBe('MÜLLER^JÖRDIS');
    expect(cell('Study Date').type).toBe(ExcelJS.ValueType.Date);
    expect((cell('Study Date').value as Date).toISOString().slice(0, 10)).toBe('2024-02-01');
    expect(cell('Study Date').numFmt).toBe('yyyy-mm-dd');
    expect([cell('Instances Received').value, cell('Instances Delivered').value, cell('Delivered to Research').value]).toEqual([1, 1, 'yes']);
    expect(cell('Accession Number').value).toBe('ACC-0815');
    await page.getByRole('button', { name: 'Lock now' }).click();
  });
  describe('readability', () => {
    const SCREENS = ['status', 'studies', 'resend', 'review', 'settings', 'crosswalk'];

    it('writes body text at 16 px and nothing smaller than 14 px, on every screen', async () => {
      for (const screen of SCREENS) {
        await open(screen);
        await page.locator('main h1').waitFor();
        const sizes = await page.evaluate(() => {
          const found: Array<{ text: string; px: number }> = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const parent = node.parentElement;
            if (!parent || !node.textContent?.trim() || !parent.getClientRects().length) continue;
            found.push({ text: node.textContent.trim().slice(0, 40), px: Number.parseFloat(getComputedStyle(parent).fontSize) });
          }
          return { body: getComputedStyle(document.body).fontSize, small: found.filter((f) => f.px < 14) };
        });
        expect(sizes.body, screen).toBe('16px');
        expect(sizes.small, screen).toEqual([]);
      }
    });

    for (const colorScheme of ['light', 'dark'] as const) {
      it(`shows keyboard focus with a ring of at least 3:1 against the page, ${colorScheme} theme`, async () => {
        await page.emulateMedia({ colorScheme });
        try {
          await open('studies');
          await page.locator('main h1').focus();
          await page.keyboard.press('Tab');
          const colours = await page.evaluate(() => {
            const focused = document.activeElement as HTMLElement;
            const style = getComputedStyle(focused);
            // The ring sits outside the element, on its container's background: the nearest one that is not transparent.
            let around: HTMLElement | null = focused.parentElement;
            let background = 'rgba(0, 0, 0, 0)';
            while (around && /rgba\(0, 0, 0, 0\)|transparent/.test(background)) {
              background = getComputedStyle(around).backgroundColor;
              around = around.parentElement;
            }
            return { outline: style.outlineColor, outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth, background };
          });
          expect(colours.outlineStyle).toBe('solid');
          expect(Number.parseFloat(colours.outlineWidth)).toBeGreaterThanOrEqual(2);
          // WCAG 2 contrast ratio from relative luminance.
          const luminance = (css: string): number => {
            const [r, g, b] = css.match(/\d+(\.\d+)?/g)!.slice(0, 3).map(Number).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
            return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
          };
          const [hi, lo] = [luminance(colours.outline), luminance(colours.background)].sort((a, b) => b - a);
          expect((hi! + 0.05) / (lo! + 0.05)).toBeGreaterThanOrEqual(3);
        } finally {
          await page.emulateMedia({ colorScheme: 'light' });
        }
      });
    }

    it('audit table: dates with times, actions and reasons in plain words, research IDs for studies, no word broken', async () => {
      // A study sent again (its audit detail names the study) and an export refused for a weak password.
      await open('resend');
      const complete = page.locator('[data-testid="resend-row"]', { hasText: 'Complete' }).first();
      await expect.poll(() => complete.count(), { timeout: 20_000 }).toBe(1);
      const researchStudyUid = (await complete.getAttribute('data-research-study-uid'))!;
      const researchId = (await complete.locator('td').first().textContent())!.trim();
      await complete.getByRole('button', { name: /^Send again KGH-/ }).click();
      await expect.poll(() => page.textContent('[data-testid="resend-outcome"]')).toMatch(/queued/);
      await unlockDoctor();
      await page.getByLabel('Password for the export file').fill('weakpass');
      await page.getByLabel('Same password again').fill('weakpass');
      await page.getByRole('button', { name: 'Export' }).click();
      await page.locator('[data-testid="export-error"]').waitFor();

      const table = page.locator('[data-testid="audit-log"]');
      // The table refreshes every 10 s.
      await expect.poll(() => table.textContent(), { timeout: 20_000 }).toContain('the password was too weak');
      const text = (await table.textContent())!;
      expect(text).toContain('Send again');
      expect(text).toContain('Export crosswalk');
      expect(text).not.toContain('WeakPassword');
      expect(text).not.toContain('crosswalk.export');
      expect(text).not.toContain(researchStudyUid);
      const resent = page.locator('[data-testid="audit-row"]', { hasText: 'Send again' }).first();
      expect(await resent.locator('[data-testid="audit-detail"]').textContent()).toContain(`study ${researchId}`);
      for (const at of await page.locator('[data-testid="audit-at"]').allTextContents()) expect(at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      // Every word of the table sits on one line: none is split across two.
      const broken = await table.evaluate((el) => {
        const split: string[] = [];
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const text = node.textContent ?? '';
          for (const m of text.matchAll(/\S+/g)) {
            const range = document.createRange();
            range.setStart(node, m.index);
            range.setEnd(node, m.index + m[0].length);
            const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
            if (lines.size > 1) split.push(m[0]);
          }
        }
        return split;
      });
      expect(broken).toEqual([]);
      await page.getByRole('button', { name: 'Lock now' }).click();
    });
  });
  describe('accessibility (axe-core)', () => {
    const AXE = fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
    const SCREENS = ['status', 'studies', 'resend', 'review', 'settings', 'crosswalk'];
    for (const colorScheme of ['light', 'dark'] as const) {
      it(`finds no serious or critical violation on any screen, ${colorScheme} theme`, async () => {
        await page.emulateMedia({ colorScheme });
        try {
          const found: string[] = [];
          // Every screen, plus a study's page and the doctor's screen unlocked (export form and audit table).
          const views: Array<[string, () => Promise<void>]> = [
            ...SCREENS.map((screen): [string, () => Promise<void>] => [screen, () => open(screen)]),
            ['study page', async () => {
              await open('studies');
              await page.locator('[data-testid="study-row"] a').first().click();
              await page.locator('[data-testid="instance-row"]').first().waitFor();
            }],
            ['crosswalk unlocked', async () => {
              await unlockDoctor();
              await page.locator('[data-testid="audit-row"]').first().waitFor();
            }],
          ];
          for (const [screen, show] of views) {
            await show();
            await page.locator('main h1').waitFor();
            // Evaluated through the debugging protocol, so the page's Content-Security-Policy (own scripts only) stays as it is.
            if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
            const violations = await page.evaluate(async () => {
              type Rule = { id: string; impact: string; nodes: Array<{ target: string[] }> };
              const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: Rule[]; passes: Rule[] }> } }).axe;
              const result = await axe.run(document, { resultTypes: ['violations'] });
              return {
                passed: result.passes.map((r) => r.id),
                violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })),
              };
            });
            // axe ran its rules on this screen (contrast among them), not on an empty page.
            expect(violations.passed.length, screen).toBeGreaterThan(20);
            expect(violations.passed, screen).toEqual(expect.arrayContaining(['color-contrast', 'document-title', 'landmark-one-main']));
            if (violations.violations.length) console.info(`axe, ${screen}, ${colorScheme}: ${violations.violations.map((v) => `${v.id} (${v.impact})`).join(', ')}`);
            for (const v of violations.violations) if (v.impact === 'serious' || v.impact === 'critical') found.push(`${screen}: ${v.id} (${v.impact}) at ${v.targets.join(', ')}`);
          }
          expect(found).toEqual([]);
          await page.getByRole('button', { name: 'Lock now' }).click();
        } finally {
          await page.emulateMedia({ colorScheme: 'light' });
        }
      });
    }
  });
  describe('Settings', () => {
    it('asks before leaving with unsaved changes, and stays when the answer is no', async () => {
      await open('settings');
      const ae = page.locator('#intake-ae');
      await ae.fill('DEID_GW2');
      await page.locator('[data-testid="unsaved"]').waitFor();
      const asked: string[] = [];
      page.once('dialog', (d) => { asked.push(d.message()); void d.dismiss(); });
      await page.click('nav a[href="#/studies"]');
      await expect.poll(() => asked).toEqual(['Settings have changes that are not saved. Leave without saving them?']);
      expect(await page.evaluate(() => window.location.hash)).toBe('#/settings');
      expect(await ae.inputValue()).toBe('DEID_GW2');
      page.once('dialog', (d) => void d.accept());
      await page.keyboard.press('Alt+2');
      await page.waitForFunction(() => window.location.hash === '#/studies');
      await open('settings');
      expect(await page.locator('#intake-ae').inputValue()).toBe('DEID_GW');
      expect(await page.locator('[data-testid="unsaved"]').count()).toBe(0);
    });

    it('writes a site code typed in lower case in capitals', async () => {
      await open('settings');
      await page.locator('#site-code').fill('kgh2');
      expect(await page.locator('#site-code').inputValue()).toBe('KGH2');
      expect(await page.locator('[data-testid="error-site-code"]').count()).toBe(0);
    });

    it('never previews a birth date the rule would not write', async () => {
      await open('settings');
      await page.getByLabel('Birth date: day written').fill('31');
      expect(await page.textContent('[data-testid="error-birth-day"]')).toMatch(/Day must be 1–28/);
      const preview = (await page.textContent('[data-testid="birth-preview"]'))!;
      expect(preview).not.toContain('1965-07-31');
      expect(preview).toBe('1965-07-23 → — (fix the rule first)');
      await page.getByLabel('Birth date: day written').fill('3');
      expect(await page.textContent('[data-testid="birth-preview"]')).toBe('1965-07-23 → 1965-07-03');
    });

    it('marks no field wrong before anything is typed in it', async () => {
      await open('settings');
      await page.locator('#dest-type').selectOption('dimse');
      await page.locator('#dest-host').waitFor();
      expect(await page.locator('[aria-invalid="true"]').count()).toBe(0);
      expect(await page.locator('.field.invalid').count()).toBe(0);
      await page.locator('#dest-host').fill('x');
      await page.locator('#dest-host').fill('');
      await page.locator('[data-testid="error-dest-host"]').waitFor();
      // Saving shows every field still missing.
      await page.getByRole('button', { name: 'Test connection' }).click();
      expect(await page.textContent('[data-testid="test-connection-result"]')).toMatch(/^Fix this first: /);
    });

    it('says once, in plain words, that a URL needs its scheme, and clears a test result when the URL changes', async () => {
      await open('settings');
      await page.locator('#dest-url').fill('research.example:8042');
      expect(await page.textContent('[data-testid="error-dest-url"]')).toBe('Destination URL must start with http:// or https://');
      await page.getByRole('button', { name: 'Test connection' }).click();
      const result = page.locator('[data-testid="test-connection-result"]');
      expect(await result.textContent()).toBe('Fix this first: Destination URL must start with http:// or https://');
      await page.locator('#dest-url').fill(orthanc.url);
      expect(await result.textContent()).toBe('');
      await page.getByRole('button', { name: 'Test connection' }).click();
      await expect.poll(() => result.textContent(), { timeout: 20_000 }).toMatch(/^Connection works \(Orthanc [\d.]+\), with a warning\.$/);
      // Plain http draws a warning: shown as a warning, in the warning colour, without a path into the source tree.
      const warnings = page.locator('[data-testid="test-connection-warnings"]');
      expect(await warnings.textContent()).toMatch(/plain http/);
      expect(await warnings.textContent()).not.toMatch(/resources\//);
      const colours = await page.evaluate(() => {
        const probe = (cls: string): string => {
          const el = document.createElement('span');
          el.className = cls;
          document.body.append(el);
          const c = getComputedStyle(el).color;
          el.remove();
          return c;
        };
        return { warning: getComputedStyle(document.querySelector('[data-testid="test-connection-warnings"]')!).color, ok: probe('ok'), warn: probe('warning') };
      });
      expect(colours.warning).toBe(colours.warn);
      expect(colours.warning).not.toBe(colours.ok);
      await page.locator('#dest-url').fill(`${orthanc.url}/`);
      expect(await result.textContent()).toBe('');
      expect(await warnings.count()).toBe(0);
    });
  });
});
