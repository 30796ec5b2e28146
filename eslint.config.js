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
