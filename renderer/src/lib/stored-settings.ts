import { onMounted, ref, shallowRef } from 'vue';
import type { SettingsView, StoredSettingsPatch } from '../../../common/api.js';
import { ApiCallError, describeError } from '../api/client.js';
import { useApi } from '../api/inject.js';

/**
 * A Settings section over stored settings: loaded from GET /api/settings when
 * the component mounts, saved through PATCH /api/settings. A setting its
 * environment variable sets is not the stored one (`fromEnvironment`): the
 * section shows it read-only and leaves it out of what it saves. `fill` copies
 * the view into the section's controls after the load and after each save;
 * `save` sends only the values that differ from it.
 */
export function useStoredSettings(fill: (view: SettingsView) => void) {
  const api = useApi();
  const view = shallowRef<SettingsView | null>(null);
  const loadError = shallowRef<unknown>(null);
  const state = ref<{ kind: 'idle' | 'saving' | 'saved' | 'failed'; message?: string }>({ kind: 'idle' });
  /** The server's refusal of a value, by setting name. */
  const issues = ref<Record<string, string>>({});

  const fromEnvironment = (name: string) => view.value?.settings[name]?.source === 'environment';

  function show(next: SettingsView): void {
    view.value = next;
    fill(next);
  }

  async function load(): Promise<void> {
    try {
      show(await api.settings());
      loadError.value = null;
    } catch (error) {
      loadError.value = error;
    }
  }

  async function save(patch: StoredSettingsPatch): Promise<void> {
    state.value = { kind: 'saving' };
    issues.value = {};
    // Only the fields changed since the section was filled: one sent as it was loaded would undo what another tab stored meanwhile.
    const changed = Object.fromEntries(Object.entries(patch).filter(([name, value]) => JSON.stringify(value) !== JSON.stringify(view.value?.settings[name]?.value)));
    try {
      show(await api.updateSettings(changed));
      state.value = { kind: 'saved' };
    } catch (error) {
      if (error instanceof ApiCallError && error.issues.length > 0) {
        issues.value = Object.fromEntries(error.issues.map((issue) => [issue.path.replace(/^body\./, ''), issue.message]));
      }
      state.value = { kind: 'failed', message: describeError(error) };
    }
  }

  onMounted(load);
  return { view, loadError, state, issues, fromEnvironment, load, save };
}
