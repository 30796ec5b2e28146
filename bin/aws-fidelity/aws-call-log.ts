/**
 * Where one test run's AWS calls are logged. Kept free of SDK imports: vitest.config.ts reads it, and
 * the local stack reads the variable to decide whether to record its functions' calls at all.
 */
import { fileURLToPath } from 'node:url';

/** The environment variable naming the call log directory (inherited by child processes). */
export const CALL_LOG_ENV = 'CALLVAULT_AWS_CALL_LOG';
/** `.test-output/aws-calls` in this checkout, unless CALLVAULT_AWS_CALL_LOG names another directory. */
export const callLogDir = (env: NodeJS.ProcessEnv = process.env): string =>
  env[CALL_LOG_ENV] || fileURLToPath(new URL('../../.test-output/aws-calls', import.meta.url));
