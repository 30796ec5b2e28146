import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CallVaultConfig } from '#contract/config.ts';
import type { AwsCall, ContractFunction } from '#bin/aws-fidelity/aws-contract.ts';
import { checkPermissions, iamMatch, synthTemplate, type CfnTemplate } from '#test/support/permissions-contract.ts';
import { match } from '#test/support/match.ts';

type Json = Record<string, unknown>;

let template: CfnTemplate;
beforeAll(() => {
  template = synthTemplate();
}, 120_000);

const call = (fn: ContractFunction, action: string, resource: string): AwsCall => ({
  fn,
  action,
  resource,
  command: `${action.split(':')[1]}Command`,
  ok: true,
});
const day = '2026/04/02';

/** What the three functions do in a realistic run: every call the handlers make against the local names. */
function realisticCalls(): AwsCall[] {
  return [
    ...['GetItem', 'UpdateItem'].map((a) => call('ingest', `dynamodb:${a}`, 'calls')),
    call('ingest', 's3:PutObject', `callvault-archive/raw/hipcall/${day}/uuid-1/2026-04-02T10_00_00Z-call_hangup.json`),
    call('ingest', 's3:GetObject', `callvault-archive/raw/hipcall/${day}/uuid-1/2026-04-02T10_00_00Z-call_hangup.json`),
    call('ingest', 's3:PutObject', `callvault-archive/extras/postcall/${day}/uuid-1/analysis-0123456789abcdef.json`),
    call('ingest', 's3:PutObject', `callvault-archive/quarantine/unknown/${day}/2026-04-02T10_00_00Z-abc.json`),
    ...['media', 'insight', 'replay'].map((q) => call('ingest', 'sqs:SendMessage', q)),
    ...['hipcall', 'callhippo', 'postcall'].map((s) => call('ingest', 'secretsmanager:GetSecretValue', `CallVault/${s}/webhook`)),
    call('media', 'dynamodb:GetItem', 'calls'),
    call('media', 'dynamodb:UpdateItem', 'calls'),
    ...['recordings', 'voicemails', 'transcripts', 'cdr'].map((p) =>
      call('media', 's3:PutObject', `callvault-archive/${p}/hipcall/${day}/uuid-1.mp3`),
    ),
    call('media', 's3:AbortMultipartUpload', `callvault-archive/recordings/hipcall/${day}/uuid-2.mp3`),
    call('media', 'sqs:ChangeMessageVisibility', 'media'),
    call('media', 'sqs:GetQueueUrl', 'media'),
    call('media', 'secretsmanager:GetSecretValue', 'CallVault/hipcall/hipcall-api'),
    call('insight', 'dynamodb:GetItem', 'calls'),
    call('insight', 'dynamodb:UpdateItem', 'calls'),
    call('insight', 'dynamodb:GetItem', 'contacts'),
    call('insight', 'secretsmanager:GetSecretValue', 'CallVault/hipcall/hipcall-api'),
  ];
}

/** A copy of the template with `edit` applied to every statement of the role policy of the resource whose id starts with `policyPrefix`. */
function editStatements(policyPrefix: string, edit: (statement: Json) => void): CfnTemplate {
  const copy = structuredClone(template);
  const [, policy] = Object.entries(copy.Resources).find(([id, r]) => id.startsWith(policyPrefix) && r.Type === 'AWS::IAM::Policy')!;
  for (const st of (policy.Properties!.PolicyDocument as { Statement: Json[] }).Statement) edit(st);
  return copy;
}
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

