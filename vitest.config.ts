import { defineConfig } from 'vitest/config';
import { CALL_LOG_ENV, callLogDir } from './bin/aws-fidelity/aws-call-log.ts';

/** Integration and e2e tests log their functions' AWS calls here; the contract project checks them. */
const callLog = { [CALL_LOG_ENV]: callLogDir() };

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      { test: { name: 'infra', include: ['test/infra/**/*.test.ts'], environment: 'node', testTimeout: 120_000, hookTimeout: 120_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          env: callLog,
          // Each run starts from an empty call log.
          globalSetup: ['test/support/aws-call-log.setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          env: callLog,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'fault',
          include: ['test/fault/**/*.test.ts'],
          environment: 'node',
          // Each file starts its own emulator processes and kills some of them: one file at a time keeps
          // the 2-core machine's timings within the functions' budgets.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'contract',
          include: ['test/contract/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // After every other project: it reads the AWS calls the integration and e2e tests logged.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
