import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig, startEmulators } from '#bin/local/emulators.ts';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const listening = (url: string) =>
  new Promise<boolean>((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('startEmulators({ processes: true })', () => {
  it('serves DynamoDB, S3 and SQS from child processes, keeps the data in the data dir across a restart, and leaves nothing listening after close', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cv-emu-proc-'));
    dirs.push(dataDir);
    const first = await startEmulators({ dataDir, processes: true });
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(first.endpoints.dynamodb)));
    const s3 = new S3Client(localClientConfig(first.endpoints.s3));
    const sqs = new SQSClient(localClientConfig(first.endpoints.sqs));
    try {
      await doc.send(new PutCommand({ TableName: first.tables.calls, Item: { callKey: 'hipcall#kept', status: 'completed' } }));
      await s3.send(new PutObjectCommand({ Bucket: first.bucket, Key: 'raw/kept.json', Body: '{"kept":true}' }));
      await sqs.send(new SendMessageCommand({ QueueUrl: first.queues.replay, MessageBody: 'hello' }));
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: first.queues.replay, WaitTimeSeconds: 1 }));
      expect(Messages?.[0]?.Body).toBe('hello');
    } finally {
      doc.destroy();
      s3.destroy();
      sqs.destroy();
      await first.close();
    }
    expect(Object.keys(first.endpoints).sort()).toEqual(['dynamodb', 's3', 'sqs']);
    for (const url of Object.values(first.endpoints)) expect(await listening(url)).toBe(false);

    const second = await startEmulators({ dataDir, processes: true });
    const doc2 = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(second.endpoints.dynamodb)));
    const s32 = new S3Client(localClientConfig(second.endpoints.s3));
    try {
      const { Item } = await doc2.send(new GetCommand({ TableName: second.tables.calls, Key: { callKey: 'hipcall#kept' } }));
      expect(Item?.status).toBe('completed');
      const obj = await s32.send(new GetObjectCommand({ Bucket: second.bucket, Key: 'raw/kept.json' }));
      expect(await obj.Body!.transformToString()).toBe('{"kept":true}');
    } finally {
      doc2.destroy();
      s32.destroy();
      await second.close();
    }
  });

  it('refuses to start when a port is taken, naming the cause, and leaves no emulator running', async () => {
    const taken = await startEmulators({ processes: true });
    const port = Number(new URL(taken.endpoints.s3).port);
    try {
      await expect(startEmulators({ processes: true, s3Port: port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await taken.close();
    }
  });
});
