import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { generateMammograms, storescu, PYDICOM_TEST_FILES } from '../support/dicom-tools';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface DescribedEntry {
  name: string;
  present: string;
}

/** The rows of privacy.md's "In the data folder" table: the entry (first cell, one code span) and when it is present. */
function describedEntries(): DescribedEntry[] {
  const text = fs.readFileSync(path.join(ROOT, 'docs/privacy.md'), 'utf8');
  const section = /### In the data folder\n([\s\S]*?)\n### /.exec(text)?.[1];
  if (!section) throw new Error('docs/privacy.md has no "### In the data folder" section');
  return section
    .split('\n')
    .filter((line) => /^\| `[^`]+` \|/.test(line))
    .map((line) => {
      const cells = line.split('|').map((c) => c.trim());
      return { name: cells[1]!.replace(/`/g, '').replace(/\/$/, ''), present: cells[2]! };
    });
}

const topLevel = (dir: string): string[] => fs.readdirSync(dir).sort();

describe('docs/privacy.md describes every entry of the data folder a run creates', () => {
  let gateway: GatewayProcess;
  const seen = new Set<string>();

  beforeAll(async () => {
    const [port, mammograms] = await Promise.all([freePort(), generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '2'])]);
    // No destination: instances wait in the outbox, so the run leaves files in every folder the gateway keeps.
    gateway = await startGateway({ intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] } });
    const sent = mammograms.files.map((f) => path.join(mammograms.dir, f.file));
    // A secondary capture without Burned In Annotation is held for review: its original goes to quarantine.
    const held = path.join(PYDICOM_TEST_FILES, 'SC_rgb_small_odd.dcm');
    await storescu(port, [...sent, held]);
    const outbox = path.join(gateway.dataDir, 'outbox');
    const quarantine = path.join(gateway.dataDir, 'quarantine');
    await waitFor('the mammograms de-identified into the outbox', () => (fs.readdirSync(outbox).length >= sent.length ? true : undefined), 60_000, 100);
    await waitFor('the secondary capture held in quarantine', () => (fs.readdirSync(quarantine).length >= 1 ? true : undefined), 60_000, 100);
    for (const entry of topLevel(gateway.dataDir)) seen.add(entry);
    expect(await gateway.stop()).toBe(0);
    for (const entry of topLevel(gateway.dataDir)) seen.add(entry);
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('describes every top-level entry seen while running and after stopping', () => {
    const described = new Set(describedEntries().map((e) => e.name));
    const undescribed = [...seen].filter((entry) => !described.has(entry));
    expect(
      undescribed,
      `The data folder holds ${undescribed.join(', ')}, which docs/privacy.md ("In the data folder") does not describe: add a row saying what it holds, whether it holds PHI and in which form, and for how long`,
    ).toEqual([]);
    // The run did create the folders it should: the check above had something to check.
    expect([...seen]).toEqual(expect.arrayContaining(['spool', 'outbox', 'quarantine', 'gateway.db']));
  });

  it('every entry described as always present was there', () => {
    const always = describedEntries().filter((e) => e.present === 'always');
    expect(always.length).toBeGreaterThan(0);
    const missing = always.filter((e) => !seen.has(e.name)).map((e) => e.name);
    expect(missing, `docs/privacy.md says these are always in the data folder, but the run did not create them: ${missing.join(', ')}`).toEqual([]);
  });
});
