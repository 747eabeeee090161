import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { ApiClient } from './api/client.js';
import { FetchEventSource } from './api/fetch-event-source.js';
import { WorkerEventSource } from './api/stream-worker.js';
import { ApiKey, EventSourceKey, ExecutionEventSourceKey } from './api/inject.js';
import { browserEventSource } from './api/live-connection.js';
import { buildRouter } from './router.js';
import { useSessionStore } from './stores/session.js';
import './styles.css';

const pinia = createPinia();
const api = new ApiClient({ onUnauthorized: () => useSessionStore(pinia).lost() });
const app = createApp(App);
app.use(pinia);
app.provide(ApiKey, api);
app.provide(EventSourceKey, browserEventSource);
// Execution output is read in a Web Worker (api/stream-worker.ts); without workers, on the page.
const startStreamWorker = () => new Worker(new URL('./api/execution-stream.worker.ts', import.meta.url), { type: 'module', name: 'execution-stream' });
app.provide(ExecutionEventSourceKey, (url: string) => (typeof Worker === 'undefined' ? new FetchEventSource(url) : new WorkerEventSource(url, startStreamWorker)));
app.use(buildRouter(api));
app.mount('#app');
