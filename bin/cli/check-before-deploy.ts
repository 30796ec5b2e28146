/**
 * `callvault check --before-deploy`: what `cdk synth` cannot know about the account, read with the
 * user's credentials before `cdk deploy` meets it (and leaves a rollback behind): the Lambda concurrency
 * the config reserves and caps against the account's quota, the CDK bootstrap version, and secrets the
 * stack would create by name that already exist (kept from an earlier deploy). Each line says what fits
 * or what to change; nothing is written.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CallVaultConfig } from '#contract/config.ts';
import { secretName, type SECRET_KINDS } from '#contract/resources.ts';
import { CliError } from './context.ts';

/** Lambda keeps this many executions of an account unreserved: a reservation that leaves fewer fails. */
export const LAMBDA_MIN_UNRESERVED = 100;
/** The oldest CDK bootstrap the synthesised template accepts (its CheckBootstrapVersion rule). */
export const MIN_BOOTSTRAP_VERSION = 6;
/** Executions the workers' caps must leave the webhooks when they share the account's pool (a burst of deliveries). */
export const WEBHOOK_HEADROOM = 10;
/** The CDK's default bootstrap qualifier, when cdk.json sets none. */
export const DEFAULT_BOOTSTRAP_QUALIFIER = 'hnb659fds';

/** The clients the checks use; the CLI builds them from the default credential chain. */
export interface BeforeDeployClients {
  lambda: LambdaClient;
  ssm: SSMClient;
  secrets: SecretsManagerClient;
  cloudformation: CloudFormationClient;
}

/** One line of the report; `ok: false` makes the command exit 1. */
export interface BeforeDeployItem {
  check: 'concurrency' | 'bootstrap' | 'secret';
  subject: string;
  ok: boolean;
  detail: string;
}

export interface BeforeDeployReport {
  ok: boolean;
  target: 'before-deploy';
  stack: string;
  checks: BeforeDeployItem[];
}

export interface BeforeDeployOptions {
  config: CallVaultConfig;
  stackName: string;
  qualifier: string;
  clients: BeforeDeployClients;
}

/** Every secret the stack creates by name: `{stack}/{source}/{kind}` (functions/contract/resources.ts). */
export function expectedSecrets(config: CallVaultConfig, stackName: string): string[] {
  const names: [string, keyof typeof SECRET_KINDS][] = config.sources.flatMap((s) => [
    [s.id, 'webhook'] as [string, keyof typeof SECRET_KINDS],
    ...(s.signature ? [[s.id, 'signing'] as [string, keyof typeof SECRET_KINDS]] : []),
    ...(s.provider === 'hipcall' ? [[s.id, 'hipcallApi'] as [string, keyof typeof SECRET_KINDS]] : []),
  ]);
  return names.map(([id, kind]) => secretName(`${stackName}/`, id, kind));
}

const errorName = (err: unknown): string => (err as { name?: string }).name ?? 'Error';

/** Whether the stack exists, and its ingest function's current reservation (already out of the unreserved figure). */
async function deployedStack(o: BeforeDeployOptions): Promise<{ exists: boolean; ingestReservation: number }> {
  let outputs: Record<string, string>;
  try {
    const { Stacks } = await o.clients.cloudformation.send(new DescribeStacksCommand({ StackName: o.stackName }));
    outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((x) => [x.OutputKey!, x.OutputValue!]));
  } catch (err) {
    if (errorName(err) === 'ValidationError' && /does not exist/.test((err as Error).message))
      return { exists: false, ingestReservation: 0 };
    throw new CliError(`Could not look up stack "${o.stackName}" (${(err as Error).message}): check your credentials and region.`);
  }
  const name = outputs.IngestFunctionName;
  if (!name) return { exists: true, ingestReservation: 0 };
  const { ReservedConcurrentExecutions } = await o.clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }));
  return { exists: true, ingestReservation: ReservedConcurrentExecutions ?? 0 };
}

