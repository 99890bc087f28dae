import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, Menu, Notification, Tray, dialog, nativeImage, safeStorage, session, shell, ipcMain } from 'electron';
import Store from 'electron-store';
import { createGateway, type Gateway } from '../core/gateway';
import { createDispatcher, type ApiDispatcher } from '../core/api';
import { createLogger } from '../core/log';
import { KeychainSecrets, databaseKeyFromEnvironment, desktopAuditKey } from './secrets';
import { DesktopSettings } from './settings-store';
import { startOrReport } from './start-failure';
import { WEB_PREFERENCES, hardenContents, hardenSession } from './security';
import { trayStatus, RECEIVING_WINDOW_MS, type TrayState } from './tray-state';
import { NoticePlanner } from './notifications';
import { WindowPolicy } from './window-policy';
import { registerIpc } from './ipc';

/**
 * The desktop shell: a tray app over the same core the headless runner wires (createGateway + the API
 * dispatcher), with the screens in a hardened window. Everything here is Electron glue; the decisions live in
 * tray-state, notifications, window-policy, security, secrets and settings-store, which are tested without it.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
// dist/main/electron/main.js → the app root, where dist/renderer and resources/tray sit.
const APP_ROOT = path.resolve(HERE, '../../..');
const RENDERER_INDEX = path.join(APP_ROOT, 'dist/renderer/index.html');
const PRELOAD = path.join(APP_ROOT, 'dist/main/preload/preload.cjs');
const TRAY_ICONS = path.join(APP_ROOT, 'resources/tray');
const APP_URL = pathToFileURL(RENDERER_INDEX).href;

const logger = createLogger();
const log = logger.child('desktop');
const policy = new WindowPolicy();
let window: BrowserWindow | undefined;
let tray: Tray | undefined;
let gateway: Gateway | undefined;
let dispatcher: ApiDispatcher | undefined;
let lastReceivedAt: number | undefined;
let trayRefresh: ReturnType<typeof setTimeout> | undefined;

function openWindow(): void {
  if (window) {
    window.show();
    window.focus();
    return;
  }
  window = new BrowserWindow({
    width: 1366,
    height: 768,
    minWidth: 1024,
    minHeight: 640,
    show: false,
    title: 'De-identification gateway',
    icon: path.join(APP_ROOT, 'resources/icon.png'),
    webPreferences: { ...WEB_PREFERENCES, preload: PRELOAD },
  });
  hardenContents(window.webContents, APP_URL, (m) => log.warn(m));
  window.once('ready-to-show', () => window?.show());
  window.on('close', (event) => {
    if (!policy.hideInsteadOfClose()) return;
    event.preventDefault();
    window?.hide();
  });
  window.on('closed', () => (window = undefined));
  void window.loadFile(RENDERER_INDEX, { hash: '/status' });
}

function trayIcon(state: TrayState): Electron.NativeImage {
  return nativeImage.createFromPath(path.join(TRAY_ICONS, `${state}.png`));
}

function refreshTray(): void {
  if (!tray || !gateway) return;
  const { state, tooltip } = trayStatus({ counts: gateway.counts(), lastReceivedAt, paused: gateway.intakePaused(), now: Date.now() });
  tray.setImage(trayIcon(state));
  tray.setToolTip(tooltip);
  shellState.trayState = state;
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: 'Open', click: openWindow },
      gateway.intakePaused()
        ? { label: 'Resume intake', click: () => void gateway?.resumeIntake().then(refreshTray, (e: Error) => log.error(`intake could not resume: ${e.message}`)) }
        : { label: 'Pause intake', click: () => void gateway?.pauseIntake().then(refreshTray) },
      { label: 'Open data folder', click: () => void shell.openPath(dataDir()) },
      { type: 'separator' },
      { label: 'Start at login', type: 'checkbox', checked: app.getLoginItemSettings().openAtLogin, click: (item) => app.setLoginItemSettings({ openAtLogin: item.checked }) },
      { type: 'separator' },
      { label: 'Quit', click: () => app.quit() },
    ]),
  );
}

const dataDir = (): string => path.join(app.getPath('userData'), 'data');

/** What a test (Playwright's _electron) can read from the main process. */
const shellState: { trayState?: TrayState; startFailure?: string } = {};
let intakePort: number | undefined;

