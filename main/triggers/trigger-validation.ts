import { Cron } from 'croner';
import type { TriggerDefinition } from '../../common/triggers.js';
import { ApiError } from '../server/errors.js';
import { TemplateError, templateFields } from './prompt-template.js';

type Issue = { path: string; message: string };

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Control characters (tab and newline too: a name is one line), bidi controls, zero-width and other
 * invisible format characters, but the zero-width joiner emoji are made with. Checked on input only:
 * a stored name from before is still read.
 */
const NOT_IN_A_NAME = /(?!\u200D)[\p{Cc}\p{Cf}]/u;
/** A subdivision flag (England, Scotland, Wales): a black flag, tag characters, a cancel tag — format characters an emoji needs. */
const SUBDIVISION_FLAG = /\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F}/gu;

/**
 * Checks what the schema cannot: a name that displays as it reads, the templates parse and reference only
 * declared parameters, the cron expression and time zone are real. Throws
 * ERR_VALIDATION naming each field.
 */
export function validateTriggerDefinition(definition: TriggerDefinition, check: { name: boolean; mention: boolean } = { name: true, mention: true }): void {
  const issues: Issue[] = [];
  const declared = new Set(definition.params.map((param) => param.name));
  for (const [path, template] of [['body.promptTemplate', definition.promptTemplate], ['body.concurrency.key', definition.concurrency.key]] as const) {
    try {
      for (const field of templateFields(template)) {
        const [root, name] = field.split('.');
        if (root === 'params' && name !== undefined && !declared.has(name)) issues.push({ path, message: `{{${field}}} is not a declared parameter` });
      }
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      issues.push({ path, message: error.message });
    }
  }
  const mention = definition.github?.mention;
  // What GitHub turns into a mention: @ and a user, or an organisation's team (@org/team). Without the @ the word would never match one.
  if (check.mention && mention && !/^@[A-Za-z0-9](?:[A-Za-z0-9-]*)(?:\/[A-Za-z0-9_.-]+)?$/.test(mention)) {
    issues.push({ path: 'body.github.mention', message: 'a GitHub handle with its @, such as "@agented" or "@my-org/reviewers"' });
  }
  if (definition.schedule) {
    const zoneValid = isTimeZone(definition.schedule.timezone);
    if (!zoneValid) issues.push({ path: 'body.schedule.timezone', message: 'not an IANA time zone' });
    try {
      // The expression reads the same in any zone: with a bad one it is still checked, so one answer names both fields.
      new Cron(definition.schedule.cron, { timezone: zoneValid ? definition.schedule.timezone : undefined, paused: true }).stop();
    } catch (error) {
      issues.push({ path: 'body.schedule.cron', message: `not a valid cron expression: ${(error as Error).message}` });
    }
  }
  // The name is shown in the UI and in notifications and goes into prompts as {{trigger.name}}, as it is.
  if (check.name && NOT_IN_A_NAME.test(definition.name.replace(SUBDIVISION_FLAG, ''))) issues.push({ path: 'body.name', message: 'no control characters, and no bidi or invisible formatting characters' });
  // The rendered prompt is a command-line argument, which cannot carry a NUL: the CLI could never start (values put into it are cleaned of them).
  if (definition.promptTemplate.includes('\u0000')) issues.push({ path: 'body.promptTemplate', message: 'no NUL characters: a command line cannot carry them' });
  // A request body may not carry a key named __proto__ (json-body.ts): such a parameter could never be given.
  if (definition.params.some((param) => param.name === '__proto__')) issues.push({ path: 'body.params', message: 'a parameter cannot be named __proto__' });
  if (new Set(definition.params.map((param) => param.name)).size !== definition.params.length) {
    issues.push({ path: 'body.params', message: 'parameter names must be unique' });
  }
  if (issues.length > 0) throw new ApiError('ERR_VALIDATION', undefined, issues);
}