async function concurrency(o: BeforeDeployOptions, ingestReservation: number): Promise<BeforeDeployItem[]> {
  const { AccountLimit } = await o.clients.lambda.send(new GetAccountSettingsCommand({}));
  const quota = AccountLimit?.ConcurrentExecutions ?? 0;
  // What is unreserved once the ingest's current reservation (a redeploy) is given back.
  const unreserved = (AccountLimit?.UnreservedConcurrentExecutions ?? 0) + ingestReservation;
  const { ingestReserved, mediaMax, insightMax, replayMax } = o.config.concurrency;
  const items: BeforeDeployItem[] = [];
  if (ingestReserved > 0) {
    const room = unreserved - LAMBDA_MIN_UNRESERVED;
    items.push(
      ingestReserved <= room
        ? {
            check: 'concurrency',
            subject: 'ingestReserved',
            ok: true,
            detail: `${ingestReserved} reserved fits: ${unreserved} of the account's ${quota} are unreserved, and Lambda keeps ${LAMBDA_MIN_UNRESERVED}`,
          }
        : {
            check: 'concurrency',
            subject: 'ingestReserved',
            ok: false,
            detail:
              `concurrency.ingestReserved is ${ingestReserved}, but the account's quota is ${quota} with ${unreserved} unreserved, and Lambda keeps ${LAMBDA_MIN_UNRESERVED} unreserved: the deploy would fail. ` +
              `Set concurrency.ingestReserved to ${room > 0 ? `at most ${room}` : '0 (reserve nothing)'} in cdk.json, or ask AWS for a higher "Concurrent executions" quota (Service Quotas, Lambda).`,
          },
    );
  } else {
    items.push({
      check: 'concurrency',
      subject: 'ingestReserved',
      ok: true,
      detail: `nothing reserved: the ingest shares the account's ${unreserved} unreserved executions (of ${quota})`,
    });
  }
  // Without a reservation, the queues' event sources at their caps must leave the webhooks room.
  const shared = unreserved - (ingestReserved > 0 ? ingestReserved : 0);
  const workers = mediaMax + insightMax + (ingestReserved > 0 ? 0 : replayMax);
  const spare = shared - workers;
  items.push(
    spare >= WEBHOOK_HEADROOM
      ? {
          check: 'concurrency',
          subject: 'worker maxima',
          ok: true,
          detail: `mediaMax ${mediaMax} + insightMax ${insightMax}${ingestReserved > 0 ? '' : ` + replayMax ${replayMax}`} = ${workers} of ${shared} shared executions: ${spare} left for the webhooks and everything else in the account`,
        }
      : {
          check: 'concurrency',
          subject: 'worker maxima',
          ok: false,
          detail:
            `mediaMax ${mediaMax} + insightMax ${insightMax}${ingestReserved > 0 ? '' : ` + replayMax ${replayMax}`} = ${workers} executions at once, and the account shares only ${shared}: busy workers would throttle the webhooks (Hipcall never retries). ` +
            'Lower concurrency.mediaMax and concurrency.insightMax (2 at least) in cdk.json, or ask AWS for a higher "Concurrent executions" quota.',
        },
  );
  return items;
}

async function bootstrap(o: BeforeDeployOptions): Promise<BeforeDeployItem> {
  const name = `/cdk-bootstrap/${o.qualifier}/version`;
  const region = await o.clients.ssm.config.region();
  try {
    const { Parameter } = await o.clients.ssm.send(new GetParameterCommand({ Name: name }));
    const version = Number(Parameter?.Value);
    return version >= MIN_BOOTSTRAP_VERSION
      ? {
          check: 'bootstrap',
          subject: o.qualifier,
          ok: true,
          detail: `bootstrap version ${version} (${name}); the stack needs ${MIN_BOOTSTRAP_VERSION} or later`,
        }
      : {
          check: 'bootstrap',
          subject: o.qualifier,
          ok: false,
          detail: `bootstrap version ${Parameter?.Value ?? '?'} is older than the ${MIN_BOOTSTRAP_VERSION} the stack needs: run "npx cdk bootstrap" again in ${region}`,
        };
  } catch (err) {
    if (errorName(err) !== 'ParameterNotFound') throw err;
    return {
      check: 'bootstrap',
      subject: o.qualifier,
      ok: false,
      detail: `${region} is not bootstrapped for CDK (no ${name}): run "npx cdk bootstrap aws://ACCOUNT/${region}" once, then deploy`,
    };
  }
}

