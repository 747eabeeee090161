import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

/** A clock that ticks while the component is mounted (live durations). */
export function useNow(intervalMs = 1_000): Ref<number> {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | undefined;
  onMounted(() => (timer = setInterval(() => (now.value = Date.now()), intervalMs)));
  onBeforeUnmount(() => clearInterval(timer));
  return now;
}

/** Runs `task` at most once per `waitMs`, trailing: bursts of live events become one reload. */
export function coalesce(task: () => void | Promise<void>, waitMs: number): { run: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    run: () => {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        void task();
      }, waitMs);
    },
    cancel: () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
