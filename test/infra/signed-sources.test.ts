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
import { ENV } from '#contract/resources.ts';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties?: Json };

const idOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function synth(sources: unknown[]) {
  const { app, stack } = createApp({ context: { callvault: { sources }, 'aws:cdk:bundling-stacks': [] } });
  const template = Template.fromStack(stack);
  return { app, stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
}

/** The secrets (logical ids) a role may GetSecretValue on. */
function readableSecrets(resources: Record<string, Resource>, roleId: string): string[] {
  const refs: string[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !list(r.Properties?.Roles as Json[]).some((ref) => ref.Ref === roleId)) continue;
    for (const st of list((r.Properties?.PolicyDocument as Json).Statement as Json[])) {
      if (list(st.Action as string[]).includes('secretsmanager:GetSecretValue'))
        refs.push(...list(st.Resource as Json[]).map((res) => String(res.Ref)));
    }
  }
  return refs.sort();
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

  it('lets the ingest read exactly the webhook tokens and the one signing secret', () => {
    expect(readableSecrets(resources, idOf(stack.webhookApi.ingestFunction.executionRole))).toEqual(
      [...stack.webhookApi.tokenSecrets.values(), stack.webhookApi.signingSecrets.get('relay')!].map(idOf).sort(),
    );
    // The workers never read it.
    for (const fn of [stack.mediaPipeline.worker, stack.insightCards.worker]) {
      expect(readableSecrets(resources, idOf(fn.executionRole))).not.toContain(idOf(stack.webhookApi.signingSecrets.get('relay')!));
    }
  });

  it('maps only the signing source to its secret name in SIGNING_SECRETS', () => {
    const env = ingestEnv({ stack, resources });
    expect(JSON.parse(env[ENV.signingSecrets] as string)).toEqual({ relay: 'CallVault/relay/signing' });
    expect(Object.keys(JSON.parse(env[ENV.webhookSecrets] as string) as object)).toEqual(['relay', 'hipcall']);
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
    expect(readableSecrets(s.resources, idOf(s.stack.webhookApi.ingestFunction.executionRole))).toEqual(
      [...s.stack.webhookApi.tokenSecrets.values()].map(idOf).sort(),
    );
  });
});

describe("Lambda's 4 KB environment with signing sources", () => {
  it('holds ten signing sources among twenty', () => {
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
    expect(Object.keys(JSON.parse(ingestEnv(s)[ENV.signingSecrets] as string) as object)).toHaveLength(10);
  });
});
