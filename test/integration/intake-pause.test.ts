import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/main/core/gateway';
import { createLogger } from '../../src/main/core/log';
import { GatewaySettings } from '../../src/shared/settings';
import { echoscu, generateMammograms, storescu } from '../support/dicom-tools';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';

/** The tray's "Pause intake": the port closes, work already received goes on, resume listens again. */
describe('pausing and resuming intake', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intake-pause-'));
  let gateway: Gateway;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    const settings = GatewaySettings.parse({ intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] } });
    gateway = createGateway({ settings, dataDir: path.join(dir, 'data'), databaseKey: crypto.randomBytes(32).toString('hex'), logger: createLogger({ sink: () => undefined }) });
    await gateway.start();
  });

  afterAll(async () => {
    await gateway?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses associations while paused, keeps de-identifying what it has, and accepts again after resume', async () => {
    const { dir: files, files: manifest } = await generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '2']);
    const paths = manifest.map((f) => path.join(files, f.file));
    expect((await storescu(port, paths.slice(0, 1))).code).toBe(0);
    await gateway.pauseIntake();
    expect(gateway.intakePaused()).toBe(true);
    expect(gateway.intakeStatus().listening).toBe(false);
    expect((await echoscu(port)).code).not.toBe(0);
    // No destination: what was received before the pause is de-identified and waits in the outbox.
    await waitFor('the received instance de-identified', () => (gateway.counts().deidentified === 1 ? true : undefined), 30_000);
    // A port change while paused takes effect on resume.
    const moved = await freePort();
    const { applied } = await gateway.applySettings({ ...gateway.settings(), intake: { ...gateway.settings().intake, port: moved } });
    expect(applied).toContain('Intake settings apply when intake is resumed');
    await gateway.resumeIntake();
    expect(gateway.intakePaused()).toBe(false);
    expect(gateway.dicomPort()).toBe(moved);
    expect((await storescu(moved, paths.slice(1))).code).toBe(0);
    await waitFor('both instances de-identified', () => (gateway.counts().deidentified === 2 ? true : undefined), 30_000);
  });
});
