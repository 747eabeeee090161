import { createRouter, createWebHistory, type Router } from 'vue-router';
import type { ApiClient } from './api/client.js';
import { useSessionStore } from './stores/session.js';
import DashboardPage from './pages/DashboardPage.vue';
import TriggersPage from './pages/TriggersPage.vue';
import TriggerEditPage from './pages/TriggerEditPage.vue';
import TriggerPage from './pages/TriggerPage.vue';
import DeliveriesPage from './pages/DeliveriesPage.vue';
import ExecutionsPage from './pages/ExecutionsPage.vue';
import ExecutionPage from './pages/ExecutionPage.vue';
import SettingsPage from './pages/SettingsPage.vue';
import AccountsPage from './pages/AccountsPage.vue';
import BudgetsPage from './pages/BudgetsPage.vue';
import LoginPage from './pages/LoginPage.vue';
import NotFoundPage from './pages/NotFoundPage.vue';

// The usage page brings Chart.js (~160 kB): loaded when it is first opened, not with the app.
const UsagePage = () => import('./pages/UsagePage.vue');

/**
 * The pages, in the main bundle except the heavy usage page. A lazily loaded
 * page still loads after a session ended: the hashed assets are part of the
 * public app shell (docs/renderer.md), only /api/* needs the session.
 */
export function buildRouter(api: ApiClient): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: '/', name: 'dashboard', component: DashboardPage, meta: { title: 'Dashboard' } },
      { path: '/triggers', name: 'triggers', component: TriggersPage, meta: { title: 'Triggers' } },
      { path: '/triggers/new', name: 'trigger-new', component: TriggerEditPage, meta: { title: 'New trigger' } },
      { path: '/triggers/:id', name: 'trigger', component: TriggerPage, props: true, meta: { title: 'Trigger' } },
      { path: '/triggers/:id/edit', name: 'trigger-edit', component: TriggerEditPage, props: true, meta: { title: 'Edit trigger' } },
      { path: '/triggers/:id/deliveries', name: 'deliveries', component: DeliveriesPage, props: true, meta: { title: 'Deliveries' } },
      { path: '/executions', name: 'executions', component: ExecutionsPage, meta: { title: 'Executions' } },
      { path: '/executions/:id', name: 'execution', component: ExecutionPage, props: true, meta: { title: 'Execution' } },
      { path: '/usage', name: 'usage', component: UsagePage, meta: { title: 'Usage' } },
      { path: '/budgets', name: 'budgets', component: BudgetsPage, meta: { title: 'Budgets' } },
      { path: '/accounts', name: 'accounts', component: AccountsPage, meta: { title: 'Accounts' } },
      { path: '/settings', name: 'settings', component: SettingsPage, meta: { title: 'Settings' } },
      { path: '/login', name: 'login', component: LoginPage, meta: { title: 'Sign in', public: true } },
      { path: '/:path(.*)*', name: 'not-found', component: NotFoundPage, meta: { title: 'Not found' } },
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
