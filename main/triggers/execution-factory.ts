import type { ExecutionSource, PromptContextEntry } from '../../common/executions.js';
import type { NewExecution } from '../storage/execution-repository.js';
import type { StoredTrigger } from '../storage/trigger-repository.js';
import { renderConcurrencyKey } from './concurrency-key.js';
import { newId } from './ids.js';
import { renderPrompt } from './prompt-template.js';

export interface ExecutionRequest {
  trigger: StoredTrigger;
  source: ExecutionSource;
  payload: unknown;
  params: Record<string, unknown>;
  deliveryId: string | null;
  now: Date;
}

/** What an execution takes from its inputs: the prompt rendered through the guardrails, its context audit, the concurrency key. */
export interface ExecutionContent {
  prompt: string;
  promptContext: PromptContextEntry[];
  concurrencyKey: string | null;
}

/** Renders a trigger's templates over the inputs of one execution (no ids, no clock: the same inputs give the same content). */
export function renderExecutionContent(
  trigger: Pick<StoredTrigger, 'id' | 'definition'>,
  inputs: { payload: unknown; params: Record<string, unknown> },
  options: { maxValueLength: number },
): ExecutionContent {
  const { definition } = trigger;
  const sources = { payload: inputs.payload, params: inputs.params, trigger: { id: trigger.id, name: definition.name } };
  const rendered = renderPrompt(definition.promptTemplate, sources, { maxValueLength: options.maxValueLength });
  return { prompt: rendered.prompt, promptContext: rendered.context, concurrencyKey: renderConcurrencyKey(definition.concurrency.key, sources) };
}

/**
 * A queued execution for a trigger: the prompt rendered through the
 * guardrails (with its context audit), the concurrency key, the backend. The
 * same for every way an execution starts (webhook, schedule, manual).
 */
export function buildQueuedExecution(request: ExecutionRequest, options: { maxValueLength: number }): NewExecution {
  return queuedExecution(request, renderExecutionContent(request.trigger, request, options));
}

/** The queued execution of already rendered content (a webhook delivery's is rendered where it was prepared). */
export function queuedExecution(request: Omit<ExecutionRequest, 'payload'>, content: ExecutionContent): NewExecution {
  const { trigger } = request;
  return {
    id: newId('exe'),
    triggerId: trigger.id,
    source: request.source,
    state: 'queued',
    reason: null,
    backend: trigger.definition.backend,
    model: trigger.definition.model,
    params: request.params,
    prompt: content.prompt,
    promptContext: content.promptContext,
    concurrencyKey: content.concurrencyKey,
    deliveryId: request.deliveryId,
    replayOf: null,
    createdAt: request.now.toISOString(),
  };
}
