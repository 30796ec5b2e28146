/**
 * The AWS contract layer: records every AWS call a function makes as the IAM action and
 * resource AWS would authorise (checked against the synthesised roles by
 * test/support/permissions-contract.ts), and refuses what AWS refuses but the emulators accept
 * (bin/aws-fidelity/aws-limits.ts). The local stack wraps its functions' targets with it too, so it
 * lives in bin/, in a folder of its own that both the local stack and the tests import.
 *
 * How to wire it (a harness or the local stack in test mode):
 *   1. Build the function's AwsTarget as usual (emulator endpoints, region, credentials), then wrap it:
 *        const target = strictAwsTarget({ endpoints, region, credentials }, 'ingest');
 *   2. Pass `target` to the composition root that builds the function's clients (dynamoDocument,
 *      s3Client, sqsClient, secretsClient all call `target.instrument` once per client).
 *   3. Nothing else: calls go to the directory named by CALLVAULT_AWS_CALL_LOG (set for the
 *      integration and e2e projects by vitest.config.ts and inherited by child processes such as the
 *      e2e local stack), and `npm test` checks them in the `contract` project after e2e.
 *      To also keep them in memory (a test asserting on its own calls), pass a sink:
 *        const sink = memorySink(); strictAwsTarget(base, 'media', teeSink(sink, envSink()));
 * Only the function's own clients get the target: setup and assertion clients of the test itself
 * must not be recorded, or the check would judge the test's permissions instead of the function's.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsService, AwsTarget, SdkClient } from '#adapters/aws.ts';
import { CALL_LOG_ENV } from './aws-call-log.ts';
import { limitsInstrument, type MiddlewareStackLike } from './aws-limits.ts';

/** The functions whose roles the contract checks. */
export type ContractFunction = 'ingest' | 'media' | 'insight' | 'reconcile' | 'silence';
export const CONTRACT_FUNCTIONS: readonly ContractFunction[] = ['ingest', 'media', 'insight', 'reconcile', 'silence'];

/**
 * One AWS call as IAM authorises it. `resource` is readable and service-relative: DynamoDB
 * `table` or `table/index/name`, S3 `bucket/key` (or `bucket` for bucket-level calls), SQS the queue
 * name, Secrets Manager the secret id (its name, when an ARN was given).
 */
export interface AwsCall {
  fn: ContractFunction;
  /** IAM action, e.g. `s3:PutObject` (several SDK commands map to one action). */
  action: string;
  resource: string;
  /** The SDK command, e.g. `UploadPartCommand`. */
  command: string;
  /** False when the call failed (any error, including a refusal by the limits layer). */
  ok: boolean;
}

/** Where recorded calls go. */
export interface CallSink {
  record(call: AwsCall): void;
}

export { CALL_LOG_ENV, callLogDir } from './aws-call-log.ts';

/** Calls kept in memory, for a test that asserts on its own calls. */
export function memorySink(): CallSink & { calls: AwsCall[] } {
  const calls: AwsCall[] = [];
  return { calls, record: (call) => void calls.push(call) };
}

/**
 * Appends JSON lines to `{dir}/{pid}.jsonl`, one file per process so parallel workers and child
 * processes never interleave. Synchronous on purpose: a child process killed at the end of a test
 * must not lose the calls it made. The directory is created on the first call, so a run where
 * nothing is wired leaves no directory (and the contract test skips rather than fails).
 */
export function fileSink(dir: string): CallSink {
  let ready = false;
  const file = join(dir, `${process.pid}.jsonl`);
  return {
    record(call) {
      if (!ready) {
        mkdirSync(dir, { recursive: true });
        ready = true;
      }
      appendFileSync(file, `${JSON.stringify(call)}\n`);
    },
  };
}

/** The file sink named by CALLVAULT_AWS_CALL_LOG, or a sink that drops calls when it is not set. */
export function envSink(env: NodeJS.ProcessEnv = process.env): CallSink {
  const dir = env[CALL_LOG_ENV];
  return dir ? fileSink(dir) : { record: () => undefined };
}

export function teeSink(...sinks: CallSink[]): CallSink {
  return { record: (call) => sinks.forEach((s) => s.record(call)) };
}

