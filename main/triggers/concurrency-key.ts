import { lookupSegments, valueAsText } from './payload-path.js';
import { fillTemplate, type PromptSources } from './prompt-template.js';

const MAX_KEY_LENGTH = 200;

/**
 * The concurrency key of an execution, rendered from the trigger's key
 * template (e.g. `{{payload.pull_request.number}}`). It never reaches a
 * prompt, only comparisons, so it is not wrapped — just stripped of control
 * characters and capped. An empty template or an empty result means no key.
 */
export function renderConcurrencyKey(template: string, sources: PromptSources): string | null {
  if (template.trim() === '') return null;
  let key = fillTemplate(template, (root, segments) => valueAsText(lookupSegments(root === 'payload' ? sources.payload : root === 'params' ? sources.params : sources.trigger, segments)));
  // eslint-disable-next-line no-control-regex
  key = key.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').slice(0, MAX_KEY_LENGTH);
  return key === '' ? null : key;
}
