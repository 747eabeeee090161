// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { startInProcess } from '../helpers/in-process.js';
import { mountApp } from './mount-app.js';

/**
 * Sign out ends the session on the server (it revokes it). When that request
 * fails, the cookie still opens the app: the page must not say "signed out"
 * to someone about to walk away from a shared machine.
 */
describe('Sign out', () => {
  it('that the server did not confirm says so and stays signed in, instead of showing the login page', async () => {
    const server = await startInProcess();
    const app = await mountApp(server, '/settings');
    try {
      const signOut = () => app.wrapper.findAll('button').find((button) => button.text() === 'Sign out');
      await app.until(() => signOut() !== undefined);
      // The worker goes away: the DELETE /api/session cannot reach it.
      await server.close();
      await signOut()!.trigger('click');
      await app.until(() => app.wrapper.find('[data-testid="sign-out-error"]').exists());
      expect(app.wrapper.get('[data-testid="sign-out-error"]').text()).toMatch(/^Not signed out: .+ This browser may still be signed in; try again\.$/);
      expect(app.router.currentRoute.value.name).not.toBe('login');
    } finally {
      await app.close();
    }
  });
});
