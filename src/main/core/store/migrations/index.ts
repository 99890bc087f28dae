import type { Migration } from '../migrate';
import { migration0010 } from './0010-create-crosswalk-and-jobs';
import { migration0030 } from './0030-audit-doctor-retention';

export const migrations: readonly Migration[] = [migration0010, migration0030];
