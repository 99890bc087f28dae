export { createDispatcher, settingsView, NotFound, Refused, type ApiDispatcher, type DispatcherDeps, type SettingsStore } from './dispatcher';
