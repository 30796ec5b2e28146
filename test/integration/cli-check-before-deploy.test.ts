/**
 * `callvault check --before-deploy` against a stand-in of the AWS APIs it reads (a node:http server of
 * this test's own: Lambda GetAccountSettings and GetFunctionConcurrency, SSM GetParameter, Secrets Manager
 * DescribeSecret, CloudFormation DescribeStacks), with the real SDK clients pointed at it. The CLI runs as
 * a user runs it, in a project directory of its own, the endpoint given by AWS_ENDPOINT_URL.
 */
import { spawn } from 'node:child_process';
import { match } from '#test/support/match.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  LAMBDA_MIN_UNRESERVED,
  checkBeforeDeploy,
  destroyClients,
  expectedSecrets,
  type BeforeDeployClients,
  type BeforeDeployReport,
} from '#bin/cli/check-before-deploy.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { projectRoot } from '#test/support/local-stack-process.ts';

/** What the stand-in account holds; each test sets its own. */
interface Account {
  quota: number;
  unreserved: number;
  /** `/cdk-bootstrap/{qualifier}/version` values. */
  parameters: Record<string, string>;
  /** Secrets by name, with their tags and deletion date (epoch seconds). */
  secrets: Record<string, { tags?: Record<string, string>; deletedDate?: number }>;
  /** The deployed stack's outputs, or undefined when there is no stack. */
  stack?: Record<string, string>;
  /** Reserved concurrency by function name. */
  reserved: Record<string, number>;
}

let account: Account;
let server: Server;
let endpoint: string;
const requests: string[] = [];

const json = (res: ServerResponse, status: number, body: unknown, type = 'application/x-amz-json-1.1'): void =>
  void res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  const target = String(req.headers['x-amz-target'] ?? '');
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname.startsWith('/2016-08-19/account-settings')) {
    requests.push('lambda:GetAccountSettings');
    return json(
      res,
      200,
      {
        AccountLimit: {
          TotalCodeSize: 80530636800,
          CodeSizeUnzipped: 262144000,
          CodeSizeZipped: 52428800,
          ConcurrentExecutions: account.quota,
          UnreservedConcurrentExecutions: account.unreserved,
        },
        AccountUsage: { TotalCodeSize: 0, FunctionCount: 0 },
      },
      'application/json',
    );
  }
  const concurrency = /^\/2019-09-30\/functions\/([^/]+)\/concurrency$/.exec(url.pathname);
  if (concurrency) {
    requests.push(`lambda:GetFunctionConcurrency ${decodeURIComponent(concurrency[1]!)}`);
    const n = account.reserved[decodeURIComponent(concurrency[1]!)];
    return json(res, 200, n === undefined ? {} : { ReservedConcurrentExecutions: n }, 'application/json');
  }
  const input = (target ? JSON.parse(body || '{}') : {}) as { Name?: string; SecretId?: string };
  if (target === 'AmazonSSM.GetParameter') {
    requests.push(`ssm:GetParameter ${input.Name}`);
    const value = account.parameters[input.Name!];
    if (value === undefined) return json(res, 400, { __type: 'ParameterNotFound', message: '' });
    return json(res, 200, { Parameter: { Name: input.Name, Type: 'String', Value: value, Version: 1 } });
  }
  if (target === 'secretsmanager.DescribeSecret') {
    requests.push(`secretsmanager:DescribeSecret ${input.SecretId}`);
    const secret = account.secrets[input.SecretId!];
    if (!secret)
      return json(res, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
    return json(res, 200, {
      ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${input.SecretId}-AbCdEf`,
      Name: input.SecretId,
      Tags: Object.entries(secret.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      ...(secret.deletedDate ? { DeletedDate: secret.deletedDate } : {}),
    });
  }
  const form = new URLSearchParams(body);
  if (form.get('Action') === 'DescribeStacks') {
    requests.push(`cloudformation:DescribeStacks ${form.get('StackName')}`);
    const xml = (status: number, text: string): void => void res.writeHead(status, { 'content-type': 'text/xml' }).end(text);
    const ns = 'xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"';
    if (!account.stack)
      return xml(
        400,
        `<ErrorResponse ${ns}><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${form.get('StackName')} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
      );
    const outputs = Object.entries(account.stack)
      .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
      .join('');
    return xml(
      200,
      `<DescribeStacksResponse ${ns}><DescribeStacksResult><Stacks><member><StackName>${form.get('StackName')}</StackName><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/x/y</StackId><CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${outputs}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`,
    );
  }
  requests.push(`unexpected ${req.method} ${req.url} ${target}`);
  json(res, 400, { __type: 'UnknownOperationException', message: 'not faked' });
}

const credentials = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-secret' };
const clients = (): BeforeDeployClients => {
  const opts = { endpoint, region: 'eu-west-1', credentials, maxAttempts: 1 };
  return {
    lambda: new LambdaClient(opts),
    ssm: new SSMClient(opts),
    secrets: new SecretsManagerClient(opts),
    cloudformation: new CloudFormationClient(opts),
  };
};

/** A new account in every way that matters here: bootstrapped, no stack yet, no secrets, the default quota. */
const freshAccount = (): Account => ({
  quota: 1000,
  unreserved: 1000,
  parameters: { '/cdk-bootstrap/hnb659fds/version': '28' },
  secrets: {},
  reserved: {},
});

let project: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => answer(req, res, body));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  project = await mkdtemp(join(tmpdir(), 'callvault-before-deploy-'));
});
afterAll(async () => {
  await new Promise((ok) => server?.close(ok));
  if (project) await rm(project, { recursive: true, force: true });
});
beforeEach(() => {
  account = freshAccount();
  requests.length = 0;
});

