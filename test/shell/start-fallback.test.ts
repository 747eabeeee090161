import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { repoRoot, runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

describe('npm start without the Electron runtime', () => {
  it('says so and runs agented serve, which serves and stops on SIGTERM', async () => {
    const temp = makeTempDir();
    const start = runCli({
      // `npm start` is `npm run build && node scripts/start.mjs`; the build already ran.
      wrap: () => ['node', path.join(repoRoot, 'scripts', 'start.mjs'), '--port', '0'],
      env: { HOME: temp.dir, AGENTED_API_KEY: 'start-test-key-0123456789abcdefgh', AGENTED_DATA_DIR: `${temp.dir}/data`, AGENTED_LOG_DIR: `${temp.dir}/logs` },
    });
    try {
      const ready = await start.ready;
      expect(start.stderr.join('\n')).toMatch(/Electron runtime not found.*running `agented serve` instead/);
      expect((await request(ready.url, { path: '/health/live' })).status).toBe(200);
    } finally {
      expect(await start.stop('SIGTERM')).toBe(0);
      temp.remove();
    }
  });
});
