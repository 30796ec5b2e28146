/**
 * The load benchmark's floor: what this machine can do with the AWS requests one delivery must make,
 * and nothing else. A node:http server in a process of its own (as the stack's API and handlers are)
 * answers each POST after the same requests the ingest makes for a Hipcall call_hangup, in parallel as
 * the ingest does (functions/ingest/process.ts, applyAccepted): the media job (SendMessage), the raw/
 * copy (PutObject) and the call's conditional create (UpdateItem), then, when the call already exists,
 * the read the merge needs (GetItem). No token check, no parsing, no merge, no metrics. On `/raw` it
 * makes only the raw/ copy: the one request DESIGN.md requires before any answer (nothing is lost).
 *
 * It runs against the stack's own emulator processes, with its own table, bucket and queue (created at
 * start, deleted at the end), built from the same definitions and with the same SDK client settings as
 * the ingest, so the stack's throughput over the floor's, measured in the same run, is the share of the
 * machine the handler itself costs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ConditionalCheckFailedException, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { FAST, dynamoDocument, s3Client, sqsClient } from '#adapters/aws.ts';
import { localClientConfig, localTarget } from '#bin/local/target.ts';
import { forkServer } from '#bin/local/emulator-child.ts';
import { ensureTable } from '#bin/local/emulators.ts';
import { CALLS_TABLE } from '#contract/resources.ts';
import type { Endpoints } from '#bin/local/stack.ts';

export const FLOOR_NAME = 'callvault-bench-floor';

export interface Floor {
  url: string;
  close(): Promise<void>;
}

/** Start the floor server in a child process against `endpoints`' emulators; resolves when it listens. */
export async function startFloor(endpoints: Pick<Endpoints, 'dynamodb' | 's3' | 'sqs'>): Promise<Floor> {
  // It deletes its table, bucket and queue before it exits: time for that before it is killed.
  const server = await forkServer(
    fileURLToPath(import.meta.url),
    [JSON.stringify({ dynamodb: endpoints.dynamodb, s3: endpoints.s3, sqs: endpoints.sqs })],
    'load floor server',
    30_000,
  );
  return { url: `http://127.0.0.1:${server.port}/`, close: () => server.close() };
}

async function serve(endpoints: { dynamodb: string; s3: string; sqs: string }): Promise<void> {
  const target = localTarget(endpoints);
  const doc = dynamoDocument(FAST, target);
  const s3 = s3Client(FAST, target);
  const sqs = sqsClient(FAST, target);
  const table = FLOOR_NAME;
  // The table itself with an admin client; the measured requests go through the ingest's own client settings.
  const admin = new DynamoDBClient(localClientConfig(endpoints.dynamodb));
  await ensureTable(admin, { ...CALLS_TABLE, name: table });
  // A bucket left by an interrupted run is used again.
  await s3.send(new CreateBucketCommand({ Bucket: FLOOR_NAME })).catch(() => undefined);
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: FLOOR_NAME }));
  let n = 0;

  /** The requests of one delivery, in parallel: the media job, the raw/ copy, the create (and the read when the call exists). */
  const deliver = async (body: string, rawOnly: boolean): Promise<void> => {
    const callId = /"uuid"\s*:\s*"([^"]+)"/.exec(body)?.[1] ?? `floor-${n}`;
    const now = new Date().toISOString();
    if (rawOnly) {
      await s3.send(
        new PutObjectCommand({ Bucket: FLOOR_NAME, Key: `raw/hipcall/${callId}/${n++}.json`, Body: body, ContentType: 'application/json' }),
      );
      return;
    }
    await Promise.all([
      sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify({ provider: 'hipcall', callId, media: 'recording', queuedAt: now }),
        }),
      ),
      s3.send(
        new PutObjectCommand({ Bucket: FLOOR_NAME, Key: `raw/hipcall/${callId}/${n++}.json`, Body: body, ContentType: 'application/json' }),
      ),
      doc
        .send(
          new UpdateCommand({
            TableName: table,
            Key: { callKey: `hipcall#${callId}` },
            UpdateExpression: 'SET #s = :s, #u = :u, #v = :v',
            ConditionExpression: 'attribute_not_exists(callKey)',
            ExpressionAttributeNames: { '#s': 'status', '#u': 'updatedAt', '#v': 'version' },
            ExpressionAttributeValues: { ':s': 'completed', ':u': now, ':v': 1 },
          }),
        )
        .catch(async (err: unknown) => {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
          await doc.send(new GetCommand({ TableName: table, Key: { callKey: `hipcall#${callId}` }, ConsistentRead: true }));
        }),
    ]);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliver(Buffer.concat(chunks).toString('utf8'), req.url === '/raw').then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"stored"}'),
        (err: unknown) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(err) })),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    await Promise.allSettled([
      admin.send(new DeleteTableCommand({ TableName: table })),
      sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })),
      (async () => {
        for (;;) {
          const page = await s3.send(new ListObjectsV2Command({ Bucket: FLOOR_NAME, MaxKeys: 1000 }));
          if (!page.Contents?.length) break;
          await s3.send(
            new DeleteObjectsCommand({ Bucket: FLOOR_NAME, Delete: { Objects: page.Contents.map((o) => ({ Key: o.Key! })), Quiet: true } }),
          );
        }
        await s3.send(new DeleteBucketCommand({ Bucket: FLOOR_NAME }));
      })(),
    ]);
    process.exit(0);
  };
  process.on('message', (m) => m === 'stop' && void stop());
  process.on('disconnect', () => void stop());
  process.send!({ port: (server.address() as AddressInfo).port });
}

if (import.meta.main) {
  serve(JSON.parse(process.argv[2] ?? '{}') as { dynamodb: string; s3: string; sqs: string }).catch((err: unknown) => {
    process.send!({ error: (err as Error).message }, () => process.exit(1));
  });
}
