import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GatewaySettings, describeSettingsProblems } from '../../shared/settings';
import { createGateway } from '../core/gateway';
import { createDispatcher } from '../core/api';
import { startApiServer, type ApiServer } from './api-server';
import { settingsFileStore } from './settings-file';
import { createLogger } from '../core/log';
import { defaultConfigDir, defaultDataDir } from './paths';
import { loadAuditKey, loadDatabaseKey, loadDestinationPassword, type AuditKeySource, type DestinationPasswordSource } from './secrets';
import { describeStartFailure } from '../../shared/start-failure';
import { removeControlFile, writeControlFile } from './control-file';
import { removeApiEndpoint, writeApiEndpoint } from './api-endpoint';

/** Where `vite build` puts the screens (dist/renderer at the repository root). */
const RENDERER_DIR = fileURLToPath(new URL('../../../dist/renderer', import.meta.url));

const USAGE = `Usage: npm run headless -- [--settings FILE] [--data-dir DIR] [--key-file FILE] [--ui-port N] [--url-file FILE] [--export-dir DIR]

  --settings FILE   JSON settings (see README); missing keys take their defaults
  --data-dir DIR    database, spool and outbox (default: ${defaultDataDir()})
  --key-file FILE   database key, created on first start with mode 0600
                    (default: database.key beside the settings file, or in ${defaultConfigDir()});
                    the environment variable DEID_GATEWAY_DB_KEY takes precedence
  --ui-port N       the screens on http://127.0.0.1:N (default: ui.port in the settings, 11180;
                    0: a free port); a one-time address to open them is printed at start-up,
                    and "npm run open" makes a new one
  --url-file FILE   write the one-time address to FILE (mode 0600) instead of printing it
  --export-dir DIR  where the doctor's crosswalk exports (encrypted) wait until the screen fetches them
                    (default: exports in the data folder)`;

export function loadSettingsFile(file: string | undefined): GatewaySettings {
  if (!file) return GatewaySettings.parse({});
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read settings file ${file}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = GatewaySettings.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`Settings file ${file} is not valid:\n  ${describeSettingsProblems(parsed.error).join('\n  ')}`);
  }
  return parsed.data;
}

export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      settings: { type: 'string' },
      'data-dir': { type: 'string' },
      'key-file': { type: 'string' },
      'ui-port': { type: 'string' },
      'url-file': { type: 'string' },
      'export-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const logger = createLogger();
  // The last line, not the fix (intake aborts the one association an error comes from): a stray exception is logged
  // and the gateway keeps serving the others.
  process.on('uncaughtException', (error) => logger.error('uncaught exception: kept serving', { error: error.message }));
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection: kept serving', { error: reason instanceof Error ? reason.message : String(reason) }));
  let settings: GatewaySettings;
  let key: { key: string; source: string };
  let auditKey: AuditKeySource;
  let password: DestinationPasswordSource;
  const dataDir = path.resolve(values['data-dir'] ?? defaultDataDir());
  const settingsFile = values.settings ? path.resolve(values.settings) : undefined;
  const configDir = settingsFile ? path.dirname(settingsFile) : defaultConfigDir();
  try {
    settings = loadSettingsFile(settingsFile);
    const keyFile = path.resolve(values['key-file'] ?? path.join(configDir, 'database.key'));
    key = loadDatabaseKey(keyFile);
    auditKey = loadAuditKey(path.join(path.dirname(keyFile), 'audit.key'));
    password = loadDestinationPassword(path.join(configDir, 'destination.password'), settingsFile, settings.destination?.password ?? '');
    if (settings.destination) settings.destination.password = password.password;
  } catch (error) {
    console.error((error as Error).message);
    console.error(USAGE);
    process.exit(2);
  }
  const gateway = createGateway({ settings, dataDir, databaseKey: key.key, auditKey: { key: auditKey.key, adoptUnkeyedEntries: auditKey.isNew }, logger });
  try {
    await gateway.start();
    // The log is re-signed with a new key by now: it is the settled one.
    auditKey.commit();
  } catch (error) {
    console.error(describeStartFailure(error, settings.intake.port));
    process.exit(1);
  }
  const dispatcher = createDispatcher({
    gateway,
    settingsStore: settingsFileStore(settingsFile, { file: password.file, password: password.password }),
    exportDir: path.resolve(values['export-dir'] ?? path.join(dataDir, 'exports')),
    logger,
  });
  let ui: ApiServer;
  const controlFile = path.join(configDir, 'ui-control.json');
  try {
    const uiPort = Number(values['ui-port'] ?? settings.ui.port);
    if (!Number.isInteger(uiPort) || uiPort < 0 || uiPort > 65535) throw new Error(`--ui-port must be a port number (got ${values['ui-port']})`);
    try {
      ui = await startApiServer({ dispatcher, staticDir: RENDERER_DIR, logger, port: uiPort });
    } catch (error) {
      // The settings' fixed port taken (a second gateway, another program): the screens still start, and say where.
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || values['ui-port'] !== undefined) throw error;
      ui = await startApiServer({ dispatcher, staticDir: RENDERER_DIR, logger, port: 0 });
      logger.warn(`ui port ${uiPort} is in use: the screens are on port ${ui.port} this time (bookmarks of port ${uiPort} will not reach them)`);
    }
  } catch (error) {
    console.error(`The screens could not start: ${(error as Error).message}`);
    await gateway.stop();
    process.exit(1);
  }
  // For `npm run open`: the running gateway's address and control token, readable by this user only. A config
  // folder the service may not write (settings under /etc) only costs `npm run open`; the printed address still works.
  try {
    writeControlFile(controlFile, { origin: ui.origin, token: ui.token, pid: process.pid });
  } catch (error) {
    logger.warn(`cannot write ${controlFile} (${(error as Error).message}): "npm run open" will not find this gateway`);
  }
  // A one-time address: useless once opened and after ONE_TIME_TTL_MS, so a copy in a log or `ps` opens nothing.
  if (values['url-file']) {
    const urlFile = path.resolve(values['url-file']);
    fs.rmSync(urlFile, { force: true });
    fs.writeFileSync(urlFile, `${ui.oneTimeAddress()}\n`, { mode: 0o600, flag: 'wx' });
    console.log(`ui: ${ui.origin} (the one-time address to open is in ${urlFile}; "npm run open" makes a new one)`);
  } else {
    console.log(`ui: open ${ui.oneTimeAddress()}`);
  }
  // For local tools (npm run import) that know the data folder: the address and control token, this user only.
  writeApiEndpoint(dataDir, { url: ui.origin, token: ui.token, pid: process.pid });
  const destination = settings.destination ? settings.destination.url ?? `${settings.destination.host}:${settings.destination.port}` : 'none configured: de-identified instances wait in the outbox';
  logger.info(`data folder ${dataDir}; database key from ${key.source}; audit key from ${auditKey.source}; destination ${destination}${settings.destination?.password ? `, password from ${password.source}` : ''}`);
  logger.info(`ready: accepting DICOM associations for AE title ${settings.intake.aeTitle} on port ${gateway.dicomPort()}`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: stopping intake and finishing work in progress`);
    dispatcher.close();
    removeControlFile(controlFile, process.pid);
    removeApiEndpoint(dataDir);
    ui.close()
      .then(() => gateway.stop())
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: Error) => {
        logger.error(`stop failed: ${error.message}`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

// Run when executed directly (npm run headless), not when imported by the start script.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();
