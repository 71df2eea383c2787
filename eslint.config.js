// ESLint 9 flat config (`npm run lint`, run by CI): typescript-eslint's recommended rules. Not the
// type-checked set: it runs the type checker on every lint, too slow for the 2 cores CI has, and
// `tsc` already checks types. The renderer's .svelte files are checked by svelte-check.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['build/', 'dist/', '.s3-data/', 'node_modules/', 'src-renderer/**/*.svelte'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Unused imports and variables are errors; `npm run lint -- --fix` removes unused imports.
      // A leading underscore marks a parameter or binding kept on purpose (a callback's signature).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'none',
          ignoreRestSiblings: true,
          enableAutofixRemoval: { imports: true },
        },
      ],
      // So that --fix leaves `import { test }`, not `import {   test }`, after removing names.
      // (A layout rule ESLint 10 drops from its core; @stylistic/no-multi-spaces takes over then.)
      'no-multi-spaces': 'error',
    },
  },
  { files: ['src-renderer/**/*.ts'], languageOptions: { globals: globals.browser } },
  // Node scripts that drive a browser: what they pass to page.evaluate runs in the page.
  { files: ['src-renderer/dev/**/*.mjs'], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
);
