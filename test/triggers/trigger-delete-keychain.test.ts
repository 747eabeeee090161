import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { TriggerCreated } from '../../common/triggers.js';
import { githubExample, githubHeaders } from '../helpers/github-deliveries.js';
import { request } from '../helpers/http.js';
import { keychainHome, keyShowIn, serveWithKeychain } from '../helpers/keychain-serve.js';

const cleanups: (() => void | Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('deleting a trigger whose secret is in the OS keychain', () => {
  it('while its deliveries are prepared: none is accepted once the trigger row is gone, and none is left behind', async () => {
    const home = keychainHome(cleanups);
    const key = await keyShowIn(home);
    const server = serveWithKeychain(home);
    cleanups.push(() => server.killGroup('SIGKILL'));
    const { url } = await server.ready;
    const api = (method: string, target: string, body?: unknown) =>
      request(url, { method, path: target, body: body === undefined ? undefined : JSON.stringify(body), headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
    const example = githubExample('pull_request', 'opened') as Record<string, unknown>;

    // The keychain's delete is a D-Bus round trip: deliveries whose preparation ends during it must not slip in.
    for (let round = 0; round < 6; round += 1) {
      const created = (await api('POST', '/api/triggers', { name: `deleted ${round}`, kind: 'github', promptTemplate: 'Review', github: { events: ['pull_request.opened'] } })).json<TriggerCreated>();
      const bodies = Array.from({ length: 40 }, (_, index) => JSON.stringify({ ...example, padding: `${index} ${'x'.repeat(200_000)}` }));
      const answers = bodies.map((body) => request(url, { method: 'POST', path: `/hooks/${created.id}`, body, headers: githubHeaders({ secret: created.secret!, event: 'pull_request', body }) }));
      await Promise.race(answers);
      expect((await api('DELETE', `/api/triggers/${created.id}`)).status).toBe(204);
      const settled = await Promise.all(answers);
      for (const answer of settled) expect([202, 404], answer.body).toContain(answer.status);
      const db = new Database(path.join(home.env.AGENTED_DATA_DIR!, 'agented.db'), { readonly: true });
      try {
        expect(db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM deliveries WHERE trigger_id = ?').get(created.id)!.n, `round ${round}`).toBe(0);
      } finally {
        db.close();
      }
    }
  }, 60_000);
});
