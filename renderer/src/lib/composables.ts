import { getCurrentInstance, onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

/** A clock that ticks while the component is mounted (live durations). */
export function useNow(intervalMs = 1_000): Ref<number> {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | undefined;
  onMounted(() => (timer = setInterval(() => (now.value = Date.now()), intervalMs)));
  onBeforeUnmount(() => clearInterval(timer));
  return now;
}

/**
 * Runs `task` at most once per `waitMs`, trailing: bursts of live events become one reload.
 * Made in a component's setup, it is cancelled when the component unmounts: a reload due
 * after the reader left the page would otherwise still be sent.
 */
export function coalesce(task: () => void | Promise<void>, waitMs: number): { run: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  if (getCurrentInstance()) onBeforeUnmount(cancel);
  return {
    run: () => {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        void task();
      }, waitMs);
    },
    cancel,
  };
}
