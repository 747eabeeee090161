import type { TriggerParam } from '../../common/triggers.js';
import { ApiError } from '../server/errors.js';

/** Checks manual-run parameters against the trigger's declared ones: types, required, nothing unknown. */
export function validateRunParams(declared: readonly TriggerParam[], params: Record<string, unknown>): Record<string, unknown> {
  const issues: { path: string; message: string }[] = [];
  const byName = new Map(declared.map((param) => [param.name, param]));
  for (const name of Object.keys(params)) {
    if (!byName.has(name)) issues.push({ path: `body.params.${name}`, message: 'not a declared parameter of this trigger' });
  }
  // Own properties only: a parameter may be named like a member every object inherits (`constructor`, `toString`).
  const valueOf = (name: string): unknown => (Object.hasOwn(params, name) ? params[name] : undefined);
  for (const param of declared) {
    const value = valueOf(param.name);
    // A required string must say something: the run form leaves a blank field out, and a script's blank must not pass either.
    if (value === undefined || value === null || (param.required && value === '')) {
      if (param.required) issues.push({ path: `body.params.${param.name}`, message: 'required' });
      continue;
    }
    const ok = param.type === 'number' ? typeof value === 'number' && Number.isFinite(value) : typeof value === param.type;
    if (!ok) issues.push({ path: `body.params.${param.name}`, message: `expected a ${param.type}` });
    else if (typeof value === 'string' && value.length > 100_000) issues.push({ path: `body.params.${param.name}`, message: 'longer than 100,000 characters' });
  }
  if (issues.length > 0) throw new ApiError('ERR_VALIDATION', undefined, issues);
  return Object.fromEntries(declared.filter((param) => valueOf(param.name) !== undefined && valueOf(param.name) !== null).map((param) => [param.name, valueOf(param.name)]));
}
