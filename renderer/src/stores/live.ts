import { defineStore } from 'pinia';
import { onBeforeUnmount, ref, shallowRef } from 'vue';
import type { BackendChecklist } from '../../../common/backends.js';
import { BackendsChangeEvent, ExecutionChangeEvent } from '../../../common/streams.js';
import type { ApiClient } from '../api/client.js';
import { LiveConnection, type ConnectionState, type EventSourceFactory } from '../api/live-connection.js';

type Listener = (change: ExecutionChangeEvent) => void;

/**
 * The dashboard's event stream (`GET /api/events`), one per page: execution
 * changes for whoever listens, and the latest CLI health checklist.
 */
export const useLiveStore = defineStore('live', () => {
  const state = ref<ConnectionState>('closed');
  const backends = shallowRef<BackendChecklist | null>(null);
  const listeners = new Set<Listener>();
  let connection: LiveConnection | null = null;

  function start(api: ApiClient, createEventSource: EventSourceFactory, onGiveUp: () => Promise<boolean>): void {
    if (connection) return;
    connection = new LiveConnection({
      url: () => api.eventsUrl(),
      createEventSource,
      onGiveUp,
      onState: (next) => {
        const wasDown = state.value === 'reconnecting';
        state.value = next;
        // Changes made while the stream was down were missed: listeners reload what they show.
        if (wasDown && next === 'open') for (const listener of listeners) listener({ kind: 'state', id: '', triggerId: '', state: 'queued', reason: 'reconnected' });
      },
      on: {
        execution: (data) => {
          const change = ExecutionChangeEvent.safeParse(JSON.parse(data));
          if (!change.success) return;
          for (const listener of listeners) listener(change.data);
        },
        backends: (data) => {
          const checklist = BackendsChangeEvent.safeParse(JSON.parse(data));
          if (checklist.success) backends.value = checklist.data;
        },
      },
    });
    state.value = connection.state;
  }

  function stop(): void {
    connection?.close();
    connection = null;
    state.value = 'closed';
  }

  function reconnect(): void {
    connection?.reconnect();
  }

  /** Listens for execution changes (an empty id means "something may have been missed: reload"). */
  function subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  return { state, backends, start, stop, reconnect, subscribe };
});

/** Calls `listener` on each execution change while the calling component is mounted. */
export function useExecutionChanges(listener: Listener): void {
  const live = useLiveStore();
  const unsubscribe = live.subscribe(listener);
  onBeforeUnmount(unsubscribe);
}