describe('checkPermissions', () => {
  it('passes a realistic run of all three functions against the synthesised roles', () => {
    expect(checkPermissions(template, realisticCalls()).violations).toEqual([]);
  });

  it('fails when a role loses an action, naming the call that needs it', () => {
    const edited = editStatements('MediaPipelineWorkerRole', (st) => {
      st.Action = asList(st.Action).filter((a) => a !== 'dynamodb:UpdateItem');
    });
    const { violations } = checkPermissions(edited, realisticCalls());
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/^media: dynamodb:UpdateItem on calls is not granted by the media role/);
  });

  it('fails when a role loses a resource: dropping raw/* refuses the ingest archive write and the replay read', () => {
    const edited = editStatements('WebhookApiIngestFunctionRole', (st) => {
      st.Resource = asList(st.Resource).filter((r) => !JSON.stringify(r).includes('/raw/*'));
    });
    const { violations } = checkPermissions(edited, realisticCalls());
    expect([...violations].sort()).toEqual([
      match.stringMatching(
        /^ingest: s3:GetObject on callvault-archive\/raw\/hipcall\/2026\/04\/02\/uuid-1\/.* is not granted by the ingest role/,
      ),
      match.stringMatching(
        /^ingest: s3:PutObject on callvault-archive\/raw\/hipcall\/2026\/04\/02\/uuid-1\/.* is not granted by the ingest role/,
      ),
    ]);
  });

  it('refuses a call outside the granted prefix, including a look-alike prefix and another bucket', () => {
    const calls = [
      call('ingest', 's3:PutObject', 'callvault-archive/recordings/hipcall/x.mp3'),
      call('ingest', 's3:PutObject', 'callvault-archive/rawx/hipcall/x.json'),
      call('ingest', 's3:PutObject', 'another-bucket/raw/hipcall/x.json'),
    ];
    const { violations } = checkPermissions(template, calls);
    expect(violations.map((v) => v.split(' is ')[0])).toEqual([
      'ingest: s3:PutObject on callvault-archive/recordings/hipcall/x.mp3',
      'ingest: s3:PutObject on callvault-archive/rawx/hipcall/x.json',
      'ingest: s3:PutObject on another-bucket/raw/hipcall/x.json',
    ]);
  });

  it('refuses an action the role does not have on a prefix it may write: ingest reading quarantine/ back', () => {
    const { violations } = checkPermissions(template, [
      call('ingest', 's3:GetObject', `callvault-archive/quarantine/hipcall/${day}/x.json`),
    ]);
    expect(violations).toEqual([
      match.stringMatching(/^ingest: s3:GetObject on callvault-archive\/quarantine\/hipcall\/.* is not granted by the ingest role/),
    ]);
  });

  it('does not let a table grant cover its indexes, or one table cover another', () => {
    const { violations } = checkPermissions(template, [
      call('insight', 'dynamodb:Query', 'calls/index/byDay'),
      call('media', 'dynamodb:GetItem', 'contacts'),
    ]);
    expect(violations.map((v) => v.split(' is ')[0]).sort()).toEqual([
      'insight: dynamodb:Query on calls/index/byDay',
      'media: dynamodb:GetItem on contacts',
    ]);
  });

  it('reports each distinct violation once, with how many calls made it', () => {
    const calls = [1, 2, 3].map(() => call('insight', 's3:PutObject', 'callvault-archive/cdr/x.json'));
    const { violations } = checkPermissions(template, calls);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('3 call(s)');
  });

  it('lists a grant no call exercised, so it can be removed', () => {
    const calls = realisticCalls().filter((c) => !(c.fn === 'media' && c.resource.includes('/voicemails/')));
    const { unexercised } = checkPermissions(template, calls);
    expect(unexercised).toContainEqual(match.stringMatching(/^media: s3:PutObject on callvault-archive\/voicemails\/\* /));
    expect(checkPermissions(template, realisticCalls()).unexercised).not.toContainEqual(
      match.stringMatching(/^media: s3:PutObject on callvault-archive\/voicemails\//),
    );
  });

  it("counts the queue reads of a function's own SQS event source as used, and leaves log writes out", () => {
    const { unexercised } = checkPermissions(template, realisticCalls());
    expect(unexercised.filter((u) => /sqs:(ReceiveMessage|DeleteMessage|GetQueueAttributes)/.test(u))).toEqual([]);
    expect(unexercised.filter((u) => u.includes('logs:'))).toEqual([]);
  });

  it('lets a Deny statement win over an Allow', () => {
    const edited = editStatements('InsightCardsWorkerRole', () => undefined);
    const [, policy] = Object.entries(edited.Resources).find(([id]) => id.startsWith('InsightCardsWorkerRoleDefaultPolicy'))!;
    (policy.Properties!.PolicyDocument as { Statement: Json[] }).Statement.push({ Effect: 'Deny', Action: 'dynamodb:*', Resource: '*' });
    expect(checkPermissions(edited, [call('insight', 'dynamodb:GetItem', 'contacts')]).violations).toEqual([
      match.stringMatching(/^insight: dynamodb:GetItem on contacts is denied/),
    ]);
  });

  it('refuses a template without construct paths, saying how to synthesise one', () => {
    const bare = structuredClone(template);
    for (const r of Object.values(bare.Resources)) delete r.Metadata;
    expect(() => checkPermissions(bare, [])).toThrow(/synthTemplate\(\)/);
  });
});

