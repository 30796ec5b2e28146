/**
 * The permissions contract of one `npm test` run: every AWS call the functions made in the
 * integration and e2e tests (logged by the strict AwsTarget, bin/aws-fidelity/aws-contract.ts) must be
 * granted by that function's role in the synthesised stack, and with protection.kms on, so must every KMS
 * use those calls imply (test/support/permissions-contract.ts). Runs after them (vitest groupOrder). A run
 * that recorded nothing fails here: a contract that checks no call proves nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_FUNCTIONS, callLogDir, readCallLog, type AwsCall } from '#bin/aws-fidelity/aws-contract.ts';
import { checkPermissions, synthTemplate, type CfnTemplate } from '#test/support/permissions-contract.ts';
import type { CallVaultConfig } from '#contract/config.ts';

const dir = callLogDir();

/** cdk.json's config with every optional function on: reconcile on the Hipcall sources, silence on all. */
function everyFunction(): CallVaultConfig {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: { callvault: CallVaultConfig };
  };
  const config = cdkJson.context.callvault;
  return {
    ...config,
    sources: config.sources.map((s) => ({
      ...s,
      ...(s.provider === 'hipcall' ? { reconcile: { everyMinutes: 60, lookBackHours: 24 } } : {}),
      silence: { minutes: 30, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'UTC' },
    })),
  };
}

describe('AWS permissions contract of this run', () => {
  let calls: AwsCall[];
  let plain: CfnTemplate;
  let withKms: CfnTemplate;
  beforeAll(() => {
    calls = readCallLog(dir);
    const config = everyFunction();
    plain = synthTemplate(config);
    withKms = synthTemplate({ ...config, protection: { ...config.protection, kms: true } });
  }, 120_000);

  it('has a call log to judge', () => {
    expect(
      existsSync(dir),
      `no call log at ${dir}: run the integration or e2e tests first (npm test runs them before this one), with each harness building its function's AwsTarget with strictAwsTarget() from bin/aws-fidelity/aws-contract.ts`,
    ).toBe(true);
  });

  it('saw every function make AWS calls, so the check below cannot pass by recording nothing', () => {
    const silent = CONTRACT_FUNCTIONS.filter((fn) => !calls.some((c) => c.fn === fn));
    expect(
      silent,
      `no AWS call recorded for ${silent.join(', ')} in ${dir}: wire strictAwsTarget(base, fn) into the harness of each (see bin/aws-fidelity/aws-contract.ts)`,
    ).toEqual([]);
  });

  it("makes no call its function's role does not allow", () => {
    const { violations, unexercised } = checkPermissions(plain, calls);
    if (unexercised.length > 0) {
      console.log(
        `Grants no recorded call used (${unexercised.length}); remove them, or add a test that needs them:\n  ${unexercised.join('\n  ')}`,
      );
    }
    expect(violations, `AWS would refuse these calls (AccessDenied):\n  ${violations.join('\n  ')}\n`).toEqual([]);
  });

  it('with protection.kms on, also grants every use of the data key those calls imply, through the service that makes it', () => {
    const { violations } = checkPermissions(withKms, calls);
    expect(violations, `AWS would refuse these calls (AccessDenied):\n  ${violations.join('\n  ')}\n`).toEqual([]);
  });
});
