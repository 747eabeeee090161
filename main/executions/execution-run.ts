import fs from 'node:fs';
import path from 'node:path';
import type { Attempt } from '../../common/accounts.js';
import type { PriceTable } from '../../common/budgets.js';
import type { AgentEvent, Execution } from '../../common/executions.js';
import type { Backend, TriggerDefinition } from '../../common/triggers.js';
import type { Choice, CredentialPool } from '../accounts/credential-pool.js';
import { backendSpec } from '../backends/catalog.js';
import type { BackendLocator } from '../backends/locator.js';
import type { BudgetLedger } from '../budgets/budget-ledger.js';
import { estimateCost } from '../budgets/pricing.js';
import type { Notifier } from '../notifications/notifier.js';
import { credentialOf, type AccountRepository, type StoredAccount } from '../storage/account-repository.js';
import type { EndState, ExecutionRepository, Usage } from '../storage/execution-repository.js';
import type { Logger } from '../telemetry/logger.js';
import { currentBoot } from './boot-identity.js';
import { CredentialMask } from './credential-mask.js';
import { PIPE_DRAIN_MS, startAgentProcess, type AgentProcess, type OutputStream } from './agent-process.js';
import type { LiveOutput } from './live-output.js';
import type { LogStore, LogStream } from './log-store.js';
import { leaderStart } from './process-group.js';
import { followUsageFile, type RunAdapter, type UsageFileRun } from './usage-file.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface RunDependencies {
  executions: ExecutionRepository;
  logs: LogStore;
  live: LiveOutput;
  adapters: Readonly<Partial<Record<Backend, RunAdapter>>>;
  locator: BackendLocator;
  /** The worker's environment; the CLI gets it without Agented's own variables, with the login shell's PATH. */
  env: Env;
  /** Where executions of triggers without a working directory run, one folder each. */
  workspacesDir: string;
  /** Grace after SIGINT, and after SIGTERM, before the next signal. */
  stopGraceMs: number;
  logger: Logger;
  pool: CredentialPool;
  accounts: AccountRepository;
  /** An account's API key from the keychain (only the runner reads it). */
  accountKey(account: StoredAccount): Promise<string | null>;
  budgets: BudgetLedger;
  prices(): PriceTable;
  notifier: Notifier;
}

export type StopState = Extract<EndState, 'cancelled' | 'timed_out' | 'interrupted' | 'failed'>;

/** The backends an execution of this trigger may run on, in order. */
export function backendsOf(trigger: TriggerDefinition): Backend[] {
  return [trigger.backend, ...trigger.fallbackBackends];
}

/** What one attempt used: the tokens and the cost its CLI reported, on one backend and model (the price an estimate takes). */
interface AttemptUsage {
  backend: Backend;
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  reportedCostUsd: number | null;
}

type AttemptEnd = { kind: 'ended' } | { kind: 'rate_limited'; retryAt: string | null; message: string };

/**
 * One execution from start to end: find the CLI, spawn it in its own process
 * group with the chosen account's credentials, store and publish every line,
 * enforce the timeout and the budgets, and record how it ended. A rate limit
 * moves it to the next usable account or backend (each try is an attempt);
 * with nothing usable it goes back to the queue. A stop (cancel, timeout,
 * budget, shutdown) may come at any moment, also between processes.
 */
/** How often a CLI's provisional usage (a running total) reaches the execution row, the live stream and the budgets. */
const PROVISIONAL_USAGE_MS = 200;
/**
 * How long an end the database refused (locked by another process past its busy timeout, a full disk) is
 * tried again. Past it the row stays `running` and the next start marks it interrupted.
 */
const END_RETRY_MS = 60_000;
const END_RETRY_MAX_WAIT_MS = 5_000;

/**
 * SQLite refusing a write for a reason that may pass: a lock held elsewhere, a full disk, an I/O error, a
 * read-only file. Anything else (a constraint, a bad statement) is a defect, and is not waited out.
 */
const PASSING_STORAGE_ERRORS = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|PROTOCOL)/;

function isStorageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && PASSING_STORAGE_ERRORS.test(code);
}

interface Ending {
  state: EndState;
  reason: string | null;
  exitCode: number | null;
  endedAt: string;
}

export class ExecutionRun {
  readonly finished: Promise<void>;
  private process: AgentProcess | undefined;
  private stopRequest: { state: StopState; reason: string } | undefined;
  /** What the attempts before the current one used (with those of a run before a requeue), their costs as recorded. */
  private earlierUsage: Usage;
  /** What the current attempt's CLI has reported so far. */
  private attemptUsage: AttemptUsage | null = null;
  /** The current attempt's provisional tokens (a running total the CLI's own totals will replace), and whether they are yet to be applied. */
  private provisional: { inputTokens: number | null; outputTokens: number | null } | null = null;
  private provisionalTimer: NodeJS.Timeout | undefined;
  /** Whether the current attempt's CLI reported its own totals: a running total read after them (from a usage file) is already in them. */
  private totalsReported = false;
  /** The current attempt's CLI has printed its final result: its work is done, and a budget no longer stops it. */
  private resultReported = false;
  /** The credentials the current attempt's CLI was given: masked in its output, and in what is taken from it (reasons). */
  private mask: CredentialMask | undefined;
  /** The current attempt's usage file, followed while its CLI runs. */
  private usageFile: UsageFileRun | undefined;
  /** The database refused the usage last time: the end stores it. */
  private usageUnstored = false;
  /** Records of the run the database refused (see record), in order: the end stores them first. */
  private readonly unstored: (() => void)[] = [];
  /** How the run ended, once its closing line is written; `endStored` once the row says so too. */
  private ending: Ending | undefined;
  private endStored = false;
  private readonly attempts: Attempt[];
  private choice: Choice;
  private readonly log: Logger;

  constructor(
    private readonly deps: RunDependencies,
    readonly execution: Execution,
    private readonly trigger: TriggerDefinition,
    choice: Choice,
  ) {
    this.choice = choice;
    this.attempts = [...execution.attempts];
    this.earlierUsage = { ...execution.usage };
    this.log = deps.logger.child({ execution_id: execution.id, trigger_id: execution.triggerId });
    this.finished = this.run().catch((error: unknown) => this.afterFailure(error));
  }

  /**
   * Ends the run with `state` (unless it ends by itself first: a CLI that has
   * already exited keeps its outcome, and only its leftovers are stopped);
   * resolves when it has ended and no process of its group is left.
   */
  async stop(state: StopState, reason: string): Promise<void> {
    this.stopRequest ??= { state, reason };
    await this.process?.stop({ graceMs: this.deps.stopGraceMs });
    await this.finished;
  }

