/**
 * Where one test run's AWS calls are logged, and the vitest global setup that empties it. Kept free
 * of SDK imports: vitest.config.ts reads it.
 *
 * The integration project's global setup removes the directory, so each `npm test` starts from an
 * empty log; the recorders create it again on their first call (a run where nothing records leaves
 * no directory, which the contract test reports as "not wired" instead of failing).
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The environment variable naming the call log directory (inherited by child processes). */
export const CALL_LOG_ENV = 'CALLVAULT_AWS_CALL_LOG';
/** `.test-output/aws-calls` in this checkout, unless CALLVAULT_AWS_CALL_LOG names another directory. */
export const callLogDir = (env: NodeJS.ProcessEnv = process.env): string => env[CALL_LOG_ENV] || fileURLToPath(new URL('../../.test-output/aws-calls', import.meta.url));

export default function clearCallLog(): void {
  rmSync(callLogDir(), { recursive: true, force: true });
}