describe('iamMatch', () => {
  it('matches actions with wildcards and without regard to case', () => {
    expect(iamMatch('s3:Get*', 's3:getobject', true)).toBe(true);
    expect(iamMatch('s3:Get*', 's3:PutObject', true)).toBe(false);
  });

  it('treats * as any run (slashes included) and ? as one character, and nothing else as special', () => {
    expect(iamMatch('arn:aws:s3:::b/raw/*', 'arn:aws:s3:::b/raw/a/b/c.json')).toBe(true);
    expect(iamMatch('arn:aws:s3:::b/raw/*', 'arn:aws:s3:::b/raw')).toBe(false);
    expect(iamMatch('arn:aws:s3:::b/r?w/x', 'arn:aws:s3:::b/raw/x')).toBe(true);
    expect(iamMatch('arn:aws:s3:::b/a.c', 'arn:aws:s3:::b/abc')).toBe(false);
  });
});

describe('checkPermissions with protection.kms on', () => {
  let kms: CfnTemplate;
  beforeAll(() => {
    const cdkJson = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')) as {
      context: { callvault: CallVaultConfig };
    };
    kms = synthTemplate({ ...cdkJson.context.callvault, protection: { kms: true } });
  }, 120_000);

  /** A copy of `kms` without the KMS statement of the ingest role whose kms:ViaService names `service`. */
  function withoutKeyUse(service: string, replaceWith?: string): CfnTemplate {
    const copy = structuredClone(kms);
    for (const [id, r] of Object.entries(copy.Resources)) {
      if (!id.startsWith('WebhookApiIngestFunctionRole') || r.Type !== 'AWS::IAM::Policy') continue;
      const doc = r.Properties!.PolicyDocument as { Statement: Json[] };
      const via = (st: Json) => JSON.stringify((st.Condition as Json | undefined)?.StringEquals ?? {});
      doc.Statement = replaceWith
        ? doc.Statement.map((st) =>
            via(st).includes(`"${service}.`) ? (JSON.parse(JSON.stringify(st).replace(`"${service}.`, `"${replaceWith}.`)) as Json) : st,
          )
        : doc.Statement.filter((st) => !via(st).includes(`"${service}.`));
    }
    return copy;
  }

  it('passes a realistic run, every KMS use those calls imply granted through its service', () => {
    expect(checkPermissions(kms, realisticCalls()).violations).toEqual([]);
    // And the implied uses count as using the KMS grants: none is left unexercised for the ingest.
    expect(checkPermissions(kms, realisticCalls()).unexercised.filter((u) => u.startsWith('ingest: kms:'))).toEqual([]);
  });

  it('fails when the ingest may not use the key through S3: its archive writes would be refused', () => {
    const { violations } = checkPermissions(withoutKeyUse('s3'), realisticCalls());
    // kms:Decrypt stays allowed: consuming the replay queue grants it on the key without a ViaService condition.
    expect(violations).toEqual([
      match.stringMatching(
        /^ingest: kms:GenerateDataKey on the data key through s3\.us-east-1\.amazonaws\.com \(s3 for s3:PutObject\) is not granted by the ingest role/,
      ),
    ]);
  });

  it('fails when a grant names the wrong service in kms:ViaService', () => {
    const { violations } = checkPermissions(withoutKeyUse('sqs', 'sns'), realisticCalls());
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.every((v) => /^ingest: kms:\w+ on the data key through sqs\./.test(v))).toBe(true);
  });
});
