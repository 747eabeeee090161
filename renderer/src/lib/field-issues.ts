import { computed, nextTick, ref, type Ref } from 'vue';
import { ApiCallError, describeError, type FieldIssue } from '../api/client.js';

/**
 * The server's zod issues of a form, placed under the fields that own their
 * paths (`body.limitUsd` → the cost limit), the rest listed on top; the first
 * invalid field gets the focus. The server is the one judge of a form.
 */
export function useFieldIssues(fields: Record<string, string[]>) {
  const issues = ref<FieldIssue[]>([]);
  const failure = ref<string | null>(null);
  const placed = computed(() => issues.value.map((issue) => ({ ...issue, field: issue.path.replace(/^body\.?/, '') })));
  const owns = (paths: string[], field: string) => paths.some((path) => field === path || field.startsWith(`${path}.`));

  const errorsOf = (control: string): string[] => placed.value.filter((issue) => owns(fields[control] ?? [control], issue.field)).map((issue) => issue.message);
  const invalid = (control: string): boolean => errorsOf(control).length > 0;
  const describedBy = (control: string, help?: string): string | undefined => (invalid(control) ? `${control}-error` : help);
  const unplaced = computed(() => placed.value.filter((issue) => !Object.values(fields).some((paths) => owns(paths, issue.field))));

  function clear(): void {
    issues.value = [];
    failure.value = null;
  }

  /** Shows why a save failed. `issueFor` turns a coded error that concerns one field (a duplicate name) into an issue of that field. */
  async function show(error: unknown, what: string, form: Ref<HTMLElement | null>, issueFor?: (error: ApiCallError) => FieldIssue | null): Promise<void> {
    const own = error instanceof ApiCallError ? issueFor?.(error) : null;
    if (error instanceof ApiCallError && (own || (error.code === 'ERR_VALIDATION' && error.issues.length > 0))) {
      issues.value = own ? [own] : error.issues;
      const count = issues.value.length;
      failure.value = `The server did not accept the ${what}: ${count === 1 ? 'one field needs' : `${count} fields need`} a change.`;
      await nextTick();
      form.value?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    } else {
      issues.value = [];
      failure.value = describeError(error);
    }
  }

  return { issues, failure, errorsOf, invalid, describedBy, unplaced, clear, show };
}
