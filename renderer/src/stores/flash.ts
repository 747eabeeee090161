import { defineStore } from 'pinia';
import { ref } from 'vue';

/**
 * What one page hands the next once, in memory only: the webhook secret from
 * the creation answer (never in a URL, never in storage).
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
  return { secrets, keepSecret, forgetSecret };
});
