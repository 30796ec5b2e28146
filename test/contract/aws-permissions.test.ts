/**
 * The permissions contract of one `npm test` run: every AWS call the functions made in the
 * integration and e2e tests (logged by the strict AwsTarget, bin/aws-fidelity/aws-contract.ts) must be
 * granted by that function's role in the synthesised stack. Runs after them (vitest groupOrder).
 */
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_FUNCTIONS, callLogDir, readCallLog, type AwsCall } from '#bin/aws-fidelity/aws-contract.ts';
import { checkPermissions, synthTemplate, type CfnTemplate } from '#test/support/permissions-contract.ts';
import type { CallVaultConfig } from '#contract/config.ts';

const dir = callLogDir();
const wired = existsSync(dir);
if (!wired) {
  console.warn(
    `AWS permissions contract skipped: no call log at ${dir}. No harness records its functions' AWS calls yet: ` +
      "build each function's AwsTarget with strictAwsTarget() from bin/aws-fidelity/aws-contract.ts, then run the integration or e2e tests before this one.",
  );
}

describe.skipIf(!wired)('AWS permissions contract of this run', () => {
  let calls: AwsCall[];
  let template: CfnTemplate;
  beforeAll(() => {
    calls = readCallLog(dir);
    // The scheduled reconcile is off by default: the contract is checked on a stack that has it.
    const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      context: { callvault: CallVaultConfig };
    };
    const config = cdkJson.context.callvault;
    template = synthTemplate({
      ...config,
      sources: config.sources.map((s) => (s.provider === 'hipcall' ? { ...s, reconcile: { everyMinutes: 60, lookBackHours: 24 } } : s)),
    });
  }, 120_000);

  it('saw every function make AWS calls, so the check below cannot pass by recording nothing', () => {
    const silent = CONTRACT_FUNCTIONS.filter((fn) => !calls.some((c) => c.fn === fn));
    expect(
      silent,
      `no AWS call recorded for ${silent.join(', ')} in ${dir}: wire strictAwsTarget(base, fn) into the harness of each (see bin/aws-fidelity/aws-contract.ts)`,
    ).toEqual([]);
  });

  it("makes no call its function's role does not allow", () => {
    const { violations, unexercised } = checkPermissions(template, calls);
    if (unexercised.length > 0) {
      console.log(
        `Grants no recorded call used (${unexercised.length}); remove them, or add a test that needs them:\n  ${unexercised.join('\n  ')}`,
      );
    }
    expect(violations, `AWS would refuse these calls (AccessDenied):\n  ${violations.join('\n  ')}\n`).toEqual([]);
  });
});
