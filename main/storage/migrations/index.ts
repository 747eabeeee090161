import { migration0001 } from './0001_settings.js';
import type { Migration } from './migration.js';

/** Every migration, in order. Append only: a released migration is never edited. */
export const migrations: readonly Migration[] = [migration0001];