/** Every call recorded under `dir` (all processes). */
export function readCallLog(dir: string): AwsCall[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as AwsCall),
    );
}

type Json = Record<string, unknown>;
type Grant = { action: string; resource: string };

/** `https://sqs.../123456789012/media` or `http://127.0.0.1:9324/000000000000/media` → `media`. */
export const queueNameOf = (url: string): string => url.replace(/\/+$/, '').split('/').pop() ?? url;
/** A table name or table ARN → the name. */
const tableNameOf = (t: string): string => t.replace(/^arn:[^:]*:dynamodb:[^:]*:[^:]*:table\//, '');
/** A secret name or ARN (`arn:aws:secretsmanager:r:a:secret:name-AbCdEf`) → the part after `secret:`. */
const secretNameOf = (id: string): string => id.replace(/^arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:/, '');

function dynamoGrants(command: string, input: Json): Grant[] {
  const action = `dynamodb:${command}`;
  const table = (t: unknown, index?: unknown) => `${tableNameOf(String(t))}${typeof index === 'string' && index ? `/index/${index}` : ''}`;
  switch (command) {
    case 'BatchWriteItem':
    case 'BatchGetItem':
      // IAM authorises BatchWriteItem per table under its own action name (not PutItem/DeleteItem).
      return Object.keys((input.RequestItems as Json) ?? {}).map((t) => ({ action, resource: table(t) }));
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      const kinds: Record<string, string> = {
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
        Get: 'GetItem',
      };
      return ((input.TransactItems as Json[]) ?? []).flatMap((item) =>
        Object.entries(kinds)
          .filter(([k]) => item[k])
          .map(([k, a]) => ({ action: `dynamodb:${a}`, resource: table((item[k] as Json).TableName) })),
      );
    }
    default:
      return [{ action, resource: input.TableName ? table(input.TableName, input.IndexName) : '*' }];
  }
}

/** S3 commands whose IAM action differs from their name. */
const S3_ACTIONS: Record<string, string> = {
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  UploadPartCopy: 's3:PutObject',
  HeadObject: 's3:GetObject',
  ListParts: 's3:ListMultipartUploadParts',
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  HeadBucket: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  DeleteObjects: 's3:DeleteObject',
};

