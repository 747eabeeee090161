import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../common/errors.js';
import { repoRoot } from '../helpers/serve.js';

describe('docs/errors.md', () => {
  it('lists every error code with its status, and no code that does not exist', () => {
    const page = fs.readFileSync(path.join(repoRoot, 'docs', 'errors.md'), 'utf8');
    const rows = [...page.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((match) => [match[1], Number(match[2])]);
    const catalogue = Object.entries(errorCatalogue).map(([code, entry]) => [code, entry.status]);
    expect(rows.sort()).toEqual(catalogue.sort());
  });
});
