import { inject, type InjectionKey } from 'vue';
import type { ApiClient } from './client.js';
import { FetchEventSource } from './fetch-event-source.js';
import { browserEventSource, type EventSourceFactory } from './live-connection.js';

/** The app's services, provided once in main.ts (tests provide their own): no module-level singletons. */
export const ApiKey: InjectionKey<ApiClient> = Symbol('api');
export const EventSourceKey: InjectionKey<EventSourceFactory> = Symbol('event-source');
/** Execution output: thousands of events a second, read with fetch (see FetchEventSource for why). */
export const ExecutionEventSourceKey: InjectionKey<EventSourceFactory> = Symbol('execution-event-source');

export function useApi(): ApiClient {
  const api = inject(ApiKey);
  if (!api) throw new Error('No API client provided (main.ts provides one).');
  return api;
}

export function useEventSource(): EventSourceFactory {
  return inject(EventSourceKey, browserEventSource);
}

export function useExecutionEventSource(): EventSourceFactory {
  return inject(ExecutionEventSourceKey, (url: string) => new FetchEventSource(url));
}
