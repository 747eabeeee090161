import vue from '@vitejs/plugin-vue';
import { configDefaults, defineConfig } from 'vitest/config';

/** Tests that measure time (a crashed worker back within 2 s, a cron tick on its second): run first, on their own, so other files' processes do not compete for the two cores. */
const TIMED = ['test/supervisor/**/*.test.ts', 'test/triggers/scheduler.test.ts'];

export default defineConfig({
  plugins: [vue()],
  test: {
    // Tests start real servers, processes and browsers: give them room, and
    // keep the two cores from being oversubscribed.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'timed', include: TIMED, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'rest', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...TIMED], sequence: { groupOrder: 1 } } },
    ],
  },
});
