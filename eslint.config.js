import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** One import style: shared code through package.json "imports" aliases (#core/*, #adapters/*, #lib/*, …), never by climbing. */
const noClimbing = { regex: '^\\.\\./', message: 'Import through a package.json alias (#core/*, #adapters/*, #functions/*, #lib/*, #bin/*, #test/*, #bench/*), not ../' };

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.callvault/', 'coverage/', '.bench/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [noClimbing] }],
    },
  },
  {
    // Deployed code reads its environment in one place per function (functions/<name>/deps.ts), and never
    // switches to local behaviour by itself: the local stack passes what it needs into the composition root.
    files: ['functions/**/*.ts'],
    ignores: ['functions/*/deps.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: "Read the environment in the function's composition root (functions/<name>/deps.ts) and pass values in." }],
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'Literal[value=/^CALLVAULT_(LOCAL|MODE)/]', message: 'No local-mode switches in deployed code: bin/local builds the local dependencies and passes them to the composition root.' },
        { selector: 'TemplateElement[value.raw=/CALLVAULT_(LOCAL|MODE)/]', message: 'No local-mode switches in deployed code: bin/local builds the local dependencies and passes them to the composition root.' },
      ],
    },
  },
  {
    // The domain stays pure: no AWS SDK, no I/O, no lib/ (CDK-side code) and no environment in functions/core.
    files: ['functions/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            noClimbing,
            { group: ['@aws-sdk/*', 'aws-cdk-lib', 'aws-cdk-lib/*', 'node:http', 'node:https', 'undici'], message: 'functions/core is pure: I/O belongs in functions/adapters.' },
            { regex: '^#(lib|adapters|functions|bin|test|bench)/', message: 'functions/core depends on nothing outside itself: move the type into core, or pass it in.' },
          ],
        },
      ],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'functions/core is pure: pass configuration in.' }],
    },
  },
);
