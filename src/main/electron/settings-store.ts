import { GatewaySettings, describeSettingsProblems } from '../../shared/settings';
import type { KeychainSecrets, KeyValueStore } from './secrets';

export class DesktopSettingsInvalid extends Error {
  constructor(readonly problems: string[]) {
    super(`Settings are not valid:\n  ${problems.join('\n  ')}`);
    this.name = 'DesktopSettingsInvalid';
  }
}

const SETTINGS_KEY = 'gateway';
const DESTINATION_PASSWORD = 'destinationPassword';

/**
 * The desktop app's settings: the same schema and validation as the headless settings file, kept in
 * electron-store, with the destination password split off into the keychain-backed secrets.
 */
export class DesktopSettings {
  constructor(
    private readonly store: KeyValueStore,
    private readonly secrets: KeychainSecrets,
  ) {}

  load(): GatewaySettings {
    const parsed = GatewaySettings.safeParse(this.store.get(SETTINGS_KEY) ?? {});
    if (!parsed.success) throw new DesktopSettingsInvalid(describeSettingsProblems(parsed.error));
    const settings = parsed.data;
    if (settings.destination) settings.destination = { ...settings.destination, password: this.secrets.get(DESTINATION_PASSWORD) ?? '' };
    return settings;
  }

  /** Validates first, so an invalid change leaves the saved settings as they were. */
  save(candidate: unknown): GatewaySettings {
    const parsed = GatewaySettings.safeParse(candidate);
    if (!parsed.success) throw new DesktopSettingsInvalid(describeSettingsProblems(parsed.error));
    const settings = parsed.data;
    if (settings.destination?.password) this.secrets.set(DESTINATION_PASSWORD, settings.destination.password);
    else this.secrets.delete(DESTINATION_PASSWORD);
    const { destination, ...rest } = settings;
    this.store.set(SETTINGS_KEY, destination ? { ...rest, destination: { ...destination, password: '' } } : rest);
    return settings;
  }
}
