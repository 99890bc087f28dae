import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/main/core/gateway';
import { createDispatcher, type ApiDispatcher } from '../../src/main/core/api';
import { createLogger } from '../../src/main/core/log';
import { openDatabase } from '../../src/main/core/store';
import { settingsFileStore } from '../../src/main/headless/settings-file';
import { startApiServer, type ApiServer } from '../../src/main/headless/api-server';
import { GatewaySettings } from '../../src/shared/settings';
import type { ApiResult, SaveSettingsResult, SettingsView } from '../../src/shared/api';
import { echoscu } from '../support/dicom-tools';
import { freePort } from '../support/ports';

/** The dispatcher every transport uses, against a real gateway on a temp folder: bad input gets a clear, typed error. */
describe('the screens\' API dispatcher', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-dispatcher-'));
  const settingsFile = path.join(dir, 'settings.json');
  const dataDir = path.join(dir, 'data');
  const databaseKey = crypto.randomBytes(32).toString('hex');
  let gateway: Gateway;
  let dispatcher: ApiDispatcher;
  let server: ApiServer;
  let port: number;

  const call = <T = unknown>(method: string, input: unknown): Promise<ApiResult<T>> => dispatcher.call(method, input) as Promise<ApiResult<T>>;
  const errorOf = async (method: string, input: unknown) => {
    const r = await call(method, input);
    if (r.ok) throw new Error(`${method} succeeded with ${JSON.stringify(r.value)}`);
    return r.error;
  };
  const valueOf = async <T>(method: string, input: unknown): Promise<T> => {
    const r = await call<T>(method, input);
    if (!r.ok) throw new Error(`${method} failed: ${r.error.message}`);
    return r.value;
  };
  const echoes = async (p: number): Promise<boolean> => (await echoscu(p)).code === 0;

  beforeAll(async () => {
    port = await freePort();
    const raw = {
      site: { code: 'KGH' },
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: 'http://127.0.0.1:9', username: 'gateway', password: 'saved-secret' },
    };
    fs.writeFileSync(settingsFile, JSON.stringify(raw));
    gateway = createGateway({ settings: GatewaySettings.parse(raw), dataDir, databaseKey, logger: createLogger({ sink: () => undefined }) });
    await gateway.start();
    dispatcher = createDispatcher({ gateway, settingsStore: settingsFileStore(settingsFile), exportDir: path.join(dir, 'exports'), logger: createLogger({ sink: () => undefined }) });
    server = await startApiServer({ dispatcher, staticDir: path.join(dir, 'no-renderer'), logger: createLogger({ sink: () => undefined }) });
  });

  afterAll(async () => {
    await server?.close();
    dispatcher?.close();
    await gateway?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names an unknown method', async () => {
    expect(await errorOf('dropAllTables', {})).toEqual({ code: 'unknown-method', message: 'No API method named "dropAllTables"' });
  });

  it('refuses input that does not match the contract, naming the field and the rule', async () => {
    const limit = await errorOf('listStudies', { limit: 0 });
    expect(limit.code).toBe('invalid-input');
    expect(limit.issues).toEqual([{ path: 'limit', message: 'Limit is at least 1' }]);
    expect((await errorOf('listStudies', { search: 42 })).issues?.[0]?.path).toBe('search');
    const extra = await errorOf('listStudies', { limit: 10, orderBy: 'name; DROP TABLE patients' });
    expect(extra.code).toBe('invalid-input');
    expect(extra.message).toMatch(/orderBy/);
    expect((await errorOf('getStudy', { studyKey: 'one' })).issues?.[0]).toEqual({ path: 'studyKey', message: 'Expected a whole number' });
    expect((await errorOf('resendStudy', { researchStudyUid: 'KGH-123' })).message).toMatch(/digits and dots/);
    expect((await errorOf('crosswalkExport', { token: 't', password: 'p', confirmation: 'p', filter: { kind: 'everything' }, exportId: 'short' })).issues?.map((i) => i.path).sort()).toEqual(['exportId', 'filter.kind']);
  });

  it('answers not-found and locked with their own codes', async () => {
    expect((await errorOf('getStudy', { studyKey: 999 })).code).toBe('not-found');
    expect((await errorOf('resendStudy', { researchStudyUid: '2.25.1' })).code).toBe('not-found');
    const locked = await errorOf('crosswalkLookup', { token: 'not-a-session', researchId: 'KGH-AAAAAAAA' });
    expect(locked.code).toBe('locked');
    expect(locked.message).toMatch(/unlock with the doctor password/);
  });

  it('never sends the destination password back; an empty password field keeps the saved one, kept apart from the settings file', async () => {
    const view = await valueOf<SettingsView>('getSettings', {});
    expect(view.settings.destination?.password).toBe('');
    expect(view.destinationPasswordSet).toBe(true);
    expect(JSON.stringify(view)).not.toContain('saved-secret');
    const saved = await valueOf<SaveSettingsResult>('saveSettings', { settings: { ...view.settings, deid: { ...view.settings.deid, birthDate: { keep: 'month', day: 1, month: 7 } } } });
    expect(JSON.stringify(saved)).not.toContain('saved-secret');
    const onDisk = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as GatewaySettings;
    // The password goes to its own 0600 file beside the settings, never into settings.json.
    expect(onDisk.destination?.password).toBe('');
    expect(fs.readFileSync(settingsFile, 'utf8')).not.toContain('saved-secret');
    const passwordFile = path.join(dir, 'destination.password');
    expect(fs.readFileSync(passwordFile, 'utf8')).toBe('saved-secret\n');
    expect(fs.statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(onDisk.deid.birthDate.day).toBe(1);
    expect(gateway.settings().deid.birthDate.day).toBe(1);
  });

  it('refuses invalid settings field by field and leaves the file as it was', async () => {
    const before = fs.readFileSync(settingsFile, 'utf8');
    const { settings } = await valueOf<SettingsView>('getSettings', {});
    const error = await errorOf('saveSettings', {
      settings: { ...settings, intake: { ...settings.intake, port: 70000, aeTitle: '' }, deid: { ...settings.deid, birthDate: { keep: 'month', day: 31, month: 7 } } },
    });
    expect(error.code).toBe('invalid-input');
    const byPath: Record<string, string> = {};
    for (const i of error.issues ?? []) byPath[i.path] ??= i.message;
    expect(Object.keys(byPath).sort()).toEqual(['settings.deid.birthDate.day', 'settings.intake.aeTitle', 'settings.intake.port']);
    expect(byPath['settings.deid.birthDate.day']).toBe('Day must be 1–28 (so it exists in every month)');
    expect(byPath['settings.intake.aeTitle']).toBe('AE title must not be empty');
    expect(fs.readFileSync(settingsFile, 'utf8')).toBe(before);
  });

  it('moves the DICOM listener to a new port without a restart, and stays on the old one if the new port is taken', async () => {
    const { settings } = await valueOf<SettingsView>('getSettings', {});
    const next = await freePort();
    const saved = await valueOf<SaveSettingsResult>('saveSettings', { settings: { ...settings, intake: { ...settings.intake, port: next } } });
    expect(saved.applied.join(' ')).toContain(`port ${next}`);
    expect(await echoes(next)).toBe(true);
    expect(await echoes(port)).toBe(false);

    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const busy = (taken.address() as net.AddressInfo).port;
    try {
      const before = fs.readFileSync(settingsFile, 'utf8');
      const error = await errorOf('saveSettings', {
        settings: { ...settings, intake: { ...settings.intake, port: busy }, deid: { ...settings.deid, birthDate: { keep: 'year', day: 2, month: 3 } } },
      });
      expect(error.code).toBe('refused');
      expect(error.message).toBe(`The DICOM listener could not start on port ${busy} (port ${busy} is in use by another program): it still listens on port ${next}`);
      expect(await echoes(next)).toBe(true);
      expect(fs.readFileSync(settingsFile, 'utf8')).toBe(before);
      expect(gateway.settings().intake.port).toBe(next);
      // Nothing of the refused change applies, not even its other sections.
      expect(gateway.settings().deid.birthDate).toEqual(settings.deid.birthDate);
    } finally {
      taken.close();
    }
  });

  it('applies two saves made at the same moment one after the other: the listener ends on the last port', async () => {
    const { settings } = await valueOf<SettingsView>('getSettings', {});
    const [first, second] = [await freePort(), await freePort()];
    const results = await Promise.all([first, second].map((p) => call('saveSettings', { settings: { ...settings, intake: { ...settings.intake, port: p } } })));
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(gateway.intakeStatus().port).toBe(second);
    expect(await echoes(second)).toBe(true);
    expect(await echoes(first)).toBe(false);
    expect((JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as GatewaySettings).intake.port).toBe(second);
  });

  it('pages and searches tens of thousands of studies quickly', async () => {
    // Seeded straight into the database (the gateway keeps running on it), as 40,000 studies would take long to send.
    const db = openDatabase(path.join(dataDir, 'gateway.db'), databaseKey);
    try {
      const now = new Date().toISOString();
      const patient = db.prepare(`INSERT INTO patients (research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES (?, ?, '', ?, '19650723', 'F', ?)`);
      const study = db.prepare(`INSERT INTO studies (patient_ref, study_uid, research_study_uid, study_date, accession_number, research_accession_number, study_id, research_study_id, modality, created_at)
        VALUES (?, ?, ?, '20240311', '', '', '', '', 'MG', ?)`);
      const instance = db.prepare(`INSERT INTO instances (sop_instance_uid, research_sop_instance_uid, study_ref, state, spool_path, calling_ae_title, size_bytes, received_at, updated_at)
        VALUES (?, ?, ?, ?, '/nowhere', 'MAMMO', 1000, ?, ?)`);
      db.transaction(() => {
        for (let n = 1; n <= 40_000; n += 1) {
          const p = Number(patient.run(`KGH-S${String(n).padStart(7, '0')}`, `MRN${n}`, n === 31_337 ? 'RAREFAMILY^ANNA' : `FAMILY${n % 100}^GIVEN`, now).lastInsertRowid);
          const s = Number(study.run(p, `1.2.3.${n}`, `2.25.${n}`, now).lastInsertRowid);
          for (const view of [1, 2]) instance.run(`1.2.3.${n}.${view}`, `2.25.${n}.${view}`, s, n % 1000 === 0 && view === 2 ? 'failed' : 'uploaded', now, now);
        }
      })();
    } finally {
      db.close();
    }
    const started = performance.now();
    const page = await valueOf<{ total: number; rows: Array<{ researchId: string; state: string; instances: number }> }>('listStudies', { offset: 20_000, limit: 50 });
    const elapsed = performance.now() - started;
    expect(page.total).toBe(40_000);
    expect(page.rows).toHaveLength(50);
    expect(page.rows[0]!.researchId).toBe('KGH-S0020000');
    expect(page.rows[0]!.state).toBe('failed');
    expect(page.rows[1]!).toMatchObject({ state: 'complete', instances: 2 });
    expect(elapsed).toBeLessThan(1000);

    const found = await valueOf<{ total: number; rows: Array<{ patientName: string }> }>('listStudies', { search: 'anna rarefamily' });
    expect(found.total).toBe(1);
    expect(found.rows[0]!.patientName).toBe('RAREFAMILY, ANNA');
    expect((await valueOf<{ total: number }>('listStudies', { state: 'failed' })).total).toBe(40);
    // LIKE wildcards in the search are literal characters.
    expect((await valueOf<{ total: number }>('listStudies', { search: '%' })).total).toBe(0);
  });

  it('over HTTP: 401 without the token or with a wrong one, 403 for a foreign host name, 400 for a body that is not JSON', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const post = (headers: Record<string, string>, body = '{}') => fetch(`${base}/api/getStatus`, { method: 'POST', headers, body });
    expect((await post({})).status).toBe(401);
    expect((await post({ 'X-Gateway-Token': `${server.token.slice(0, -1)}x` })).status).toBe(401);
    const ok = await post({ 'X-Gateway-Token': server.token });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as ApiResult<unknown>).ok).toBe(true);
    expect((await post({ 'X-Gateway-Token': server.token }, '{ not json')).status).toBe(400);
    const invalid = await fetch(`${base}/api/listStudies`, { method: 'POST', headers: { 'X-Gateway-Token': server.token }, body: '{"limit":-1}' });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as ApiResult<unknown>)).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
    // A DNS name pointed at 127.0.0.1 by another site (rebinding) is not served, even with the token.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = net.connect(server.port, '127.0.0.1', () => {
        req.write(`POST /api/getStatus HTTP/1.1\r\nHost: evil.example:${server.port}\r\nX-Gateway-Token: ${server.token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      });
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1])));
      req.on('error', reject);
    });
    expect(rebound).toBe(403);
  });
});
