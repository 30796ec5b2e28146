import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { FLOOR_NAME, startFloor } from '#bench/load-floor.ts';
import { loadWorkload, sendDeliveries } from '#bench/load.ts';

describe("the load benchmark's floor (bench/load-floor.ts)", () => {
  let emulators: Emulators;
  let ddb: DynamoDBClient;
  let s3: S3Client;
  let sqs: SQSClient;
  beforeAll(async () => {
    emulators = await startEmulators();
    ddb = new DynamoDBClient(localClientConfig(emulators.endpoints.dynamodb));
    s3 = new S3Client(localClientConfig(emulators.endpoints.s3));
    sqs = new SQSClient(localClientConfig(emulators.endpoints.sqs));
  });
  afterAll(async () => {
    ddb?.destroy();
    s3?.destroy();
    sqs?.destroy();
    await emulators?.close();
  });

  it("makes a delivery's AWS requests (the media job, the raw/ copy, the create, the read for a repeat) and removes its table, bucket and queue after", async () => {
    const floor = await startFloor(emulators.endpoints);
    let closed = false;
    try {
      const deliveries = loadWorkload({ runId: 'floor-test', deliveries: 60, calls: 50, demoMedia: 'http://127.0.0.1:9' });
      const sent = await sendDeliveries(floor.url, deliveries, 4);
      expect(sent.statuses).toEqual({ 200: 60 });

      // One item per call, one raw/ object and one media job per delivery.
      const items = await ddb.send(new ScanCommand({ TableName: FLOOR_NAME, Select: 'COUNT' }));
      expect(items.Count).toBe(50);
      const objects = await s3.send(new ListObjectsV2Command({ Bucket: FLOOR_NAME, Prefix: 'raw/' }));
      expect(objects.KeyCount).toBe(60);
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: FLOOR_NAME }));
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
      expect(Attributes?.ApproximateNumberOfMessages).toBe('60');

      // On /raw: the raw/ copy alone, nothing else.
      const raw = await sendDeliveries(`${floor.url}raw`, deliveries.slice(0, 10), 2);
      expect(raw.statuses).toEqual({ 200: 10 });
      expect((await s3.send(new ListObjectsV2Command({ Bucket: FLOOR_NAME, Prefix: 'raw/' }))).KeyCount).toBe(70);
      expect((await ddb.send(new ScanCommand({ TableName: FLOOR_NAME, Select: 'COUNT' }))).Count).toBe(50);
      const after = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
      expect(after.Attributes?.ApproximateNumberOfMessages).toBe('60');

      await floor.close();
      closed = true;
      await expect(ddb.send(new DescribeTableCommand({ TableName: FLOOR_NAME }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
      await expect(s3.send(new HeadBucketCommand({ Bucket: FLOOR_NAME }))).rejects.toThrow();
      const queues = await sqs.send(new ListQueuesCommand({}));
      expect((queues.QueueUrls ?? []).filter((u) => u.endsWith(`/${FLOOR_NAME}`))).toEqual([]);
      // The stack's own resources are untouched.
      expect((await ddb.send(new DescribeTableCommand({ TableName: emulators.tables.calls }))).Table?.TableStatus).toBe('ACTIVE');
    } finally {
      if (!closed) await floor.close();
    }
  });
});
