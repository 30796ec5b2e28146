/**
 * What the deployment config does to the app: bad values stop synth with the key named, and the
 * optional settings (alarm email, raw expiry, several Hipcall sources) shape the stack.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { App, Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp, nodeVersionProblem } from '#bin/app.ts';
import type { CallVaultStack } from '#lib/callvault-stack.ts';
import { ConfigError, parseConfig } from '#contract/config-schema.ts';
import { hipcallApiSecretName } from '#lib/constructs/insight-cards.ts';
import { hipcallApiSecretNames } from '#adapters/hipcall-access.ts';
import { archiveLifecycleRules } from '#lib/constructs/storage.ts';
import { WorkerQueue } from '#lib/constructs/worker-queue.ts';
import { ENV, INSIGHT_QUEUE, MEDIA_QUEUE, QUEUES, REPLAY_QUEUE, queueRetentionProblems } from '#contract/resources.ts';
import { match } from '#test/support/match.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('a bad config', () => {
  it('makes the app throw a ConfigError naming the key', () => {
    const build = () => createApp({ context: { callvault: { sources: [{ id: 'hipcall', provider: 'hipcal' }] } } });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/callvault\.sources\[0\]\.provider/);
  });

  it('names the retention key when Glacier would follow Standard-IA too soon for S3', () => {
    const build = () =>
      createApp({ context: { callvault: { retention: { recordingsInfrequentAccessDays: 30, recordingsGlacierDays: 45 } } } });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/callvault\.retention\.recordingsGlacierDays: must be at least 60/);
  });

  it('stops `cdk synth` with the message and exit code 1, without a stack trace', () => {
    // The CDK CLI hands the context to the app as CDK_CONTEXT_JSON; no CDK_OUTDIR, so nothing is written.
    const { CDK_OUTDIR: _outdir, ...env } = process.env;
    const run = spawnSync(`${ROOT}node_modules/.bin/tsx`, ['bin/app.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...env, CDK_CONTEXT_JSON: JSON.stringify({ callvault: { defaultCountry: 'GBR', throttle: { rateLimit: 0 } } }) },
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('callvault.defaultCountry: must be a two-letter ISO country code');
    expect(run.stderr).toContain('callvault.throttle.rateLimit');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('the Node.js that runs the app', () => {
  it('is refused below 24 with a message naming the version, and accepted from 24 on', () => {
    // Node 20 has no import.meta.main: without this, bin/app.ts built nothing and cdk failed on a missing manifest.json.
    expect(nodeVersionProblem('v20.20.2')).toMatch(/needs Node\.js 24 or later to synthesise; this is Node\.js v20\.20\.2/);
    expect(nodeVersionProblem('v23.11.0')).toMatch(/v23\.11\.0/);
    expect(nodeVersionProblem('v24.0.0')).toBeUndefined();
    expect(nodeVersionProblem('v26.1.0')).toBeUndefined();
  });
});

describe('archive lifecycle', () => {
  const retention = (r: Partial<ReturnType<typeof parseConfig>['retention']>) => ({ ...parseConfig({}).retention, ...r });

  it('moves media to Standard-IA only when Glacier is 0', () => {
    const rules = archiveLifecycleRules(retention({ recordingsInfrequentAccessDays: 60, recordingsGlacierDays: 0 }), 30);
    const tiers = rules.filter((r) => r.id?.startsWith('Tier-'));
    expect(tiers.map((r) => r.prefix)).toEqual(['recordings/', 'voicemails/', 'transcripts/']);
    for (const r of tiers)
      expect(r.transitions?.map((t) => [t.storageClass.value, t.transitionAfter?.toDays()])).toEqual([['STANDARD_IA', 60]]);
  });

  it('adds no tiering rule when both are 0, but still aborts stale uploads', () => {
    const rules = archiveLifecycleRules(retention({ recordingsInfrequentAccessDays: 0, recordingsGlacierDays: 0 }), 30);
    expect(rules.map((r) => r.id)).toEqual(['AbortIncompleteMultipartUploads', 'ExpireNoncurrentVersions']);
  });

  it('expires raw/ when rawExpireDays is set', () => {
    const rules = archiveLifecycleRules(retention({ rawExpireDays: 400 }), 30);
    expect(rules.find((r) => r.id === 'ExpireRaw')).toMatchObject({ prefix: 'raw/', expiration: Duration.days(400) });
  });
});

describe('WorkerQueue', () => {
  it('refuses a visibility timeout shorter than 6x the consumer timeout', () => {
    const stack = new Stack(new App(), 'Test');
    const consumer = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      timeout: Duration.seconds(30),
    });
    const alarmTopic = new sns.Topic(stack, 'Topic');
    expect(() => new WorkerQueue(stack, 'insight', { definition: INSIGHT_QUEUE, alarmTopic, consumer })).toThrow(
      /insight queue's visibility timeout \(60 s\) must be at least 6x its consumer's timeout \(30 s\), i\.e\. 180 s/,
    );
  });
});

describe('queue retention', () => {
  it('holds for every queue CallVault defines', () => {
    for (const def of QUEUES) expect(queueRetentionProblems(def), def.name).toEqual([]);
  });

  it('refuses a queue that keeps messages as long as its DLQ: dead letters would expire on arrival', () => {
    const stack = new Stack(new App(), 'Test');
    const alarmTopic = new sns.Topic(stack, 'Topic');
    expect(() => new WorkerQueue(stack, 'replay', { definition: { ...REPLAY_QUEUE, retentionDays: 14 }, alarmTopic })).toThrow(
      /replay DLQ keeps messages 14 d, only 0 d more than its queue \(14 d\).*at least 7 days more/,
    );
  });

  it('refuses a media retention too short for 8 receives hidden up to 12 h each', () => {
    expect(queueRetentionProblems({ ...MEDIA_QUEUE, retentionDays: 3 }).join('\n')).toMatch(
      /media queue keeps messages 3 d.*raise retentionDays to at least 5/,
    );
    expect(queueRetentionProblems({ ...INSIGHT_QUEUE, dlqRetentionDays: 15 }).join('\n')).toMatch(/at most 14 days/);
  });
});

describe('a stack with an alarm email, raw expiry and two Hipcall sources', () => {
  let app: App;
  let stack: CallVaultStack;
  let template: Template;
  const idOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);

  beforeAll(() => {
    ({ app, stack } = createApp({
      context: {
        'aws:cdk:bundling-stacks': [],
        callvault: {
          alarmEmail: 'ops@example.com',
          retention: { recordingsInfrequentAccessDays: 30, recordingsGlacierDays: 180, rawExpireDays: 400 },
          sources: [
            { id: 'hipcall', provider: 'hipcall' },
            { id: 'hipcall-eu', provider: 'hipcall' },
            { id: 'postcall', provider: 'postcall' },
          ],
        },
      },
    }));
    template = Template.fromStack(stack);
  });

  it('subscribes the email to the alarm topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: idOf(stack.monitoring.alarmTopic) },
    });
  });

  it('expires raw deliveries after rawExpireDays', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'raw/', ExpirationInDays: 400, Status: 'Enabled' })]) },
    });
  });

  it('creates a webhook token per source and a Hipcall API token per Hipcall source, with outputs', () => {
    expect([...stack.webhookApi.tokenSecrets.keys()]).toEqual(['hipcall', 'hipcall-eu', 'postcall']);
    expect([...stack.insightCards.hipcallApiSecrets.keys()]).toEqual(['hipcall', 'hipcall-eu']);
    const outputs = Object.keys(template.toJSON().Outputs as object);
    expect(outputs).toEqual(
      match.arrayContaining(['WebhookUrlHipcallEu', 'WebhookTokenCommandHipcallEu', 'HipcallApiTokenCommandHipcallEu']),
    );
    expect(outputs.filter((o) => o.startsWith('HipcallApiTokenSecretArn'))).toHaveLength(2);
  });

  it('hands both Hipcall API secrets to the media and insight workers through the prefix their names derive from', () => {
    const resources = template.toJSON().Resources as Record<
      string,
      { Properties: { Environment?: { Variables: Record<string, unknown> }; Name?: string } }
    >;
    for (const fn of [stack.mediaPipeline.worker, stack.insightCards.worker]) {
      const env = resources[idOf(fn)]!.Properties.Environment!.Variables;
      expect(env[ENV.secretPrefix]).toBe('CallVault/');
      expect(hipcallApiSecretNames(stack.config, undefined, env[ENV.secretPrefix] as string)).toEqual({
        hipcall: 'CallVault/hipcall/hipcall-api',
        'hipcall-eu': 'CallVault/hipcall-eu/hipcall-api',
      });
    }
    for (const [sourceId, secret] of stack.insightCards.hipcallApiSecrets) {
      expect(resources[idOf(secret)]!.Properties.Name).toBe(hipcallApiSecretName('CallVault', sourceId));
    }
  });

  it('stays clean under cdk-nag', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      expect(pack.validateScope(app).violations.map((v) => v.ruleName)).toEqual([]);
    }
  });
});
