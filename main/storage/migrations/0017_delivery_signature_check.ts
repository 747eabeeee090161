import type { Migration } from './migration.js';

/**
 * What became of a delivery's signature check: `passed`, `failed`, `none`
 * (the trigger has no signature scheme) or `not-reached` (refused before it,
 * as a disabled trigger's delivery is). The inspector said "did not verify —
 * check the secret" for every unverified delivery, worded from the trigger's
 * scheme of now; rows from before stay NULL: not known.
 */
export const migration0017: Migration = {
  version: 17,
  name: 'delivery_signature_check',
  up: (db) => {
    db.exec('ALTER TABLE deliveries ADD COLUMN signature_check TEXT');
  },
};
