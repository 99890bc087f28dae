import fs from 'node:fs';
import path from 'node:path';
import { main } from './cli';
import { defaultConfigDir } from './paths';

/**
 * `npm start` where the Electron runtime is missing: the headless gateway with the user's own settings
 * file (created on first start, with no destination, so studies wait in the outbox until one is set).
 */
const settingsFile = path.join(defaultConfigDir(), 'settings.json');
if (!fs.existsSync(settingsFile)) {
  fs.mkdirSync(path.dirname(settingsFile), { recursive: true, mode: 0o700 });
  const defaults = { intake: { aeTitle: 'DEID_GW', port: 11112, allowedCallingAeTitles: [] }, deid: { birthDate: { keep: 'month', day: 15 } } };
  fs.writeFileSync(settingsFile, `${JSON.stringify(defaults, null, 2)}\n`, { mode: 0o600 });
  console.log(`Created ${settingsFile}: add a "destination" (research Orthanc URL, user, password) to start uploading.`);
}
console.log(`Settings: ${settingsFile}`);
void main(['--settings', settingsFile, ...process.argv.slice(2)]);
