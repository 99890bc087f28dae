export { openDatabase, DatabaseKeyError, type GatewayDatabase } from './database';
export { migrate, DatabaseTooNewError, type Migration } from './migrate';
export { DeferredSync } from './deferred-sync';
