import type { z } from 'zod';
import { Account, AccountList, AccountStats, type AccountCreate, type AccountPatch } from '../../../common/accounts.js';
import { HealthReady, KeyRotated, Session, SettingsView, type StoredSettingsPatch } from '../../../common/api.js';
import { BackendChecklist } from '../../../common/backends.js';
import { Budget, BudgetList, UsageReport, type BudgetCreate, type BudgetPatch, type BudgetPeriod } from '../../../common/budgets.js';
import { ErrorBody, type ErrorCode } from '../../../common/errors.js';
import { Execution, ExecutionList, ExecutionTotals, type ExecutionListQuery, type ExecutionSummaryQuery } from '../../../common/executions.js';
import { NotificationSettings, NotificationTestResult, type NotificationSettingsUpdate } from '../../../common/notifications.js';
import { TunnelView, type TunnelUpdate } from '../../../common/tunnel.js';
import { DeliveryList, HookAccepted, Trigger, TriggerCreated, TriggerList, TriggerUpdated, type TriggerCreate, type TriggerListItem, type TriggerPatch } from '../../../common/triggers.js';

/**
 * The HTTP API, typed by the zod schemas of `common/` (the one contract):
 * every answer is parsed by the schema the server declares for it, and every
 * request body has the type the server validates it against.
 */

export interface FieldIssue {
  /** Where, as the server names it: `body.github.events`, `query.status`. */
  path: string;
  message: string;
}

/** A failed call: the server's coded error when it sent one, or what went wrong on the way. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'ERR_NETWORK' | 'ERR_UNEXPECTED_ANSWER',
    message: string,
    readonly issues: FieldIssue[] = [],
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

type Schema<T> = Pick<z.ZodType<T>, 'parse'>;

export interface ClientOptions {
  /** Origin of the API; '' means the page's own (the normal case: the worker serves the UI). */
  baseUrl?: string;
  /** Extra headers on every call (tests and tools use the API key; the page uses its session cookie). */
  headers?: Record<string, string>;
  /** Told about every 401, so the app can show the login page once instead of an error per call. */
  onUnauthorized?: (error: ApiCallError) => void;
}

type Query = Record<string, string | number | boolean | undefined>;

export class ApiClient {
  constructor(private readonly options: ClientOptions = {}) {}

