import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { dynamoDocument, FAST, PATIENT, s3Client, secretsClient, sqsClient } from '#adapters/aws.ts';
import {
  composeInstruments,
  contractInstrument,
  fileSink,
  memorySink,
  readCallLog,
  strictAwsTarget,
  type CallSink,
} from '#bin/aws-fidelity/aws-contract.ts';
import { offlineAws } from '#test/support/offline-aws.ts';

function recorded(sink: CallSink = memorySink()) {
  const aws = offlineAws();
  const target = { ...aws.base, instrument: composeInstruments(contractInstrument('media', sink), aws.terminal) };
  return { aws, target };
}
const pairs = (sink: ReturnType<typeof memorySink>) => sink.calls.map((c) => `${c.action} ${c.resource}`);

describe('contractInstrument', () => {
  it('names S3 calls as IAM does: the multipart steps are s3:PutObject, HeadObject is s3:GetObject', async () => {
    const sink = memorySink();
    const s3 = s3Client(PATIENT, recorded(sink).target);
    const at = { Bucket: 'callvault-archive', Key: 'recordings/hipcall/2026/04/02/a.mp3' };
    await s3.send(new PutObjectCommand({ ...at, Body: 'x' }));
    await s3.send(new CreateMultipartUploadCommand(at));
    await s3.send(new UploadPartCommand({ ...at, UploadId: 'u', PartNumber: 1, Body: 'x' }));
    await s3.send(new CompleteMultipartUploadCommand({ ...at, UploadId: 'u' }));
    await s3.send(new HeadObjectCommand(at));
    await s3.send(new GetObjectCommand(at));
    await s3.send(new ListPartsCommand({ ...at, UploadId: 'u' }));
    await s3.send(new AbortMultipartUploadCommand({ ...at, UploadId: 'u' }));
    const object = 'callvault-archive/recordings/hipcall/2026/04/02/a.mp3';
    expect(pairs(sink)).toEqual([
      ...Array<string>(4).fill(`s3:PutObject ${object}`),
      `s3:GetObject ${object}`,
      `s3:GetObject ${object}`,
      `s3:ListMultipartUploadParts ${object}`,
      `s3:AbortMultipartUpload ${object}`,
    ]);
  });

  it('asks for s3:GetObjectVersion when a version is read, and for tagging when a write sets tags', async () => {
    const sink = memorySink();
    const s3 = s3Client(PATIENT, recorded(sink).target);
    await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k', VersionId: 'v1' }));
    await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x', Tagging: 'a=b' }));
    expect(pairs(sink)).toEqual(['s3:GetObjectVersion b/k', 's3:PutObject b/k', 's3:PutObjectTagging b/k']);
  });

  it('names SQS calls by queue name from the URL, batches by their single-message action', async () => {
    const sink = memorySink();
    const sqs = sqsClient(PATIENT, recorded(sink).target);
    const QueueUrl = 'http://127.0.0.1:9324/000000000000/media';
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{}' }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: '1', MessageBody: '{}' }] }));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: [{ Id: '1', ReceiptHandle: 'r' }] }));
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: 'r', VisibilityTimeout: 10 }));
    await sqs.send(new GetQueueUrlCommand({ QueueName: 'insight' }));
    expect(pairs(sink)).toEqual([
      'sqs:SendMessage media',
      'sqs:SendMessage media',
      'sqs:DeleteMessage media',
      'sqs:ChangeMessageVisibility media',
      'sqs:GetQueueUrl insight',
    ]);
  });

  it('names DynamoDB calls of the document client by their low-level action, with the index when there is one', async () => {
    const sink = memorySink();
    const doc = dynamoDocument(PATIENT, recorded(sink).target);
    await doc.send(new GetCommand({ TableName: 'calls', Key: { callKey: 'hipcall#1' } }));
    await doc.send(new PutCommand({ TableName: 'calls', Item: { callKey: 'hipcall#1' } }));
    await doc.send(
      new UpdateCommand({
        TableName: 'calls',
        Key: { callKey: 'hipcall#1' },
        UpdateExpression: 'SET a = :a',
        ExpressionAttributeValues: { ':a': 1 },
      }),
    );
    await doc.send(
      new QueryCommand({
        TableName: 'calls',
        IndexName: 'byDay',
        KeyConditionExpression: '#d = :d',
        ExpressionAttributeNames: { '#d': 'day' },
        ExpressionAttributeValues: { ':d': '2026-04-02' },
      }),
    );
    await doc.send(new BatchWriteCommand({ RequestItems: { contacts: [{ PutRequest: { Item: { phone: '+441234567890' } } }] } }));
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: 'contacts', Item: { phone: '+441234567890' } } },
          { ConditionCheck: { TableName: 'calls', Key: { callKey: 'hipcall#1' }, ConditionExpression: 'attribute_exists(callKey)' } },
        ],
      }),
    );
    expect(pairs(sink)).toEqual([
      'dynamodb:GetItem calls',
      'dynamodb:PutItem calls',
      'dynamodb:UpdateItem calls',
      'dynamodb:Query calls/index/byDay',
      'dynamodb:BatchWriteItem contacts',
      'dynamodb:PutItem contacts',
      'dynamodb:ConditionCheckItem calls',
    ]);
  });

  it('names a secret by its name when the function asks by ARN', async () => {
    const sink = memorySink();
    const secrets = secretsClient(PATIENT, recorded(sink).target);
    await secrets.send(
      new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebhookToken-hipcall-AbCdEf' }),
    );
    expect(pairs(sink)).toEqual(['secretsmanager:GetSecretValue WebhookToken-hipcall-AbCdEf']);
  });

  it('records a failed call as failed, once however often the SDK retried, and still throws', async () => {
    const sink = memorySink();
    const { aws, target } = recorded(sink);
    const s3 = s3Client(FAST, target);
    aws.failWith(
      Object.assign(new Error('internal error'), { name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } }),
    );
    await expect(s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }))).rejects.toThrow('internal error');
    expect(aws.sent).toEqual(['s3:PutObject', 's3:PutObject']);
    expect(sink.calls).toEqual([{ fn: 'media', action: 's3:PutObject', resource: 'b/k', command: 'PutObjectCommand', ok: false }]);
  });

  it('records a call the limits layer refused, and never sends it', async () => {
    const sink = memorySink();
    const aws = offlineAws();
    const target = strictAwsTarget(aws.base, 'ingest', sink);
    const s3 = s3Client(PATIENT, { ...target, instrument: composeInstruments(target.instrument, aws.terminal) });
    await expect(s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k'.repeat(1025), Body: 'x' }))).rejects.toMatchObject({
      name: 'KeyTooLongError',
    });
    expect(aws.sent).toEqual([]);
    expect(sink.calls).toMatchObject([{ fn: 'ingest', action: 's3:PutObject', ok: false }]);
  });
});

describe('call log files', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('creates the log directory on the first call only, then reads back every call written to it', async () => {
    dir = join(mkdtempSync(join(tmpdir(), 'cv-calls-')), 'log');
    const { target } = recorded(fileSink(dir));
    const sqs = sqsClient(PATIENT, target);
    expect(existsSync(dir)).toBe(false);
    await sqs.send(new SendMessageCommand({ QueueUrl: 'http://127.0.0.1:1/000000000000/insight', MessageBody: '{}' }));
    await sqs.send(new GetQueueUrlCommand({ QueueName: 'media' }));
    expect(readCallLog(dir)).toEqual([
      { fn: 'media', action: 'sqs:SendMessage', resource: 'insight', command: 'SendMessageCommand', ok: true },
      { fn: 'media', action: 'sqs:GetQueueUrl', resource: 'media', command: 'GetQueueUrlCommand', ok: true },
    ]);
  });
});
