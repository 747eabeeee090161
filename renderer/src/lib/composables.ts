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

/**
 * Which of a page's loads still has its answer wanted. Answers do not come in the order they
 * were asked for: the report of the period chosen first, arriving last, would otherwise replace
 * the one of the period chosen since. `start()` begins a load that makes every earlier one stale;
 * `current()` one that asks for more of the latest (the next page), stale once another starts.
 * Each returns the check to make when the answer comes.
 */
export function latestLoad(): { start: () => () => boolean; current: () => () => boolean } {
  let latest = 0;
  const checkFor = (load: number) => () => load === latest;
  return {
    start: () => checkFor(++latest),
    current: () => checkFor(latest),
  };
}