  url(path: string, query: Query = {}): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') search.set(name, String(value));
    const text = search.toString();
    return `${this.options.baseUrl ?? ''}${path}${text ? `?${text}` : ''}`;
  }

  async call<T>(method: string, path: string, schema: Schema<T> | null, options: { query?: Query; body?: unknown; headers?: Record<string, string>; acceptStatus?: number[] } = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url(path, options.query), {
        method,
        credentials: 'same-origin',
        headers: {
          Accept: 'application/json',
          ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...this.options.headers,
          ...options.headers,
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch (cause) {
      throw new ApiCallError(0, 'ERR_NETWORK', `Agented did not answer (${(cause as Error).message}). Is the server running? The tray menu or \`agented serve\` starts it.`);
    }
    if (response.status === 204) return schema ? schema.parse({}) : (undefined as T);
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok && !options.acceptStatus?.includes(response.status)) {
      const parsed = ErrorBody.safeParse(body);
      const error = parsed.success
        ? new ApiCallError(response.status, parsed.data.error.code, parsed.data.error.message, parsed.data.error.issues ?? [], parsed.data.error.requestId ?? response.headers.get('x-request-id'))
        : new ApiCallError(response.status, 'ERR_UNEXPECTED_ANSWER', `The server answered HTTP ${response.status} without an explanation.`, [], response.headers.get('x-request-id'));
      if (response.status === 401) this.options.onUnauthorized?.(error);
      throw error;
    }
    if (!schema) return undefined as T;
    try {
      return schema.parse(body);
    } catch {
      throw new ApiCallError(response.status, 'ERR_UNEXPECTED_ANSWER', `The answer to ${method} ${path} did not match the API contract: the UI and the server are probably different versions. Reload the page.`);
    }
  }

  // Session
  session = () => this.call('GET', '/api/session', Session);
  /** Trades the API key for a session cookie (the key is sent once, as a Bearer header, and kept nowhere). */
  login = (apiKey: string) => this.call('POST', '/api/session', Session, { headers: { Authorization: `Bearer ${apiKey.trim()}` } });
  logout = () => this.call('DELETE', '/api/session', null);

  // Server
  /** 503 still carries the readiness report (status "degraded"). */
  readiness = () => this.call('GET', '/health/ready', HealthReady, { acceptStatus: [503] });
  backends = (refresh = false) => this.call('GET', '/api/backends', BackendChecklist, { query: { refresh: refresh ? '1' : undefined } });
  settings = () => this.call('GET', '/api/settings', SettingsView);
  tunnel = () => this.call('GET', '/api/tunnel', TunnelView);
  updateTunnel = (update: TunnelUpdate) => this.call('PUT', '/api/tunnel', TunnelView, { body: update });
  updateSettings = (patch: StoredSettingsPatch) => this.call('PATCH', '/api/settings', SettingsView, { body: patch });
  /** Replaces the API key; the answer says when, never the key (`agented key show` prints it). */
  rotateApiKey = () => this.call('POST', '/api/key/rotate', KeyRotated, { body: {} });

  // Triggers
  /** Every trigger, page after page (the API answers at most 200 at a time): the list, the filters and the names need them all. */
  triggers = async (): Promise<TriggerListItem[]> => {
    const items: TriggerListItem[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.call('GET', '/api/triggers', TriggerList, { query: { limit: 200, cursor } });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return items;
  };
  trigger = (id: string) => this.call('GET', `/api/triggers/${encodeURIComponent(id)}`, Trigger);
  createTrigger = (body: TriggerCreate) => this.call('POST', '/api/triggers', TriggerCreated, { body });
  updateTrigger = (id: string, patch: TriggerPatch) => this.call('PATCH', `/api/triggers/${encodeURIComponent(id)}`, TriggerUpdated, { body: patch });
  deleteTrigger = (id: string) => this.call('DELETE', `/api/triggers/${encodeURIComponent(id)}`, null);
  rotateTriggerSecret = (id: string) => this.call('POST', `/api/triggers/${encodeURIComponent(id)}/secret`, TriggerCreated);
  runTrigger = (id: string, params: Record<string, unknown>) => this.call('POST', `/api/triggers/${encodeURIComponent(id)}/run`, HookAccepted, { body: { params } });
  deliveries = (triggerId: string, cursor?: string) => this.call('GET', `/api/triggers/${encodeURIComponent(triggerId)}/deliveries`, DeliveryList, { query: { limit: 50, cursor } });

  // Executions
  executions = (query: Omit<z.input<typeof ExecutionListQuery>, 'limit'> & { limit?: number } = {}) => this.call('GET', '/api/executions', ExecutionList, { query: { ...query } });
  /** Counts by state, tokens and cost over the same filters as the history. */
  executionTotals = (query: ExecutionSummaryQuery = {}) => this.call('GET', '/api/executions/summary', ExecutionTotals, { query: { ...query } });
  execution = (id: string) => this.call('GET', `/api/executions/${encodeURIComponent(id)}`, Execution);
  cancelExecution = (id: string) => this.call('POST', `/api/executions/${encodeURIComponent(id)}/cancel`, Execution);
  replayExecution = (id: string) => this.call('POST', `/api/executions/${encodeURIComponent(id)}/replay`, HookAccepted);

  // Accounts, budgets, usage (docs/accounts.md)
  accounts = () => this.call('GET', '/api/accounts', AccountList);
  accountStats = (period: BudgetPeriod) => this.call('GET', '/api/accounts/stats', AccountStats.array(), { query: { period } });
  createAccount = (body: AccountCreate) => this.call('POST', '/api/accounts', Account, { body });
  updateAccount = (id: string, patch: AccountPatch) => this.call('PATCH', `/api/accounts/${encodeURIComponent(id)}`, Account, { body: patch });
  deleteAccount = (id: string) => this.call('DELETE', `/api/accounts/${encodeURIComponent(id)}`, null);
  budgets = () => this.call('GET', '/api/budgets', BudgetList);
  createBudget = (body: BudgetCreate) => this.call('POST', '/api/budgets', Budget, { body });
  updateBudget = (id: string, patch: BudgetPatch) => this.call('PATCH', `/api/budgets/${encodeURIComponent(id)}`, Budget, { body: patch });
  deleteBudget = (id: string) => this.call('DELETE', `/api/budgets/${encodeURIComponent(id)}`, null);
  usage = (period: BudgetPeriod) => this.call('GET', '/api/usage', UsageReport, { query: { period } });

  // Notifications (docs/notifications.md): URLs and the signing secret are write-only.
  notifications = () => this.call('GET', '/api/notifications', NotificationSettings);
  updateNotifications = (update: NotificationSettingsUpdate) => this.call('PUT', '/api/notifications', NotificationSettings, { body: update });
  testNotification = () => this.call('POST', '/api/notifications/test', NotificationTestResult);

  executionStreamUrl = (id: string, after = 0) => this.url(`/api/executions/${encodeURIComponent(id)}/stream`, { after: after > 0 ? after : undefined });
  eventsUrl = () => this.url('/api/events');
}

/** One sentence for a person: what happened, and what to try. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiCallError)) return `Something went wrong in the page: ${(error as Error)?.message ?? String(error)}. Reload the page; if it happens again, the browser console has the details.`;
  const tail = error.requestId ? ` (request ${error.requestId} in the worker log)` : '';
  switch (error.code) {
    case 'ERR_NETWORK':
    case 'ERR_UNEXPECTED_ANSWER':
      return error.message;
    case 'ERR_UNAUTHORIZED':
      return `${error.message} Sign in again.`;
    case 'ERR_VALIDATION':
      return error.issues.length > 0 ? `Some fields need a change: ${error.issues.map((issue) => `${issue.path.replace(/^body\./, '')} — ${issue.message}`).join('; ')}.` : error.message;
    case 'ERR_INTERNAL':
      return `The server failed on this request${tail}. Try again; if it keeps failing, the log says why.`;
    default:
      return `${error.message}${tail}`;
  }
}
