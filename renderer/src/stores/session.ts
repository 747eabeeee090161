import { defineStore } from 'pinia';
import { ref } from 'vue';
import { useFlashStore } from './flash.js';

export type SessionStatus = 'unknown' | 'signed-in' | 'expired' | 'signed-out';

/**
 * Whether the page may talk to the API. `expired` comes from any 401 while
 * signed in: the app then shows the login page once, with the reason, instead
 * of an error on every panel. Either way the session ends, and what it was
 * handed once (a new trigger's webhook secret, stores/flash.ts) goes with it.
 */
export const useSessionStore = defineStore('session', () => {
  const status = ref<SessionStatus>('unknown');
  const expiresAt = ref<string | null>(null);
  const flash = useFlashStore();

  function signedIn(until: string): void {
    status.value = 'signed-in';
    expiresAt.value = until;
    rememberSignedIn(true);
  }

  /**
   * A 401. While signed in, the session expired. On a fresh page load the
   * browser has usually dropped the expired cookie already, so the server
   * cannot tell; the mark left by the last sign-in can (it stays until the
   * next sign-in or an explicit sign-out). The mark is shared by the
   * browser's tabs: gone while this tab was signed in, the session did not
   * expire, it was signed out in another tab.
   */
  function lost(): void {
    const expired = status.value === 'signed-in' ? !signedOutInAnotherTab() : status.value === 'unknown' && wasSignedIn();
    status.value = expired ? 'expired' : 'signed-out';
    expiresAt.value = null;
    flash.forgetAll();
  }

  function signedOut(): void {
    status.value = 'signed-out';
    expiresAt.value = null;
    rememberSignedIn(false);
    flash.forgetAll();
  }

  return { status, expiresAt, signedIn, lost, signedOut };
});

/**
 * Only whether this browser was signed in, never the key or the cookie (the
 * cookie is HttpOnly; the key is never kept): enough to word the login page.
 */
const SIGNED_IN_MARK = 'agented.signedIn';

function rememberSignedIn(on: boolean): void {
  try {
    if (on) window.localStorage.setItem(SIGNED_IN_MARK, '1');
    else window.localStorage.removeItem(SIGNED_IN_MARK);
  } catch {
    // Storage turned off: the login page then just cannot say "expired" after a reload.
  }
}

function wasSignedIn(): boolean {
  try {
    return window.localStorage.getItem(SIGNED_IN_MARK) === '1';
  } catch {
    return false;
  }
}

/** The mark removed though this tab signed in (with storage turned off this cannot be told, and is not claimed). */
function signedOutInAnotherTab(): boolean {
  try {
    return window.localStorage.getItem(SIGNED_IN_MARK) === null;
  } catch {
    return false;
  }
}
