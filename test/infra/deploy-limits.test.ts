/**
 * The deploy-time limits checked at synth (lib/deploy-limits.ts): a 50-source stack with every option on
 * passes all of them, and each limit, once crossed, stops synth with a message that names the limit, the
 * resource and what to change. Bundling is skipped: these tests read the template only.
 */
import { CfnResource, type App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createApp } from '#bin/app.ts';
import { ConfigError } from '#contract/config.ts';
import type { CallVaultStack } from '#lib/callvault-stack.ts';
import { DEPLOY_LIMITS, MAX_BODY_CAP_BYTES, type LimitMeasurement } from '#lib/deploy-limits.ts';
import { MIN_BOOTSTRAP_VERSION } from '#bin/cli/check-before-deploy.ts';

type Json = Record<string, unknown>;

const silence = { minutes: 30, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'Europe/Istanbul' };

/** An agency's stack: 17 Hipcall offices (signed, throttled, watched, reconciled), 17 CallHippo accounts, 16 post-call sources. */
export function fiftySources(): Json[] {
  const id = (p: string, i: number) => `${p}-office-${String(i + 1).padStart(2, '0')}`;
  return [
    ...Array.from({ length: 17 }, (_, i) => ({
      id: id('hipcall', i),
      provider: 'hipcall',
      hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3',
      signature: 'standard-webhooks',
      throttle: { rateLimit: 20, burstLimit: 40 },
      silence,
      reconcile: { everyMinutes: 60, lookBackHours: 24 },
      mediaHostAllowlist: ['*.hipcall.com', '*.amazonaws.com'],
    })),
    ...Array.from({ length: 17 }, (_, i) => ({
      id: id('callhippo', i),
      provider: 'callhippo',
      throttle: { rateLimit: 10, burstLimit: 20 },
    })),
    ...Array.from({ length: 16 }, (_, i) => ({ id: id('postcall', i), provider: 'postcall', allowedSourceIps: ['203.0.113.0/24'] })),
  ];
}

/** Every option on: KMS, Object Lock, item TTL, Glue, log retention, an alarm email. */
export const EVERY_OPTION = {
  defaultCountry: 'GB',
  alarmEmail: 'ops@example.com',
  protection: {
    kms: { alias: 'callvault-data' },
    objectLock: { mode: 'GOVERNANCE', days: 365 },
    recordingsExpireDays: 730,
    itemTtlDays: 1095,
    logRetentionDays: 180,
  },
  analytics: { glue: true },
  concurrency: { ingestReserved: 50 },
};

function build(callvault: Json, nag = false): { app: App; stack: CallVaultStack } {
  return createApp({ context: { callvault, 'aws:cdk:bundling-stacks': [] }, nag });
}

const synth = (callvault: Json) => () => Template.fromStack(build(callvault).stack);

describe('a 50-source stack with every option on', () => {
  it('passes every deploy-time limit, with the margins printed', () => {
    const { stack } = build({ ...EVERY_OPTION, sources: fiftySources() }, true);
    // Synthesis runs the check (and cdk-nag): it must not throw.
    const template: Json = Template.fromStack(stack).toJSON();
    const measured = stack.measureDeployLimits();
    const over = measured.filter((m) => m.value > m.max);
    expect(over).toEqual([]);
    const largest = (limit: string): LimitMeasurement =>
      measured.filter((m) => m.limit === limit).reduce((a, b) => (b.value > a.value ? b : a));
    const figures = [
      'Lambda environment',
      'Lambda resource policy',
      'IAM inline policies of a role',
      'S3 bucket policy',
      'KMS key policy',
      'SQS queue policy',
      'SNS topic policy',
      'HTTP API routes',
      'CloudFormation resources per stack',
      'CloudFormation template size',
    ].map(largest);
    console.log(figures.map((m) => `${m.limit}: ${m.value} of ${m.max} ${m.unit} (${m.resource})`).join('\n'));
    // Each kind is measured where it applies: five functions, their roles, the API, the stack.
    expect(measured.filter((m) => m.limit === 'Lambda resource policy')).toHaveLength(5);
    expect(largest('HTTP API routes').value).toBe(153);
    expect(largest('CloudFormation resources per stack').value).toBe(Object.keys(template.Resources as Json).length);
    // The ingest's API permission is one statement, whatever the number of sources.
    const ingest = measured.find((m) => m.limit === 'Lambda resource policy' && m.resource.endsWith('IngestFunction/Resource'))!;
    expect(ingest.value).toBeLessThan(1000);
  });
});

