import type { ExecutionSource } from '../../common/executions.js';
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

/**
 * A queued execution for a trigger: the prompt rendered through the
 * guardrails (with its context audit), the concurrency key, the backend. The
 * same for every way an execution starts (webhook, schedule, manual).
 */
export function buildQueuedExecution(request: ExecutionRequest, options: { maxValueLength: number }): NewExecution {
  const { trigger } = request;
  const sources = { payload: request.payload, params: request.params, trigger: { id: trigger.id, name: trigger.definition.name } };
  const rendered = renderPrompt(trigger.definition.promptTemplate, sources, { maxValueLength: options.maxValueLength });
  return {
    id: newId('exe'),
    triggerId: trigger.id,
    source: request.source,
    state: 'queued',
    reason: null,
    backend: trigger.definition.backend,
    model: trigger.definition.model,
    params: request.params,
    prompt: rendered.prompt,
    promptContext: rendered.context,
    concurrencyKey: renderConcurrencyKey(trigger.definition.concurrency.key, sources),
    deliveryId: request.deliveryId,
    replayOf: null,
    createdAt: request.now.toISOString(),
  };
}
