import fs from 'node:fs';
import path from 'node:path';
import type { AgentEvent, Execution } from '../../common/executions.js';
import type { Backend, TriggerDefinition } from '../../common/triggers.js';
import type { BackendAdapter } from '../backends/adapter.js';
import type { BackendLocator } from '../backends/locator.js';
import type { EndState, ExecutionRepository, Usage } from '../storage/execution-repository.js';
import type { Logger } from '../telemetry/logger.js';
import { startAgentProcess, type AgentProcess, type OutputStream } from './agent-process.js';
import type { LiveOutput } from './live-output.js';
import type { LogStore, LogStream } from './log-store.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface RunDependencies {
  executions: ExecutionRepository;
  logs: LogStore;
  live: LiveOutput;
  adapters: Readonly<Partial<Record<Backend, BackendAdapter>>>;
  locator: BackendLocator;
  /** The worker's environment; the CLI gets it without Agented's own variables, with the login shell's PATH. */
  env: Env;
  /** Where executions of triggers without a working directory run, one folder each. */
  workspacesDir: string;
  /** Grace after SIGINT, and after SIGTERM, before the next signal. */
  stopGraceMs: number;
  logger: Logger;
}

export type StopState = Extract<EndState, 'cancelled' | 'timed_out' | 'interrupted'>;

function addUsage(total: Usage, event: Extract<AgentEvent, { type: 'usage' }>): Usage {
  const add = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : a + b);
  return { inputTokens: add(total.inputTokens, event.inputTokens), outputTokens: add(total.outputTokens, event.outputTokens), costUsd: add(total.costUsd, event.costUsd) };
}

/**
 * One execution from start to end: find the CLI, spawn it in its own process
 * group, store and publish every line, enforce the timeout, and record how it
 * ended. A stop (cancel, timeout, shutdown) may come at any moment, also
 * before the process exists.
 */
export class ExecutionRun {
  readonly finished: Promise<void>;
  private process: AgentProcess | undefined;
  private stopRequest: { state: StopState; reason: string } | undefined;
  private usage: Usage = { inputTokens: null, outputTokens: null, costUsd: null };
  private readonly log: Logger;

  constructor(
    private readonly deps: RunDependencies,
    readonly execution: Execution,
    private readonly trigger: TriggerDefinition,
  ) {
    this.log = deps.logger.child({ execution_id: execution.id, trigger_id: execution.triggerId, backend: execution.backend });
    this.finished = this.run().catch((error: unknown) => {
      this.log.error('execution run failed unexpectedly', { err: error });
      this.end('failed', `internal error: ${(error as Error).message}`, null);
    });
  }

  /** Ends the run with `state` (unless it ends by itself first); resolves when it has ended and no process of its group is left. */
  async stop(state: StopState, reason: string): Promise<void> {
    this.stopRequest ??= { state, reason };
    await this.process?.stop({ graceMs: this.deps.stopGraceMs });
    await this.finished;
  }

  private async run(): Promise<void> {
    const { execution, deps } = this;
    const located = await deps.locator.locate(execution.backend);
    const early = this.requestedStop();
    if (early) return this.end(early.state, early.reason, null);
    if (!located.ok) return this.end('failed', located.hint, null);
    const adapter = deps.adapters[execution.backend];
    if (!adapter) return this.end('failed', `no adapter for the ${execution.backend} backend`, null);

    const workingDirectory = this.trigger.workingDirectory ?? path.join(deps.workspacesDir, execution.id);
    if (this.trigger.workingDirectory === null) fs.mkdirSync(workingDirectory, { recursive: true });
    else if (!fs.existsSync(workingDirectory)) return this.end('failed', `the working directory ${workingDirectory} does not exist`, null);

    this.line('system', `starting ${located.executable} in ${workingDirectory} (permission mode ${this.trigger.permissionMode}${execution.model ? `, model ${execution.model}` : ''})`);
    let agent: AgentProcess;
    try {
      agent = startAgentProcess({
        executable: located.executable,
        adapter,
        invocation: {
          prompt: execution.prompt,
          model: execution.model,
          permissionMode: this.trigger.permissionMode,
          workingDirectory,
          env: { ...deps.env, PATH: located.searchPath },
        },
        onLine: (stream, text, events) => this.output(stream, text, events),
      });
    } catch (error) {
      return this.end('failed', `could not start ${located.executable}: ${(error as Error).message}`, null);
    }
    this.process = agent;
    if (agent.pgid > 0) deps.executions.setProcessGroup(execution.id, agent.pgid);
    this.log.info('execution started', { pgid: agent.pgid });

    const timeoutSeconds = this.trigger.timeoutSeconds;
    const timer = setTimeout(() => void this.stop('timed_out', `ran longer than its timeout of ${timeoutSeconds} s`), timeoutSeconds * 1000);
    // A stop asked for while the CLI was being located reaches it now.
    if (this.requestedStop()) void agent.stop({ graceMs: deps.stopGraceMs });
    try {
      const exit = await agent.done;
      const stop = this.requestedStop();
      if (stop) return this.end(stop.state, stop.reason, exit.code);
      return this.end(exit.ok ? 'succeeded' : 'failed', exit.reason, exit.code);
    } catch (error) {
      // The process never started (ENOENT, EACCES…).
      const stop = this.requestedStop();
      return this.end(stop?.state ?? 'failed', stop?.reason ?? `could not start ${located.executable}: ${(error as Error).message}`, null);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Read through a method: a stop can be requested across any await, which property narrowing does not see. */
  private requestedStop(): { state: StopState; reason: string } | undefined {
    return this.stopRequest;
  }

  private output(stream: OutputStream, text: string, events: AgentEvent[]): void {
    this.line(stream, text, events);
    let usageChanged = false;
    for (const event of events) {
      if (event.type !== 'usage') continue;
      this.usage = addUsage(this.usage, event);
      usageChanged = true;
    }
    if (usageChanged) {
      this.deps.executions.setUsage(this.execution.id, this.usage);
      this.deps.live.publish(this.execution.id, { kind: 'usage', usage: this.usage });
    }
  }

  private line(stream: LogStream, text: string, events: AgentEvent[] = []): void {
    const line = this.deps.logs.append(this.execution.id, stream, text, events.length > 0 ? events : undefined);
    if (line) this.deps.live.publish(this.execution.id, { kind: 'log', line });
  }

  /** Records the end in one synchronous step, so a stream either sees the final status live or finds it stored. */
  private end(state: EndState, reason: string | null, exitCode: number | null): void {
    const { execution, deps } = this;
    this.line('system', `${state}${exitCode === null ? '' : ` (exit code ${exitCode})`}${reason ? `: ${reason}` : ''}`);
    deps.logs.finish(execution.id);
    // Publishes the final status to live streams (LiveOutput.followEnds).
    deps.executions.finish(execution.id, { state, reason, exitCode, endedAt: new Date().toISOString() });
    this.log.info('execution ended', { state, reason, exit_code: exitCode });
  }
}
