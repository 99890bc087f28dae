import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/main/core/gateway';
import { createLogger } from '../../src/main/core/log';
import { GatewaySettings } from '../../src/shared/settings';
import { startOrReport, START_FAILURE_TITLE } from '../../src/main/electron/start-failure';
import { databaseKeyFromEnvironment, SecretStorageUnavailable } from '../../src/main/electron/secrets';
import { describeStartFailure } from '../../src/shared/start-failure';

/** The desktop shell's start-up when the gateway cannot start: told in a dialog and the tray, not an unhandled rejection. */
describe('the desktop app when the gateway cannot start', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-failure-'));
  const blockers: net.Server[] = [];
  afterAll(async () => {
    await Promise.all(blockers.map((b) => new Promise((resolve) => b.close(resolve))));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows "port … is in use" in a dialog and the red tray when another program holds the DICOM port', async () => {
    // Another DICOM program on the port: a real listener. (The intake listens on every interface, as dcmjs-dimse does.)
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    blockers.push(blocker);
    const port = (blocker.address() as net.AddressInfo).port;
    const settings = GatewaySettings.parse({ intake: { port } });
    const gateway = createGateway({ settings, dataDir: path.join(dir, 'data'), databaseKey: crypto.randomBytes(32).toString('hex'), logger: createLogger({ sink: () => undefined }) });
    const dialogs: Array<[string, string]> = [];
    const trays: string[] = [];
    const started = await startOrReport(() => gateway.start(), () => port, {
      showDialog: (title, message) => dialogs.push([title, message]),
      showTrayError: (message) => trays.push(message),
    });
    expect(started).toBe(false);
    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]![0]).toBe(START_FAILURE_TITLE);
    expect(dialogs[0]![1]).toMatch(new RegExp(`^Gateway could not start: .*EADDRINUSE.* \\(port ${port} is in use, often by another DICOM program: stop it, or choose another intake\\.port in Settings\\)$`));
    // The tray says the same sentence the dialog did, and the headless runner prints.
    expect(trays).toEqual([dialogs[0]![1]]);
    await gateway.stop().catch(() => undefined);
  });

  it('reports a failure before the gateway exists (a bad key, a keychain that cannot protect it) the same way', async () => {
    const dialogs: string[] = [];
    const started = await startOrReport(async () => {
      databaseKeyFromEnvironment({ DEID_GATEWAY_DB_KEY: 'not-a-key' });
    }, () => undefined, { showDialog: (_t, m) => dialogs.push(m), showTrayError: () => undefined });
    expect(started).toBe(false);
    expect(dialogs).toEqual(['Gateway could not start: DEID_GATEWAY_DB_KEY must be 64 hex characters (a 256-bit key)']);
  });

  it('resolves true and shows nothing when the start succeeds', async () => {
    const shown: string[] = [];
    expect(await startOrReport(async () => undefined, () => 11112, { showDialog: (_t, m) => shown.push(m), showTrayError: (m) => shown.push(m) })).toBe(true);
    expect(shown).toEqual([]);
  });
});

describe('DEID_GATEWAY_DB_KEY in desktop mode', () => {
  it('is taken when it is 64 hex characters, ignored when empty, and refused otherwise', () => {
    const key = 'AB'.repeat(32);
    expect(databaseKeyFromEnvironment({ DEID_GATEWAY_DB_KEY: ` ${key}\n` })).toBe('ab'.repeat(32));
    expect(databaseKeyFromEnvironment({})).toBeUndefined();
    expect(databaseKeyFromEnvironment({ DEID_GATEWAY_DB_KEY: '  ' })).toBeUndefined();
    expect(() => databaseKeyFromEnvironment({ DEID_GATEWAY_DB_KEY: 'ab'.repeat(31) })).toThrow(SecretStorageUnavailable);
    expect(() => databaseKeyFromEnvironment({ DEID_GATEWAY_DB_KEY: `${'ab'.repeat(31)}zz` })).toThrow(/64 hex characters/);
  });
});

describe('the start-failure sentence', () => {
  it('is the headless runner\'s and the desktop\'s, naming the port for EADDRINUSE', () => {
    const error = Object.assign(new Error('listen EADDRINUSE: address already in use :::11112'), { code: 'EADDRINUSE' });
    expect(describeStartFailure(error, 11112)).toBe('Gateway could not start: listen EADDRINUSE: address already in use :::11112 (port 11112 is in use, often by another DICOM program: stop it, or choose another intake.port in Settings)');
    expect(describeStartFailure(new Error('disk full'), 11112)).toBe('Gateway could not start: disk full');
  });
});
