import { createRouter, createWebHistory, type Router } from 'vue-router';
import type { ApiClient } from './api/client.js';
import { useSessionStore } from './stores/session.js';

/** The pages; each is loaded when first opened, so the dashboard shows without the log view's code. */
export function buildRouter(api: ApiClient): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: '/', name: 'dashboard', component: () => import('./pages/DashboardPage.vue'), meta: { title: 'Dashboard' } },
      { path: '/triggers', name: 'triggers', component: () => import('./pages/TriggersPage.vue'), meta: { title: 'Triggers' } },
      { path: '/triggers/new', name: 'trigger-new', component: () => import('./pages/TriggerEditPage.vue'), meta: { title: 'New trigger' } },
      { path: '/triggers/:id', name: 'trigger', component: () => import('./pages/TriggerPage.vue'), props: true, meta: { title: 'Trigger' } },
      { path: '/triggers/:id/edit', name: 'trigger-edit', component: () => import('./pages/TriggerEditPage.vue'), props: true, meta: { title: 'Edit trigger' } },
      { path: '/triggers/:id/deliveries', name: 'deliveries', component: () => import('./pages/DeliveriesPage.vue'), props: true, meta: { title: 'Deliveries' } },
      { path: '/executions', name: 'executions', component: () => import('./pages/ExecutionsPage.vue'), meta: { title: 'Executions' } },
      { path: '/executions/:id', name: 'execution', component: () => import('./pages/ExecutionPage.vue'), props: true, meta: { title: 'Execution' } },
      { path: '/settings', name: 'settings', component: () => import('./pages/SettingsPage.vue'), meta: { title: 'Settings' } },
      { path: '/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { title: 'Sign in', public: true } },
      { path: '/:path(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue'), meta: { title: 'Not found' } },
    ],
  });

  router.beforeEach(async (to) => {
    const session = useSessionStore();
    if (to.meta.public) return true;
    if (session.status === 'unknown') {
      try {
        const current = await api.session();
        session.signedIn(current.expiresAt);
      } catch {
        // api.session() told the store (401); anything else (server down) lets the page show its own error.
      }
    }
    if (session.status === 'expired' || session.status === 'signed-out') {
      return { name: 'login', query: { next: to.fullPath, ...(session.status === 'expired' ? { expired: '1' } : {}) } };
    }
    return true;
  });
  router.afterEach((to) => {
    document.title = `${String(to.meta.title ?? 'Agented')} · Agented`;
  });
  return router;
}