function s3Grants(command: string, input: Json): Grant[] {
  const bucket = (input.Bucket as string | undefined) ?? '*';
  const objectOf = (key: unknown) => `${bucket}/${String(key)}`;
  // A versioned read or delete needs the *Version action, not the plain one.
  const versioned = input.VersionId !== undefined;
  let action = S3_ACTIONS[command] ?? `s3:${command}`;
  if (versioned && ['s3:GetObject', 's3:DeleteObject', 's3:GetObjectTagging', 's3:PutObjectTagging', 's3:GetObjectAcl'].includes(action)) {
    action = action.replace(/Object(\w*)$/, 'ObjectVersion$1');
  }
  if (command === 'DeleteObjects') {
    const objects = ((input.Delete as Json | undefined)?.Objects as { Key?: string; VersionId?: string }[]) ?? [];
    return objects.map((o) => ({ action: o.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: objectOf(o.Key) }));
  }
  if (input.Key === undefined) return [{ action, resource: bucket }];
  const grants: Grant[] = [{ action, resource: objectOf(input.Key) }];
  // Extras a write may need: tags and ACLs set with the object are authorised separately.
  if (['PutObject', 'CreateMultipartUpload', 'CopyObject'].includes(command)) {
    if (input.Tagging !== undefined) grants.push({ action: 's3:PutObjectTagging', resource: objectOf(input.Key) });
    if (input.ACL !== undefined || input.GrantRead !== undefined || input.GrantFullControl !== undefined) {
      grants.push({ action: 's3:PutObjectAcl', resource: objectOf(input.Key) });
    }
  }
  const copySource = command === 'CopyObject' || command === 'UploadPartCopy' ? input.CopySource : undefined;
  if (typeof copySource === 'string') {
    const [source, query] = decodeURIComponent(copySource.replace(/^\//, '')).split('?versionId=');
    grants.push({ action: query ? 's3:GetObjectVersion' : 's3:GetObject', resource: source! });
  }
  return grants;
}

const SQS_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'sqs:SendMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
};

function sqsGrants(command: string, input: Json): Grant[] {
  const action = SQS_ACTIONS[command] ?? `sqs:${command}`;
  if (typeof input.QueueUrl === 'string') return [{ action, resource: queueNameOf(input.QueueUrl) }];
  if (typeof input.QueueName === 'string') return [{ action, resource: input.QueueName }];
  return [{ action, resource: '*' }];
}

function secretsGrants(command: string, input: Json): Grant[] {
  if (command === 'BatchGetSecretValue') {
    // Authorised per secret as GetSecretValue, plus the batch action itself on "*".
    const ids = (input.SecretIdList as string[] | undefined) ?? [];
    return [
      { action: 'secretsmanager:BatchGetSecretValue', resource: '*' },
      ...ids.map((id) => ({ action: 'secretsmanager:GetSecretValue', resource: secretNameOf(id) })),
    ];
  }
  return [{ action: `secretsmanager:${command}`, resource: typeof input.SecretId === 'string' ? secretNameOf(input.SecretId) : '*' }];
}

/** The IAM actions and resources one SDK command needs (`commandName` as the SDK names it, e.g. `PutObjectCommand`). */
export function iamGrantsOf(service: AwsService, commandName: string, input: Json): Grant[] {
  const command = commandName.replace(/Command$/, '');
  switch (service) {
    case 'dynamodb':
      return dynamoGrants(command, input);
    case 's3':
      return s3Grants(command, input);
    case 'sqs':
      return sqsGrants(command, input);
    case 'secretsmanager':
      return secretsGrants(command, input);
    case 'cloudwatch':
      // CloudWatch metric reads support no resource-level permissions.
      return [{ action: `cloudwatch:${command}`, resource: '*' }];
  }
}

/**
 * An `AwsTarget.instrument` that records every call of `fn`'s clients to `sink` (by default the
 * CALLVAULT_AWS_CALL_LOG directory), successful or not. It sits first in the initialize step, so it
 * sees the caller's input once per call (not per retry) and every error, limits refusals included.
 */
export function contractInstrument(fn: ContractFunction, sink: CallSink = envSink()): (client: SdkClient, service: AwsService) => void {
  return (client, service) => {
    (client.middlewareStack as unknown as MiddlewareStackLike).add(
      (next, context) => async (args) => {
        const command = String(context.commandName ?? 'UnknownCommand');
        const record = (ok: boolean) => {
          for (const grant of iamGrantsOf(service, command, args.input as Json)) sink.record({ fn, ...grant, command, ok });
        };
        try {
          const result = await next(args);
          record(true);
          return result;
        } catch (err) {
          record(false);
          throw err;
        }
      },
      { step: 'initialize', priority: 'high', name: 'callvaultContractRecorder', override: true },
    );
  };
}

/** Several instruments as one, applied in order. */
export function composeInstruments(...instruments: (AwsTarget['instrument'] | undefined)[]): NonNullable<AwsTarget['instrument']> {
  return (client, service) => instruments.forEach((instrument) => instrument?.(client, service));
}

/**
 * `base` with the contract on top: every call of `fn` is recorded (to `sink`, by default the
 * CALLVAULT_AWS_CALL_LOG directory) and checked against AWS's limits before it is sent. Keeps any
 * instrument `base` already had.
 */
export function strictAwsTarget(base: AwsTarget, fn: ContractFunction, sink: CallSink = envSink()): AwsTarget {
  return { ...base, instrument: composeInstruments(base.instrument, contractInstrument(fn, sink), limitsInstrument()) };
}

/**
 * The target the local stack gives one function: AWS's limits always (the local stack refuses what a
 * deploy would), and its calls recorded when CALLVAULT_AWS_CALL_LOG is set (the e2e tests set it, so
 * the contract test also judges what the functions did in the child process).
 */
export function localFunctionTarget(base: AwsTarget, fn: ContractFunction, env: NodeJS.ProcessEnv = process.env): AwsTarget {
  if (env[CALL_LOG_ENV]) return strictAwsTarget(base, fn, envSink(env));
  return { ...base, instrument: composeInstruments(base.instrument, limitsInstrument()) };
}
