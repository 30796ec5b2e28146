import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vitest from '@vitest/eslint-plugin';
import { importGraph } from './eslint.import-graph.js';

/** One import style: shared code through package.json "imports" aliases (#core/*, #adapters/*, #lib/*, …), never by climbing. */
const noClimbing = {
  regex: '^\\.\\./',
  message: 'Import through a package.json alias (#core/*, #adapters/*, #functions/*, #lib/*, #bin/*, #test/*, #bench/*), not ../',
};

/**
 * The layers, bottom up: functions/core → functions/contract → functions/adapters → functions/<name> → lib
 * (the CDK side) → bin/aws-fidelity → bin/local → bin/cli. Each may import only what is below it.
 */
const layer = (files, forbidden, message, ignores = [], extra = []) => ({
  files,
  ignores,
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      { patterns: [noClimbing, { regex: `^#(${forbidden.join('|')})/`, message }, ...extra] },
    ],
  },
});

/** Deployed code reads the config compiled into its bundle: building the zod schema at cold start is what that avoids. */
const noConfigSchema = {
  regex: '^#contract/config-schema\\.ts$',
  allowTypeImports: true,
  message: 'Deployed code reads #contract/config.ts (types and lookups); the schema is for synth, the CLI and the local stack.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.callvault/', 'coverage/', '.bench/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    rules: {
      // The asynchronous code's two sharpest edges: a promise nobody awaits, and one passed where a callback's result is ignored.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
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
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: "Read the environment in the function's composition root (functions/<name>/deps.ts) and pass values in.",
        },
      ],
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Literal[value=/^CALLVAULT_(LOCAL|MODE)/]',
          message:
            'No local-mode switches in deployed code: bin/local builds the local dependencies and passes them to the composition root.',
        },
        {
          selector: 'TemplateElement[value.raw=/CALLVAULT_(LOCAL|MODE)/]',
          message:
            'No local-mode switches in deployed code: bin/local builds the local dependencies and passes them to the composition root.',
        },
      ],
    },
  },
  {
    // The domain stays pure: no AWS SDK, no I/O, no environment, and nothing outside itself.
    files: ['functions/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            noClimbing,
            {
              group: ['@aws-sdk/*', 'aws-cdk-lib', 'aws-cdk-lib/*', 'node:http', 'node:https', 'undici'],
              message: 'functions/core is pure: I/O belongs in functions/adapters.',
            },
            {
              regex: '^#(contract|lib|adapters|functions|bin|test|bench)/',
              message: 'functions/core depends on nothing outside itself: move the type into core, or pass it in.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'functions/core is pure: pass configuration in.' },
      ],
    },
  },
  layer(
    ['functions/contract/**/*.ts'],
    ['adapters', 'functions', 'lib', 'bin', 'test', 'bench'],
    'functions/contract (config schema, resource definitions) stands on functions/core only.',
  ),
  layer(
    ['functions/adapters/**/*.ts'],
    ['functions', 'lib', 'bin', 'test', 'bench'],
    'functions/adapters implement the ports for the functions: they import core and contract only.',
    [],
    [noConfigSchema],
  ),
  layer(
    ['functions/*/*.ts'],
    ['lib', 'bin', 'test', 'bench'],
    'Deployed code never imports the CDK side (lib/), the programs (bin/) or tests: move what both need into functions/contract.',
    ['functions/core/**', 'functions/contract/**', 'functions/adapters/**'],
    [noConfigSchema],
  ),
  layer(['lib/**/*.ts'], ['bin', 'test', 'bench'], 'lib/ is the CDK side: it builds on functions/ and never on the programs or tests.'),
  layer(
    ['bin/aws-fidelity/**/*.ts'],
    ['lib', 'bin/local', 'bin/cli', 'test', 'bench'],
    'The AWS-fidelity layer stands under the local stack and the tests; it imports only functions/.',
  ),
  layer(
    ['bin/local/**/*.ts', 'bin/local.ts'],
    ['bin/cli', 'test', 'bench'],
    'The local stack stands under the CLI: move what both need into bin/local or functions/.',
  ),
  layer(['bin/cli/**/*.ts', 'bin/callvault.ts'], ['test', 'bench'], 'The CLI never imports tests or benchmarks.'),
  {
    // A test must be able to fail: every test asserts (CDK's Template assertions count), and never only on one branch.
    files: ['test/**/*.ts'],
    plugins: { vitest },
    rules: {
      'vitest/expect-expect': [
        'error',
        { assertFunctionNames: ['expect', 'expect*', 'stops', '**.hasResourceProperties', '**.hasResource', '**.resourceCountIs'] },
      ],
      'vitest/no-conditional-expect': 'error',
    },
  },
  {
    // vitest types its asymmetric matchers `any`, which the type-aware rules then flag where they sit in an
    // expected object: test/support/match.ts gives the same matchers typed `unknown`.
    files: ['test/**/*.ts'],
    ignores: ['test/support/match.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['any', 'stringMatching', 'stringContaining', 'arrayContaining', 'objectContaining'].map((property) => ({
          object: 'expect',
          property,
          message: `Use match.${property}(…) from #test/support/match.ts: vitest types expect.${property} as any.`,
        })),
      ],
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-graph': importGraph },
    rules: { 'import-graph/no-import-cycle': 'error' },
  },
  // The config files are plain JavaScript outside the TypeScript project.
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
);