  private async run(): Promise<void> {
    const timeoutSeconds = this.trigger.timeoutSeconds;
    const timer = setTimeout(() => void this.stop('timed_out', `ran longer than its timeout of ${timeoutSeconds} s`), timeoutSeconds * 1000);
    try {
      for (;;) {
        const attempt = await this.attempt(this.choice);
        if (attempt.kind === 'ended') return;
        const next = this.afterRateLimit(attempt.retryAt, attempt.message);
        if (next === null) return;
        this.line('system', `rate-limited on ${label(this.choice)}; retrying on ${label(next)}`);
        this.choice = next;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Records the rate limit and picks what runs next: another account or backend, or nothing (the execution waits queued, or fails). */
  private afterRateLimit(retryAt: string | null, message: string): Choice | null {
    const { deps, choice } = this;
    const { until, allCoolingNow } = deps.pool.rateLimited(choice, retryAt, message);
    const credential = credentialOf(choice.backend, choice.account?.id ?? null);
    deps.accounts.recordEvent(credential, 'rate_limit', new Date().toISOString(), { executionId: this.execution.id, resetAt: new Date(until).toISOString(), detail: message.slice(0, 500) });
    if (allCoolingNow) {
      deps.notifier.notify({
        kind: 'cooldown',
        title: `Every ${choice.backend} account is rate-limited`,
        body: `The earliest is usable again at ${new Date(until).toISOString()}. Executions move to the fallback backends, or wait.`,
        data: { backend: choice.backend, until: new Date(until).toISOString(), executionId: this.execution.id },
      });
    }
    const early = this.requestedStop();
    if (early) {
      this.end(early.state, early.reason, null);
      return null;
    }
    const selection = deps.pool.select(backendsOf(this.trigger));
    if (selection.kind === 'run') return selection.choice;
    if (selection.kind === 'over_budget') {
      this.end('failed', `rate-limited on ${label(choice)}, and ${selection.reason}`, null);
    } else if (this.trigger.onRateLimit === 'fail') {
      this.end('failed', `rate-limited on ${label(choice)}, and ${selection.reason} (the trigger fails rather than waits)`, null);
    } else {
      const reason = `waiting: ${selection.reason}`;
      this.line('system', reason);
      deps.logs.flush();
      // The next run reads its attempts and usage back from the row.
      this.storeRecords();
      if (this.usageUnstored) this.storeUsage(this.currentUsage());
      deps.executions.requeue(this.execution.id, reason);
      this.log.info('execution waits for a rate limit to reset', { until: new Date(selection.until).toISOString() });
    }
    return null;
  }

  private async attempt(choice: Choice): Promise<AttemptEnd> {
    const { execution, deps } = this;
    deps.executions.assign(execution.id, choice.backend, choice.account);
    // Counted from its start for its account and backend, with nothing spent yet: an attempt whose CLI reports nothing still ran there.
    this.recordAttemptSpend();
    const located = await deps.locator.locate(choice.backend);
    let apiKey: string | null = null;
    try {
      if (choice.account) apiKey = await deps.accountKey(choice.account);
    } catch (error) {
      // Its key is not in the store, cannot be read there (sealed with another key), or the keychain is locked: the error says which and what to do.
      return this.end('failed', (error as Error).message, null);
    }
    const early = this.requestedStop();
    if (early) return this.end(early.state, early.reason, null);
    if (!located.ok) return this.end('failed', located.hint, null);
    const adapter = deps.adapters[choice.backend];
    if (!adapter) return this.end('failed', `no adapter for the ${choice.backend} backend`, null);

    const workingDirectory = this.trigger.workingDirectory ?? path.join(deps.workspacesDir, execution.id);
    if (this.trigger.workingDirectory === null) fs.mkdirSync(workingDirectory, { recursive: true });
    else {
      const folder = fs.statSync(workingDirectory, { throwIfNoEntry: false });
      if (!folder) return this.end('failed', `the working directory ${workingDirectory} does not exist`, null);
      if (!folder.isDirectory()) return this.end('failed', `the working directory ${workingDirectory} is not a directory`, null);
    }

    // A model names a model of the trigger's own backend; a fallback backend runs its default.
    const model = choice.backend === this.trigger.backend ? execution.model : null;
    const accountEnv = choice.account ? backendSpec(choice.backend).accountEnvironment({ apiKey, configDir: choice.account.configDir }) : {};
    this.line('system', `starting ${located.executable} (${label(choice)}) in ${workingDirectory}, permission mode ${this.trigger.permissionMode}${model ? `, model ${model}` : ''}`);
    const startedAt = new Date();
    let rateLimit: Extract<AgentEvent, { type: 'error' }> | undefined;
    let authFailed = false;
    const env: Env = { ...deps.env, PATH: located.searchPath, ...accountEnv };
    // The values of the backend's key variables — the account's key, or the environment's: an agent that runs `env` would put them into the stored output and every viewer's stream.
    this.mask = CredentialMask.of(backendSpec(choice.backend).apiKeyVariables.map((name) => env[name]));
    const usageFile = this.followUsageFile(adapter, env);
    this.usageFile = usageFile;
    this.totalsReported = false;
    this.resultReported = false;
    this.attemptUsage = { backend: choice.backend, model, inputTokens: null, outputTokens: null, reportedCostUsd: null };
    let agent: AgentProcess;
    try {
      agent = startAgentProcess({
        executable: located.executable,
        adapter,
        invocation: { prompt: execution.prompt, model, permissionMode: this.trigger.permissionMode, workingDirectory, env: { ...env, ...usageFile?.env } },
        mask: this.mask,
        onLine: (stream, text, events) => {
          if (stream === 'stdout') usageFile?.stdoutLine(text);
          for (const event of events) {
            if (event.type === 'error' && event.kind === 'rate_limit') rateLimit = event;
            if (event.type === 'error' && event.kind === 'auth') authFailed = true;
          }
          this.output(stream, text, events);
        },
      });
    } catch (error) {
      usageFile?.close();
      return this.end('failed', `could not start ${located.executable}: ${(error as Error).message}`, null);
    }
    this.process = agent;
    if (agent.pgid > 0) deps.executions.setProcessGroup(execution.id, agent.pgid, currentBoot(), leaderStart(agent.pgid));
    const credential = credentialOf(choice.backend, choice.account?.id ?? null);
    deps.accounts.recordEvent(credential, 'request', startedAt.toISOString(), { executionId: execution.id });
    this.log.info('attempt started', { pgid: agent.pgid, backend: choice.backend, account: choice.account?.name ?? null });
    // A stop asked for while the CLI was being located reaches it now.
    if (this.requestedStop()) void agent.stop({ graceMs: deps.stopGraceMs });

    let exit: Awaited<AgentProcess['done']> | undefined;
    let failure: string | undefined;
    try {
      exit = await agent.done;
    } catch (error) {
      // The process never started (ENOENT, EACCES…).
      failure = `could not start ${located.executable}: ${(error as Error).message}`;
    }
    // Its last records (written as the CLI exits) count before the running total is kept.
    usageFile?.close();
    this.process = undefined;
    this.keepProvisional();
    // The attempt's cost is settled (reported, or estimated at its own backend and model): the next attempt adds to it.
    if (this.usageUnstored) {
      // Its spend is the attempt's own row: kept with its place now, as the next attempt takes the next one.
      const attempt = this.attempts.length;
      const spend = { backend: choice.backend, accountId: choice.account?.id ?? null, usage: this.currentAttemptUsage() };
      this.record(() => deps.executions.setAttemptSpend(execution.id, attempt, spend));
    }
    this.earlierUsage = this.currentUsage();
    this.attemptUsage = null;
    // A stop that came after the CLI had exited (while its leftovers were ended) does not change how it ended.
    const stop = exit?.stopped === false ? undefined : this.requestedStop();
    const rateLimited = !stop && exit !== undefined && !exit.ok && rateLimit !== undefined;
    const endedAt = new Date();
    this.attempts.push({
      backend: choice.backend,
      accountId: choice.account?.id ?? null,
      accountName: choice.account?.name ?? null,
      outcome: stop ? (stop.state === 'failed' ? 'failed' : stop.state) : rateLimited ? 'rate_limited' : exit?.ok ? 'succeeded' : 'failed',
      reason: stop?.reason ?? (rateLimited ? this.masked(rateLimit!.message) : (failure ?? this.masked(exit?.reason ?? null))),
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs: endedAt.getTime() - startedAt.getTime(),
    });
    // The CLI has ended: what it did is recorded with its end, whenever the database takes it.
    this.record(() => deps.executions.setAttempts(execution.id, this.attempts));
    if (authFailed) this.record(() => deps.accounts.recordEvent(credential, 'auth_error', endedAt.toISOString(), { executionId: execution.id }));
    if (exit?.outputCut) this.line('system', `output cut: a process that left the group still held the CLI's stdout or stderr ${PIPE_DRAIN_MS / 1000} s after the group had ended; what it writes is not recorded`);

    if (stop) return this.end(stop.state, stop.reason, exit?.code ?? null);
    if (exit === undefined) return this.end('failed', failure ?? 'the CLI did not start', null);
    if (rateLimited) return { kind: 'rate_limited', retryAt: rateLimit!.retryAt, message: this.masked(rateLimit!.message) };
    if (exit.ok) this.clearCooldown(choice);
    return this.end(exit.ok ? 'succeeded' : 'failed', this.masked(exit.reason), exit.code);
  }

  /** A text taken from the CLI's output (its error, its rate-limit message), with its credentials masked. */
  private masked<T extends string | null>(text: T): T {
    return (text === null || !this.mask ? text : this.mask.scrub(text)) as T;
  }

  /** Read through a method: a stop can be requested across any await, which property narrowing does not see. */
  private requestedStop(): { state: StopState; reason: string } | undefined {
    return this.stopRequest;
  }

  private output(stream: OutputStream, text: string, events: AgentEvent[]): void {
    this.line(stream, text, events);
    let usageChanged = false;
    for (const event of events) {
      if (event.type === 'result') this.resultReported = true;
      if (event.type !== 'usage') continue;
      if (event.provisional) {
        this.runningUsage(event.inputTokens, event.outputTokens);
        continue;
      }
      // The CLI's own figures replace the running total.
      this.provisional = null;
      this.totalsReported = true;
      this.addUsage(event);
      usageChanged = true;
    }
    if (usageChanged) this.usageChanged();
  }

  /** The current attempt's running total so far (provisional: the CLI's own totals will replace it). */
  private runningUsage(inputTokens: number | null, outputTokens: number | null): void {
    if (this.totalsReported) return;
    this.provisional = { inputTokens, outputTokens };
    // Applied at most every PROVISIONAL_USAGE_MS: a budget needs no more, and a CLI flooding messages would otherwise write the execution row per line.
    this.provisionalTimer ??= setTimeout(() => {
      this.provisionalTimer = undefined;
      if (this.provisional) this.usageChanged();
    }, PROVISIONAL_USAGE_MS);
  }

  /** Follows the file where the CLI writes each API call's usage, for CLIs whose stdout has it only at the end (see usage-file.ts). */
  private followUsageFile(adapter: RunAdapter, env: Env): UsageFileRun | undefined {
    if (!adapter.usageFile) return undefined;
    try {
      return followUsageFile(adapter.usageFile, env, (tokens) => this.runningUsage(tokens.inputTokens, tokens.outputTokens));
    } catch (error) {
      // Without it the CLI's totals still come at the end: only a hard budget's stop comes later.
      this.log.warn('could not follow the usage file', { err: error });
      return undefined;
    }
  }

  /** The usage so far: the earlier attempts' and the current attempt's. */
  private currentUsage(): Usage {
    const earlier = this.earlierUsage;
    const current = this.currentAttemptUsage();
    return {
      inputTokens: add(earlier.inputTokens, current.inputTokens),
      outputTokens: add(earlier.outputTokens, current.outputTokens),
      costUsd: add(earlier.costUsd, current.costUsd),
      costEstimated: earlier.costEstimated || current.costEstimated,
      estimatedUsd: add(earlier.estimatedUsd, current.estimatedUsd),
    };
  }

  /**
   * The current attempt's usage so far: its tokens with the provisional ones on top, at the cost its CLI reported
   * or, without one, the price table's estimate (so a dollar budget sees it mid-run); nothing between attempts.
   */
  private currentAttemptUsage(): Usage {
    const attempt = this.attemptUsage;
    if (!attempt) return { inputTokens: null, outputTokens: null, costUsd: null, costEstimated: false, estimatedUsd: null };
    const tokens = { inputTokens: add(attempt.inputTokens, this.provisional?.inputTokens ?? null), outputTokens: add(attempt.outputTokens, this.provisional?.outputTokens ?? null) };
    // A reported cost replaces the estimate: estimates are only for CLIs that report none.
    const estimate = attempt.reportedCostUsd === null ? estimateCost(this.deps.prices(), attempt.backend, attempt.model, tokens) : null;
    return { ...tokens, costUsd: attempt.reportedCostUsd ?? estimate, costEstimated: estimate !== null, estimatedUsd: estimate };
  }

  /** The current attempt's spend, charged to its own backend and account (its place in `attempts` keeps counting across a requeue). */
  private recordAttemptSpend(): void {
    const { backend, account } = this.choice;
    this.deps.executions.setAttemptSpend(this.execution.id, this.attempts.length, { backend, accountId: account?.id ?? null, usage: this.currentAttemptUsage() });
  }

  /** An attempt ended without the CLI's totals (stopped, rate-limited): its running total is what it used. */
  private keepProvisional(): void {
    clearTimeout(this.provisionalTimer);
    this.provisionalTimer = undefined;
    if (!this.provisional) return;
    const { inputTokens, outputTokens } = this.provisional;
    this.provisional = null;
    this.addUsage({ type: 'usage', inputTokens, outputTokens, costUsd: null });
    this.usageChanged();
  }

  /**
   * Stores and publishes the usage so far, and checks the budgets against it. Called from the CLI's output
   * and from a timer, where a throw would end the worker: a database that refuses the write (another
   * process holds its lock, the disk is full) leaves the usage to the next update or to the end.
   */
  private usageChanged(): void {
    const { deps, execution } = this;
    const usage = this.currentUsage();
    deps.live.publish(execution.id, { kind: 'usage', usage });
    try {
      this.storeUsage(usage);
      // Usage that comes with (or after) the final result was spent on finished work: stopping the CLI as it exits saves nothing and would fail the run. The budget stops what comes after.
      const exhausted = this.resultReported ? null : deps.budgets.exhaustedWhileRunning(execution.id, execution.triggerId, this.choice.account?.id ?? null);
      if (exhausted) void this.stop('failed', `stopped: ${exhausted}`);
      deps.budgets.checkThresholds(execution.triggerId, this.choice.account?.id ?? null, execution.id);
    } catch (error) {
      if (!isStorageError(error)) throw error;
      if (!this.usageUnstored) this.log.warn('the usage could not be stored; the next update or the end stores it', { err: error });
      this.usageUnstored = true;
    }
  }

  /**
   * A record of what the run did once its CLI has ended (its attempts, an auth failure, a settled attempt's
   * spend). When the database refuses it, it is kept and stored with the end (storeEnd), so the way the
   * CLI ended stands: a lock held elsewhere does not turn a success into a failure.
   */
  private record(write: () => void): void {
    if (this.unstored.length === 0) {
      try {
        write();
        return;
      } catch (error) {
        if (!isStorageError(error)) throw error;
        this.log.warn('a record of the run could not be stored; the end stores it', { err: error });
      }
    }
    this.unstored.push(write);
  }

  /**
   * A success ends its account's cool-down — now or never: done later, it could clear a cool-down another
   * execution has set since. Left undone, the cool-down runs out on its own.
   */
  private clearCooldown(choice: Choice): void {
    try {
      this.deps.pool.succeeded(choice);
    } catch (error) {
      if (!isStorageError(error)) throw error;
      this.log.warn('a cool-down could not be cleared after a success; it runs out on its own', { err: error });
    }
  }

  /** Stores the records the database refused before, in order (throws, keeping the rest, when it refuses again). */
  private storeRecords(): void {
    while (this.unstored.length > 0) {
      this.unstored[0]!();
      this.unstored.shift();
    }
  }

  /** The execution's usage, and the current attempt's spend (between attempts, a settled one's was stored or recorded as it settled). */
  private storeUsage(usage: Usage): void {
    this.deps.executions.setUsage(this.execution.id, usage);
    if (this.attemptUsage) this.recordAttemptSpend();
    this.usageUnstored = false;
  }

  /** Adds usage the current attempt's CLI reported (or its running total, when it ended without its totals). */
  private addUsage(event: Extract<AgentEvent, { type: 'usage' }>): void {
    const attempt = this.attemptUsage;
    if (!attempt) return;
    attempt.inputTokens = add(attempt.inputTokens, event.inputTokens);
    attempt.outputTokens = add(attempt.outputTokens, event.outputTokens);
    attempt.reportedCostUsd = add(attempt.reportedCostUsd, event.costUsd);
  }

  private line(stream: LogStream, text: string, events: AgentEvent[] = []): void {
    const line = this.deps.logs.append(this.execution.id, stream, text, events.length > 0 ? events : undefined, this.mask);
    if (line) this.deps.live.publish(this.execution.id, { kind: 'log', line });
  }

  /**
   * Records the end in one synchronous step, so a stream either sees the final status live or finds it
   * stored. Throws when the database refuses it: the run's failure path then tries again (afterFailure).
   */
  private end(state: EndState, reason: string | null, exitCode: number | null): AttemptEnd {
    this.writeEnd({ state, reason, exitCode, endedAt: new Date().toISOString() });
    this.storeEnd();
    return { kind: 'ended' };
  }

  /** The closing line (the log store keeps it however the database answers). */
  private writeEnd(ending: Ending): void {
    const { state, reason, exitCode } = ending;
    this.line('system', `${state}${exitCode === null ? '' : ` (exit code ${exitCode})`}${reason ? `: ${reason}` : ''}`);
    this.ending = ending;
    this.deps.logs.finish(this.execution.id);
  }

  /** The end in the execution's row — after the records and usage the database refused before — and the budgets checked; each part once. */
  private storeEnd(): void {
    const { deps, execution } = this;
    this.storeRecords();
    if (this.usageUnstored) this.storeUsage(this.currentUsage());
    if (!this.endStored) {
      // Publishes the final status to live streams (LiveOutput.followEnds).
      deps.executions.finish(execution.id, this.ending!);
      this.endStored = true;
    }
    deps.budgets.checkThresholds(execution.triggerId, this.choice.account?.id ?? null, execution.id);
    const { state, reason, exitCode } = this.ending!;
    this.log.info('execution ended', { state, reason, exit_code: exitCode });
  }

  /**
   * The run failed on its way (a defect, or the database refusing a write): what still runs is stopped, the
   * execution ends `failed` unless it had ended already, and its end is stored — tried again while the
   * database refuses it, for up to END_RETRY_MS. Never throws: the worker goes on.
   */
  private async afterFailure(error: unknown): Promise<void> {
    const storage = isStorageError(error);
    if (storage && this.ending) this.log.warn('the end could not be stored yet; trying again', { err: error });
    else this.log.error('execution run failed unexpectedly', { err: error });
    try {
      // Nothing of an ended execution keeps running, nor adds lines or usage after its closing line.
      const agent = this.process;
      if (agent) {
        await agent.stop({ graceMs: this.deps.stopGraceMs });
        await agent.done.catch(() => undefined);
      }
      this.usageFile?.close();
      this.keepProvisional();
    } catch (cleanup) {
      this.log.error('what the execution started could not all be ended', { err: cleanup });
    }
    try {
      if (!this.ending) {
        const message = (error as Error).message;
        const reason = storage ? `the database refused a write while it ran (${message}); see the worker's log` : `internal error: ${message}`;
        this.writeEnd({ state: 'failed', reason, exitCode: null, endedAt: new Date().toISOString() });
      }
      const giveUpAt = Date.now() + END_RETRY_MS;
      for (let waitMs = 100; ; waitMs = Math.min(2 * waitMs, END_RETRY_MAX_WAIT_MS)) {
        try {
          this.storeEnd();
          return;
        } catch (refused) {
          if (!isStorageError(refused) || Date.now() >= giveUpAt) {
            this.log.error('the end of the execution could not be stored; the next start marks it interrupted', { err: refused });
            return;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    } catch (unexpected) {
      this.log.error('execution run could not be ended', { err: unexpected });
    }
  }
}

/** A sum where null is unknown: unknown only when both are. */
function add(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : a + b;
}

function label(choice: Choice): string {
  return choice.account ? `${choice.backend} account "${choice.account.name}"` : `${choice.backend} (environment credentials)`;
}
