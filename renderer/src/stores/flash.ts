import { defineStore } from 'pinia';
import { ref } from 'vue';

/**
 * What one page hands the next once, in memory only: the webhook secret from
 * the creation answer (never in a URL, never in storage). Emptied when the
 * session ends (sign-out or a 401, stores/session.ts): a secret never
 * outlives the session it was created in.
 */
export const useFlashStore = defineStore('flash', () => {
  const secrets = ref<Record<string, string>>({});
  function keepSecret(triggerId: string, secret: string): void {
    secrets.value = { ...secrets.value, [triggerId]: secret };
  }
  function forgetSecret(triggerId: string): void {
    const { [triggerId]: _gone, ...rest } = secrets.value;
    secrets.value = rest;
  }
  function forgetAll(): void {
    secrets.value = {};
  }
  return { secrets, keepSecret, forgetSecret, forgetAll };
});
