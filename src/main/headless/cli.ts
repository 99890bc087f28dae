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
import { loadDatabaseKey } from './secrets';
import { removeApiEndpoint, writeApiEndpoint } from './api-endpoint';

/** Where `vite build` puts the screens (dist/renderer at the repository root). */
const RENDERER_DIR = fileURLToPath(new URL('../../../dist/renderer', import.meta.url));

const USAGE = `Usage: npm run headless -- [--settings FILE] [--data-dir DIR] [--key-file FILE] [--ui-port N] [--export-dir DIR]

  --settings FILE   JSON settings (see README); missing keys take their defaults
  --data-dir DIR    database, spool and outbox (default: ${defaultDataDir()})
  --key-file FILE   database key, created on first start with mode 0600
                    (default: database.key beside the settings file, or in ${defaultConfigDir()});
                    the environment variable DEID_GATEWAY_DB_KEY takes precedence
  --ui-port N       the screens on http://127.0.0.1:N (default: a free port); the address to open,
                    with its one-time token, is printed at start-up
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
      'export-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const logger = createLogger();
  let settings: GatewaySettings;
  let key: { key: string; source: string };
  const dataDir = path.resolve(values['data-dir'] ?? defaultDataDir());
  try {
    settings = loadSettingsFile(values.settings);
    const keyFile = values['key-file'] ?? path.join(values.settings ? path.dirname(path.resolve(values.settings)) : defaultConfigDir(), 'database.key');
    key = loadDatabaseKey(path.resolve(keyFile));
  } catch (error) {
    console.error((error as Error).message);
    console.error(USAGE);
    process.exit(2);
  }
  const gateway = createGateway({ settings, dataDir, databaseKey: key.key, logger });
  try {
    await gateway.start();
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const hint = e.code === 'EADDRINUSE' ? ` (port ${settings.intake.port} is in use: choose another intake.port)` : '';
    console.error(`Gateway could not start: ${e.message}${hint}`);
    process.exit(1);
  }
  const dispatcher = createDispatcher({
    gateway,
    settingsStore: settingsFileStore(values.settings ? path.resolve(values.settings) : undefined),
    exportDir: path.resolve(values['export-dir'] ?? path.join(dataDir, 'exports')),
    logger,
  });
  let ui: ApiServer;
  try {
    const uiPort = Number(values['ui-port'] ?? 0);
    if (!Number.isInteger(uiPort) || uiPort < 0 || uiPort > 65535) throw new Error(`--ui-port must be a port number (got ${values['ui-port']})`);
    ui = await startApiServer({ dispatcher, staticDir: RENDERER_DIR, logger, port: uiPort });
  } catch (error) {
    console.error(`The screens could not start: ${(error as Error).message}`);
    await gateway.stop();
    process.exit(1);
  }
  // The token is the key to the screens: printed for the person who started the gateway, never logged.
  console.log(`ui: open ${ui.url}`);
  // For local tools (npm run import): the address and token, readable by this user only.
  writeApiEndpoint(dataDir, { url: `http://127.0.0.1:${ui.port}`, token: ui.token, pid: process.pid });
  const destination = settings.destination ? settings.destination.url ?? `${settings.destination.host}:${settings.destination.port}` : 'none configured: de-identified instances wait in the outbox';
  logger.info(`data folder ${dataDir}; database key from ${key.source}; destination ${destination}`);
  logger.info(`ready: accepting DICOM associations for AE title ${settings.intake.aeTitle} on port ${gateway.dicomPort()}`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: stopping intake and finishing work in progress`);
    dispatcher.close();
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
