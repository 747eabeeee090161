import { defineStore } from 'pinia';
import { ref } from 'vue';

export type SessionStatus = 'unknown' | 'signed-in' | 'expired' | 'signed-out';

/**
 * Whether the page may talk to the API. `expired` comes from any 401 while
 * signed in: the app then shows the login page once, with the reason, instead
 * of an error on every panel.
 */
export const useSessionStore = defineStore('session', () => {
  const status = ref<SessionStatus>('unknown');
  const expiresAt = ref<string | null>(null);

  function signedIn(until: string): void {
    status.value = 'signed-in';
    expiresAt.value = until;
  }

  function lost(): void {
    status.value = status.value === 'signed-in' ? 'expired' : 'signed-out';
    expiresAt.value = null;
  }

  function signedOut(): void {
    status.value = 'signed-out';
    expiresAt.value = null;
  }

  return { status, expiresAt, signedIn, lost, signedOut };
});
