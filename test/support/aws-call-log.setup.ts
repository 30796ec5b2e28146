/**
 * The vitest global setup that empties the AWS call log (bin/aws-fidelity/aws-call-log.ts names it).
 *
 * The integration project's global setup removes the directory, so each `npm test` starts from an
 * empty log; the recorders create it again on their first call (a run where nothing records leaves
 * no directory, which the contract test reports as "not wired" instead of failing).
 */
import { rmSync } from 'node:fs';
import { callLogDir } from '#bin/aws-fidelity/aws-call-log.ts';

export { CALL_LOG_ENV, callLogDir } from '#bin/aws-fidelity/aws-call-log.ts';

export default function clearCallLog(): void {
  rmSync(callLogDir(), { recursive: true, force: true });
}