/** The gateway did not start: the tray stays, red, saying why, with only Quit (and the dialog already shown). */
function showTrayError(message: string): void {
  shellState.trayState = 'error';
  shellState.startFailure = message;
  if (!tray) return;
  tray.setImage(trayIcon('error'));
  tray.setToolTip(message);
  tray.setContextMenu(Menu.buildFromTemplate([{ label: message, enabled: false }, { type: 'separator' }, { label: 'Quit', click: () => app.quit() }]));
}
(globalThis as { deidGatewayShell?: typeof shellState }).deidGatewayShell = shellState;

async function startCore(): Promise<void> {
  const store = new Store({ name: 'settings' });
  const secrets = new KeychainSecrets(store, safeStorage);
  const desktopSettings = new DesktopSettings(store, secrets);
  // A keychain that cannot protect the keys, a damaged settings file, a bad DEID_GATEWAY_DB_KEY: thrown, and shown by startOrReport.
  const settings = desktopSettings.load();
  intakePort = settings.intake.port;
  // IT may supply the key as the headless runner takes it (a managed machine without a keychain).
  const databaseKey = databaseKeyFromEnvironment(process.env) ?? secrets.databaseKey();
  const auditKey = desktopAuditKey(secrets, process.env);
  log.info(`audit key from ${auditKey.source}`);
  fs.mkdirSync(dataDir(), { recursive: true, mode: 0o700 });
  const starting = createGateway({
    settings, dataDir: dataDir(), databaseKey, logger,
    auditKey: auditKey.key === undefined ? undefined : { key: auditKey.key, adoptUnkeyedEntries: auditKey.isNew },
  });
  await starting.start();
  auditKey.commit();
  gateway = starting;
  dispatcher = createDispatcher({
    gateway,
    settingsStore: { canSave: true, save: async (next) => void desktopSettings.save(next) },
    exportDir: path.join(app.getPath('userData'), 'exports'),
    logger,
  });
  const chooseFolder = async (): Promise<string | null> => {
    const options = { title: 'Folder, disk or DICOMDIR to import', properties: ['openDirectory' as const] };
    const chosen = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
    return chosen.canceled ? null : (chosen.filePaths[0] ?? null);
  };
  registerIpc(ipcMain, dispatcher, APP_URL, () => window?.webContents, (m) => log.warn(m), chooseFolder);
  const notices = new NoticePlanner((n) => new Notification({ title: n.title, body: n.body }).show());
  gateway.on('instance', (event) => {
    if (event.state === 'received') lastReceivedAt = Date.now();
    notices.onInstance(event);
    // Several events an instance, hundreds a minute under load: one tray update per half second is enough.
    trayRefresh ??= setTimeout(() => {
      trayRefresh = undefined;
      refreshTray();
    }, 500);
  });
  // The receiving colour fades back by itself.
  setInterval(refreshTray, RECEIVING_WINDOW_MS / 2).unref();
  log.info(`ready: accepting DICOM associations for AE title ${settings.intake.aeTitle} on port ${gateway.dicomPort()}`);
}

// A separate profile (IT, tests): settings, key and data under this folder instead of the user's app-data folder.
const userDataArg = process.argv.find((a) => a.startsWith('--user-data-dir='));
if (userDataArg) app.setPath('userData', path.resolve(userDataArg.slice('--user-data-dir='.length)));

if (!app.requestSingleInstanceLock()) {
  // A second launch only brings the running one's window forward.
  app.quit();
} else {
  app.on('second-instance', openWindow);
  app.on('before-quit', () => policy.beginQuit());
  app.on('window-all-closed', () => {
    if (policy.quitWhenAllWindowsClosed()) app.quit();
  });
  app.on('web-contents-created', (_event, contents) => hardenContents(contents, APP_URL, (m) => log.warn(m)));
  let stopped = false;
  app.on('will-quit', (event) => {
    if (stopped || !gateway) return;
    event.preventDefault();
    // Stop intake and let work in progress finish, as the headless runner does on SIGTERM.
    void gateway.stop().finally(() => {
      stopped = true;
      dispatcher?.close();
      app.quit();
    });
  });
  void app.whenReady().then(async () => {
    hardenSession(session.defaultSession);
    tray = new Tray(trayIcon('idle'));
    tray.on('click', openWindow);
    const started = await startOrReport(startCore, () => intakePort, {
      showDialog: (title, message) => {
        log.error(message);
        dialog.showErrorBox(title, message);
      },
      showTrayError,
    });
    if (!started) return;
    refreshTray();
    if (!process.argv.includes('--hidden')) openWindow();
  });
}