/** `npx callvault check --before-deploy --json` in a project whose cdk.json holds `callvault`. */
async function cli(callvault: unknown): Promise<{ status: number | null; report: BeforeDeployReport; stderr: string }> {
  await writeFile(join(project, 'cdk.json'), JSON.stringify({ app: 'npx tsx bin/app.ts', context: { callvault } }));
  // Not spawnSync: the stand-in answers from this process's event loop.
  const child = spawn(
    process.execPath,
    [
      '--import',
      pathToFileURL(join(projectRoot, 'node_modules/tsx/dist/loader.mjs')).href,
      join(projectRoot, 'bin/callvault.ts'),
      'check',
      '--before-deploy',
      '--json',
    ],
    {
      cwd: project,
      env: {
        PATH: process.env.PATH ?? '',
        AWS_ENDPOINT_URL: endpoint,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_MAX_ATTEMPTS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((ok) => child.once('close', ok));
  return { status, report: JSON.parse(stdout) as BeforeDeployReport, stderr };
}

const sources = [
  { id: 'hipcall', provider: 'hipcall' },
  { id: 'relay', provider: 'postcall', signature: 'standard-webhooks' },
];

describe('callvault check --before-deploy', () => {
  it('reports a reservation of 50 in an account whose quota is 10 as a problem, with what to change', async () => {
    account.quota = 10;
    account.unreserved = 10;
    const { status, report } = await cli({ sources, concurrency: { ingestReserved: 50 } });
    expect(status).toBe(1);
    expect(report.ok).toBe(false);
    const reserved = report.checks.find((c) => c.subject === 'ingestReserved')!;
    expect(reserved.ok).toBe(false);
    expect(reserved.detail).toMatch(
      /concurrency\.ingestReserved is 50, but the account's quota is 10 .*Set concurrency\.ingestReserved to 0 \(reserve nothing\)/,
    );
    // The workers' caps alone (5 + 10) are more than the whole account: also said, with the keys to lower.
    expect(report.checks.find((c) => c.subject === 'worker maxima')).toMatchObject({
      ok: false,
      detail: match.stringMatching(/concurrency\.mediaMax/) as string,
    });
    expect(report.checks.filter((c) => c.check !== 'concurrency').every((c) => c.ok)).toBe(true);
  });

  it('finds nothing in the way of a default config in a bootstrapped account', async () => {
    const { status, report, stderr } = await cli({});
    expect(stderr).not.toMatch(/Error/);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(status).toBe(0);
    expect(report).toMatchObject({ ok: true, target: 'before-deploy', stack: 'CallVault' });
    // Every secret a default stack creates was looked up by name; nothing was written.
    const expected = expectedSecrets(parseConfig({}), 'CallVault');
    expect(expected).toEqual([
      'CallVault/hipcall/webhook',
      'CallVault/hipcall/hipcall-api',
      'CallVault/callhippo/webhook',
      'CallVault/postcall/webhook',
    ]);
    expect(report.checks.filter((c) => c.check === 'secret').map((c) => c.subject)).toEqual(expected);
    expect(report.checks.find((c) => c.check === 'bootstrap')).toMatchObject({
      ok: true,
      detail: match.stringMatching(/bootstrap version 28/) as string,
    });
    expect(
      requests.filter(
        (r) => !/^(lambda:GetAccountSettings|ssm:GetParameter|secretsmanager:DescribeSecret|cloudformation:DescribeStacks)/.test(r),
      ),
    ).toEqual([]);
  });

  it('names a secret kept from an earlier deploy, one scheduled for deletion, and a missing bootstrap', async () => {
    account.parameters = {};
    account.secrets = {
      'CallVault/relay/signing': { tags: { 'aws:cloudformation:stack-name': 'CallVault' } },
      'CallVault/relay/webhook': { deletedDate: 1_800_000_000 },
    };
    const c = clients();
    try {
      const report = await checkBeforeDeploy({
        config: parseConfig({ sources }),
        stackName: 'CallVault',
        qualifier: 'hnb659fds',
        clients: c,
      });
      const failed = Object.fromEntries(report.checks.filter((x) => !x.ok).map((x) => [x.subject, x.detail]));
      expect(Object.keys(failed).sort()).toEqual(['CallVault/relay/signing', 'CallVault/relay/webhook', 'hnb659fds']);
      expect(failed['CallVault/relay/signing']).toMatch(
        /already exists \(created by stack "CallVault"\).*delete-secret --secret-id CallVault\/relay\/signing/,
      );
      expect(failed['CallVault/relay/webhook']).toMatch(/scheduled for deletion.*restore-secret/);
      expect(failed.hnb659fds).toMatch(
        /eu-west-1 is not bootstrapped for CDK \(no \/cdk-bootstrap\/hnb659fds\/version\): run "npx cdk bootstrap/,
      );
    } finally {
      destroyClients(c);
    }
  });

  it("on a redeploy, counts the ingest's current reservation as free and the stack's own secrets as fine", async () => {
    // 50 reserved already: 150 of 200 unreserved, which with the reservation given back is 200, enough for 50 more than 100.
    account = {
      ...freshAccount(),
      quota: 200,
      unreserved: 150,
      stack: { IngestFunctionName: 'CallVault-Ingest-1' },
      reserved: { 'CallVault-Ingest-1': 50 },
    };
    account.secrets = { 'CallVault/relay/webhook': { tags: { 'aws:cloudformation:stack-name': 'CallVault' } } };
    const c = clients();
    try {
      const report = await checkBeforeDeploy({
        config: parseConfig({ sources, concurrency: { ingestReserved: 50 } }),
        stackName: 'CallVault',
        qualifier: 'hnb659fds',
        clients: c,
      });
      expect(report.checks.filter((x) => !x.ok)).toEqual([]);
      expect(report.checks.find((x) => x.subject === 'ingestReserved')!.detail).toBe(
        `50 reserved fits: 200 of the account's 200 are unreserved, and Lambda keeps ${LAMBDA_MIN_UNRESERVED}`,
      );
      expect(report.checks.find((x) => x.subject === 'CallVault/relay/webhook')!.detail).toBe('exists, managed by this stack');
      expect(requests).toContain('lambda:GetFunctionConcurrency CallVault-Ingest-1');
    } finally {
      destroyClients(c);
    }
  });
});