async function secrets(o: BeforeDeployOptions, stackExists: boolean): Promise<BeforeDeployItem[]> {
  const items: BeforeDeployItem[] = [];
  for (const name of expectedSecrets(o.config, o.stackName)) {
    let described;
    try {
      described = await o.clients.secrets.send(new DescribeSecretCommand({ SecretId: name }));
    } catch (err) {
      if (errorName(err) !== 'ResourceNotFoundException') throw err;
      items.push({
        check: 'secret',
        subject: name,
        ok: true,
        detail: stackExists ? 'not there yet: the next deploy creates it' : 'free: the deploy creates it',
      });
      continue;
    }
    const owner = described.Tags?.find((t) => t.Key === 'aws:cloudformation:stack-name')?.Value;
    if (stackExists && owner === o.stackName && !described.DeletedDate) {
      items.push({ check: 'secret', subject: name, ok: true, detail: 'exists, managed by this stack' });
      continue;
    }
    items.push({
      check: 'secret',
      subject: name,
      ok: false,
      detail: described.DeletedDate
        ? `is scheduled for deletion, and the name stays taken until it is gone: restore it (aws secretsmanager restore-secret --secret-id ${name}) and delete it for good after copying its value, or wait until ${described.DeletedDate.toISOString()}`
        : `already exists${owner ? ` (created by stack "${owner}")` : ''}, and the deploy would fail creating it. It is probably kept from an earlier deploy (CallVault retains token and signing secrets): ` +
          `copy its value, then aws secretsmanager delete-secret --secret-id ${name} --force-delete-without-recovery, deploy, and put the value back (the provider dashboards keep working)`,
    });
  }
  return items;
}

/** Every check; throws only when the account cannot be read at all. */
export async function checkBeforeDeploy(o: BeforeDeployOptions): Promise<BeforeDeployReport> {
  const stack = await deployedStack(o);
  const checks = [...(await concurrency(o, stack.ingestReservation)), await bootstrap(o), ...(await secrets(o, stack.exists))];
  return { ok: checks.every((c) => c.ok), target: 'before-deploy', stack: o.stackName, checks };
}

const HEADINGS: Record<BeforeDeployItem['check'], string> = {
  concurrency: 'Lambda concurrency',
  bootstrap: 'CDK bootstrap',
  secret: 'Secrets the stack creates by name',
};

/** The report as the screen shows it. */
export function beforeDeployLines(r: BeforeDeployReport): string[] {
  const lines: string[] = [];
  let heading = '';
  for (const c of r.checks) {
    if (HEADINGS[c.check] !== heading) {
      heading = HEADINGS[c.check];
      lines.push(`${heading}:`);
    }
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.subject}: ${c.detail}`);
  }
  const failed = r.checks.filter((c) => !c.ok);
  lines.push(
    failed.length
      ? `\n${failed.length} check(s) would stop the deploy of "${r.stack}": fix them, then run "npx cdk deploy".`
      : `\nNothing in the account stands in the way of deploying "${r.stack}".`,
  );
  return lines;
}

/** The default credential chain's clients, in `region` when given. */
export function defaultClients(region?: string): BeforeDeployClients {
  const opts = region ? { region } : {};
  return {
    lambda: new LambdaClient(opts),
    ssm: new SSMClient(opts),
    secrets: new SecretsManagerClient(opts),
    cloudformation: new CloudFormationClient(opts),
  };
}

export function destroyClients(c: BeforeDeployClients): void {
  for (const client of Object.values(c) as { destroy(): void }[]) client.destroy();
}
