import os from 'node:os';
import path from 'node:path';

const APP = 'deid-gateway';

/** Where the gateway keeps its data (database, spool, outbox) by default: the user's app-data folder. */
export function defaultDataDir(): string {
  if (process.platform === 'win32') return path.join(process.env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), APP, 'data');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', APP, 'data');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), APP);
}

/** Where settings and the database key live by default: apart from the data, so a copied data folder reveals nothing. */
export function defaultConfigDir(): string {
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), APP);
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Preferences', APP);
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), APP);
}