describe('what synth leaves to `callvault check --before-deploy`', () => {
  it('asks for the bootstrap version the template itself requires', () => {
    const template: Json = Template.fromStack(build({}).stack).toJSON();
    const rule = JSON.stringify((template.Rules as Json).CheckBootstrapVersion);
    const refused = Array.from({ length: MIN_BOOTSTRAP_VERSION - 1 }, (_, i) => `"${i + 1}"`).join(',');
    expect(rule).toContain(`[${refused}]`);
  });
});

describe('a limit crossed stops synth, naming the limit, the resource and what to change', () => {
  const stops = (build: () => unknown, ...messages: RegExp[]) => {
    expect(build).toThrow(ConfigError);
    for (const m of messages) expect(build).toThrow(m);
  };

  it('a body cap above what fits in a Lambda event', () => {
    stops(
      synth({ limits: { maxBodyBytes: 5_000_000 } }),
      /Lambda's synchronous event \(6 MB\) against the webhook body cap: the ingest function would be about 5000000 bytes/,
      new RegExp(`set limits\\.maxBodyBytes to at most ${MAX_BODY_CAP_BYTES}`),
    );
    expect(synth({ limits: { maxBodyBytes: MAX_BODY_CAP_BYTES } })).not.toThrow();
  });

  it('more than 300 routes on the API', () => {
    const sources = Array.from({ length: 100 }, (_, i) => ({ id: `s${i}`, provider: 'postcall' }));
    stops(
      synth({ sources }),
      /HTTP API routes: CallVault\/WebhookApi\/HttpApi\/Resource would be about 303 routes.*AWS allows 300.*at most 99 sources/,
    );
  });

  it('more than 500 resources in the stack', () => {
    const sources = fiftySources().map((s, i) => ({ ...s, id: `a-${i}` }));
    const more = fiftySources().map((s, i) => ({ ...s, id: `b-${i}` }));
    stops(
      synth({ ...EVERY_OPTION, sources: [...sources, ...more.slice(0, 40)] }),
      /CloudFormation resources per stack: CallVault would be about \d{3} resources.*AWS allows 500.*fewer callvault\.sources/,
    );
  });

  it("a function's resource policy over 20 KB (one permission per reconcile schedule)", () => {
    const sources = Array.from({ length: 60 }, (_, i) => ({
      id: `hipcall-branch-office-${String(i).padStart(3, '0')}`,
      provider: 'hipcall',
      hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3',
      reconcile: {},
    }));
    stops(
      synth({ sources }),
      /Lambda resource policy: CallVault\/Reconcile\/Function\/Resource would be about \d{5} bytes.*AWS allows 20480.*60 of them one per schedule: fewer sources with "reconcile"/,
    );
  });

  it("a role's inline policies over 10,240 characters, added to a CallVault role outside CallVault", () => {
    // CallVault's own grants no longer grow with the sources (secrets by name pattern): an extension's can.
    const { stack } = build({});
    new iam.Policy(stack, 'ReportsAccess', {
      roles: [stack.webhookApi.ingestFunction.executionRole],
      statements: Array.from(
        { length: 150 },
        (_, i) => new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:aws:s3:::reports-${i}/*`] }),
      ),
    });
    stops(
      () => Template.fromStack(stack),
      /IAM inline policies of a role: CallVault\/WebhookApi\/IngestFunctionRole\/Resource would be about \d{5} characters.*AWS allows 10240/,
    );
  });

  it("a function's environment over 4 KB, set outside CallVault", () => {
    const { stack } = build({});
    stack.webhookApi.ingestFunction.addEnvironment('EXTRA_SETTINGS', 'x'.repeat(4000));
    stops(
      () => Template.fromStack(stack),
      /Lambda environment: CallVault\/WebhookApi\/IngestFunction\/Resource would be about \d{4} bytes.*AWS allows 4095.*largest: EXTRA_SETTINGS/,
    );
  });

  it('a managed policy over 6,144 characters, added to the stack outside CallVault', () => {
    const { stack } = build({});
    new iam.ManagedPolicy(stack, 'OperatorsPolicy', {
      statements: Array.from(
        { length: 80 },
        (_, i) => new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:aws:s3:::reports-${i}/*`] }),
      ),
    });
    stops(
      () => Template.fromStack(stack),
      /IAM managed policy: CallVault\/OperatorsPolicy\/Resource would be about \d{4} characters.*AWS allows 6144.*split its statements/,
    );
  });

  it('a template over 1 MB', () => {
    const { stack } = build({});
    new CfnResource(stack, 'Padding', { type: 'AWS::CloudFormation::WaitConditionHandle' }).addMetadata(
      'notes',
      'x'.repeat(DEPLOY_LIMITS.templateBytes),
    );
    stops(() => Template.fromStack(stack), /CloudFormation template size: CallVault would be about \d{7} bytes.*AWS allows 1048576/);
  });
});
