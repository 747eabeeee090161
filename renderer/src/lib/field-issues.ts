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
      await place(own ? [own] : error.issues, `The server did not accept the ${what}`, form);
    } else {
      issues.value = [];
      failure.value = describeError(error);
    }
  }

  /** Number fields whose last typed text the browser could not read ("1e", "--1"): it reports them empty, and v-model empties them on change. */
  const unreadable = new Set<string>();

  /** For the form's `input` events: notes which named number fields hold text that is not a number. */
  function noteNumber(event: Event): void {
    const input = event.target as HTMLInputElement;
    if (input.type !== 'number' || input.name === '') return;
    if (input.validity.badInput) unreadable.add(input.name);
    else unreadable.delete(input.name);
  }

  /**
   * Refuses to send a form whose number fields were typed as text the browser could not read: read as
   * empty, which in some forms means something (no limit), the save would change what the reader did
   * not mean to. Said once: the field is empty by then, and saved again empty it is meant so.
   */
  async function refuseUnreadableNumbers(what: string, form: Ref<HTMLElement | null>): Promise<boolean> {
    if (unreadable.size === 0) return false;
    const found = [...unreadable].map((name) => ({ path: `body.${name}`, message: 'what was typed here is not a number, and was cleared: type it again (as 10.5), or leave it empty' }));
    unreadable.clear();
    await place(found, `The ${what} was not saved`, form);
    return true;
  }

  async function place(found: FieldIssue[], lead: string, form: Ref<HTMLElement | null>): Promise<void> {
    issues.value = found;
    failure.value = `${lead}: ${found.length === 1 ? 'one field needs' : `${found.length} fields need`} a change.`;
    await nextTick();
    form.value?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }

  return { issues, failure, errorsOf, invalid, describedBy, unplaced, clear, show, noteNumber, refuseUnreadableNumbers };
}
