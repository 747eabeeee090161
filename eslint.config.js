import js from '@eslint/js';
import globals from 'globals';
import vue from 'eslint-plugin-vue';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'http', 'https', 'net', 'url', 'util', 'events', 'stream', 'worker_threads'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', '.ci/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
  // Runtime layers: only the Electron shell (and its preload) may import electron.
  {
    files: ['**/*.{ts,js,mjs,vue}'],
    ignores: ['main/shell/**', 'preload/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'Only main/shell/ (and preload/) may import electron; keep the rest runnable under plain Node.' }] },
      ],
    },
  },
  // The renderer runs in a sandboxed browser page: no Node modules, no electron.
  {
    files: ['renderer/src/**/*.{ts,vue}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The renderer talks to main only through the preload API.' }],
          patterns: [
            { group: nodeBuiltins, message: 'The renderer runs in a browser sandbox: no Node modules.' },
            { group: ['**/main/**'], message: 'The renderer may import common/ only, never main/.' },
          ],
        },
      ],
    },
  },
  // common/ is shared by every layer: neither Node nor electron.
  {
    files: ['common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'common/ must run in every layer.' }],
          patterns: [
            { group: nodeBuiltins, message: 'common/ must run in every layer: no Node modules.' },
            { group: ['**/main/**', '**/renderer/**', '**/preload/**'], message: 'common/ imports nothing of the layers above it.' },
          ],
        },
      ],
    },
  },
);
