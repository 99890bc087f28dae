import type { Migration } from '../migrate';
import { migration0010 } from './0010-create-crosswalk-and-jobs';

export const migrations: readonly Migration[] = [migration0010];
