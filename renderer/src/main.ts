import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { ApiClient } from './api/client.js';
import { ApiKey, EventSourceKey } from './api/inject.js';
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
app.use(buildRouter(api));
app.mount('#app');
