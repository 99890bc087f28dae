import type { Migration } from '../migrate';
import { migration0010 } from './0010-create-crosswalk-and-jobs';
import { migration0030 } from './0030-audit-doctor-retention';
import { migration0040 } from './0040-date-shift-and-release';
import { migration0050 } from './0050-study-completion';
import { migration0060 } from './0060-verification';
import { migration0070 } from './0070-screen-indexes';
import { migration0080 } from './0080-resends-and-holds';
import { migration0090 } from './0090-name-search-key';
import { migration0100 } from './0100-imports';

export const migrations: readonly Migration[] = [migration0010, migration0030, migration0040, migration0050, migration0060, migration0070, migration0080, migration0090, migration0100];
