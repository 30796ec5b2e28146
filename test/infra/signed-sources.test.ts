/**
 * Signed sources in the synthesised stack: a signing secret, its grant and its SIGNING_SECRETS entry for
 * each source that sets `signature`, and nothing for the others.
 */
import { Stack, type App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#bin/app.ts';
import type { CallVaultStack } from '#lib/callvault-stack.ts';
import { LAMBDA_ENVIRONMENT_LIMIT_BYTES, estimateEnvironment } from '#lib/constructs/function-environment.ts';
import { signingSecretName, webhookTokenSecretName } from '#lib/constructs/webhook-api.ts';
import { ENV, secretNamesOf } from '#contract/resources.ts';
import { iamMatch } from '#test/support/permissions-contract.ts';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties?: Json };

const idOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function synth(sources: unknown[]) {
  const { app, stack } = createApp({ context: { callvault: { sources }, 'aws:cdk:bundling-stacks': [] } });
  const template = Template.fromStack(stack);
  return { app, stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
}

/** The secret name patterns (the ARN after `secret:`) a role may GetSecretValue on. */
function readableSecrets(resources: Record<string, Resource>, roleId: string): string[] {
  const patterns: string[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !list(r.Properties?.Roles as Json[]).some((ref) => ref.Ref === roleId)) continue;
    for (const st of list((r.Properties?.PolicyDocument as Json).Statement as Json[])) {
      if (!list(st.Action as string[]).includes('secretsmanager:GetSecretValue')) continue;
      for (const res of list(st.Resource as Json[])) {
        const parts = (res['Fn::Join'] as [string, unknown[]])[1];
        patterns.push(String(parts.at(-1)).replace(/^:secret:/, ''));
      }
    }
  }
  return patterns.sort();
}

const ingestEnv = (s: { stack: CallVaultStack; resources: Record<string, Resource> }) =>
  (s.resources[idOf(s.stack.webhookApi.ingestFunction)]!.Properties!.Environment as { Variables: Json }).Variables;

describe('a stack with one signing source among others', () => {
  let app: App;
  let stack: CallVaultStack;
  let resources: Record<string, Resource>;
  let template: Template;
  beforeAll(() => {
    ({ app, stack, resources, template } = synth([
      { id: 'relay', provider: 'postcall', signature: 'standard-webhooks' },
      { id: 'hipcall', provider: 'hipcall' },
    ]));
  });

  it('creates a signing secret named {stack}/{source}/signing for the signing source only, with a generated placeholder', () => {
    expect([...stack.webhookApi.signingSecrets.keys()]).toEqual(['relay']);
    const secret = resources[idOf(stack.webhookApi.signingSecrets.get('relay')!)]!;
    expect(secret.Properties).toMatchObject({
      Name: signingSecretName(stack.stackName, 'relay'),
      GenerateSecretString: { GenerateStringKey: 'placeholder' },
    });
    expect(signingSecretName('CallVault', 'relay')).toBe('CallVault/relay/signing');
    // The placeholder carries no value a signer could use, and nothing in the template is a secret.
    expect(
      JSON.parse((secret.Properties!.GenerateSecretString as { SecretStringTemplate: string }).SecretStringTemplate),
    ).not.toHaveProperty('secret');
    const names = Object.values(resources)
      .filter((r) => r.Type === 'AWS::SecretsManager::Secret')
      .map((r) => r.Properties?.Name);
    expect(names.filter((n) => String(n).endsWith('/signing'))).toEqual(['CallVault/relay/signing']);
  });

  it("lets the ingest read this stack's webhook tokens and signing secrets, and nothing else", () => {
    const patterns = readableSecrets(resources, idOf(stack.webhookApi.ingestFunction.executionRole));
    expect(patterns).toEqual(['CallVault/*/signing-??????', 'CallVault/*/webhook-??????']);
    // As AWS authorises a read by name: against the secret's ARN, whose name ends in a 6-character suffix.
    const readable = (name: string) => patterns.some((p) => iamMatch(p, `${name}-AbC123`));
    expect(readable(signingSecretName('CallVault', 'relay'))).toBe(true);
    expect(readable(webhookTokenSecretName('CallVault', 'hipcall'))).toBe(true);
    expect(readable('CallVault/hipcall/hipcall-api')).toBe(false);
    expect(readable('OtherStack/relay/signing')).toBe(false);
    // The workers never read it.
    for (const fn of [stack.mediaPipeline.worker, stack.insightCards.worker]) {
      expect(readableSecrets(resources, idOf(fn.executionRole))).toEqual(['CallVault/*/hipcall-api-??????']);
    }
  });

  it("gives the ingest the prefix the signing source's secret name derives from, not a name per source", () => {
    const env = ingestEnv({ stack, resources });
    expect(env[ENV.secretPrefix]).toBe('CallVault/');
    expect(env).not.toHaveProperty(ENV.signingSecrets);
    expect(env).not.toHaveProperty(ENV.webhookSecrets);
    expect(secretNamesOf('CallVault/', ['relay'], 'signing')).toEqual({ relay: signingSecretName('CallVault', 'relay') });
    expect(webhookTokenSecretName('CallVault', 'relay')).toBe('CallVault/relay/webhook');
  });

  it("tells the operator how to put the sender's secret", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs.SigningSecretCommandRelay!.Value)).toContain('put-secret-value');
    expect(Object.keys(outputs).filter((o) => o.startsWith('SigningSecretCommand'))).toEqual(['SigningSecretCommandRelay']);
  });

  it("stays clean under cdk-nag, the signing secret's manual rotation acknowledged with a reason", () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      expect(pack.validateScope(app).violations.map((v) => v.ruleName)).toEqual([]);
    }
  });
});

describe('a stack where no source signs', () => {
  it('creates no signing secret, no grant for one and no SIGNING_SECRETS', () => {
    const s = synth([
      { id: 'hipcall', provider: 'hipcall' },
      { id: 'postcall', provider: 'postcall' },
    ]);
    expect(s.stack.webhookApi.signingSecrets.size).toBe(0);
    expect(
      Object.values(s.resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret' && String(r.Properties?.Name).endsWith('/signing')),
    ).toEqual([]);
    expect(ingestEnv(s)).not.toHaveProperty(ENV.signingSecrets);
    expect(readableSecrets(s.resources, idOf(s.stack.webhookApi.ingestFunction.executionRole))).toEqual(['CallVault/*/webhook-??????']);
  });
});

describe("Lambda's 4 KB environment with signing sources", () => {
  it('holds twenty sources, ten of them signing, in the same environment as two', () => {
    const sources = Array.from({ length: 20 }, (_, i) => {
      const provider = (['hipcall', 'callhippo', 'postcall'] as const)[i % 3]!;
      return { id: `${provider}-${i + 1}`, provider, ...(i % 2 === 0 ? { signature: 'standard-webhooks' } : {}) };
    });
    const s = synth(sources);
    const estimate = estimateEnvironment(ingestEnv(s), {
      stackName: s.stack.stackName,
      resources: s.resources,
    });
    expect(estimate.bytes).toBeLessThan(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
    const two = synth(sources.slice(0, 2));
    expect(estimate.bytes).toBe(estimateEnvironment(ingestEnv(two), { stackName: two.stack.stackName, resources: two.resources }).bytes);
  });
});
