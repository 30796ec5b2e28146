/**
 * SqsRetryQueue against local-aws-sqs: the real SDK, a real queue. Every command the adapter sends is
 * recorded, so the tests see when it looks a queue URL up and when it uses the cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { queueArnOf } from '#bin/local/poller.ts';
import { SqsRetryQueue } from '#adapters/retry-queue.ts';
import type { Log } from '#core/ports/log.ts';

let em: Emulators;
let sqs: SQSClient;

beforeAll(async () => {
  em = await startEmulators();
  sqs = new SQSClient(localClientConfig(em.endpoints.sqs));
});

afterAll(async () => {
  sqs?.destroy();
  await em?.close();
});

function harness(queueUrl?: string) {
  const sent: string[] = [];
  const warnings: Record<string, unknown>[] = [];
  const log: Log = { info: () => undefined, warn: (_m, f) => void warnings.push(f ?? {}), error: () => undefined };
  const recording = {
    send: ((command: { constructor: { name: string } }) => (
      sent.push(command.constructor.name),
      sqs.send(command as never)
    )) as SQSClient['send'],
  };
  return { queue: new SqsRetryQueue(recording, { queueUrl, log }), sent, warnings };
}

async function receiveOne(queueUrl: string, visibility = 600): Promise<Message | undefined> {
  const r = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, VisibilityTimeout: visibility }),
  );
  return r.Messages?.[0];
}

async function putAndReceive(queueUrl: string, body: string): Promise<Message> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  const m = await receiveOne(queueUrl);
  if (!m) throw new Error('the message did not arrive');
  return m;
}

const ref = (m: Message, queueUrl: string) => ({
  messageId: m.MessageId!,
  receiptHandle: m.ReceiptHandle!,
  queueArn: queueArnOf(queueUrl, em.region),
  receivedAt: Date.now(),
});

describe('SqsRetryQueue', () => {
  it('uses the configured URL for its own queue, with no lookup, and a delay of 0 makes the message visible again', async () => {
    const { queue, sent, warnings } = harness(em.queues.media);
    const m = await putAndReceive(em.queues.media, 'again');
    await queue.delay(ref(m, em.queues.media), 0);
    expect(sent).toEqual(['ChangeMessageVisibilityCommand']);
    expect(warnings).toEqual([]);
    expect((await receiveOne(em.queues.media, 0))?.Body).toBe('again');
  });

  it('keeps a delayed message hidden, even when asked for more than SQS allows', async () => {
    const { queue, warnings } = harness(em.queues.replay);
    const m = await putAndReceive(em.queues.replay, 'later');
    await queue.delay(ref(m, em.queues.replay), 50_000);
    expect(warnings).toEqual([]);
    expect(await receiveOne(em.queues.replay)).toBeUndefined();
  });

  it('looks another queue up by name once and then uses the cache', async () => {
    const { queue, sent } = harness(em.queues.media);
    const a = await putAndReceive(em.queues.insight, 'a');
    const b = await putAndReceive(em.queues.insight, 'b');
    await queue.delay(ref(a, em.queues.insight), 0);
    await queue.delay(ref(b, em.queues.insight), 0);
    expect(sent).toEqual(['GetQueueUrlCommand', 'ChangeMessageVisibilityCommand', 'ChangeMessageVisibilityCommand']);
  });

  it('logs and does not throw when the queue cannot be found, and asks again for the next message', async () => {
    const { queue, sent, warnings } = harness();
    const name = 'callvault-late-queue';
    const lateUrl = em.queues.media.replace(/[^/]+$/, name);
    const message = { messageId: 'm1', receiptHandle: 'r1', queueArn: queueArnOf(lateUrl, em.region) };
    await expect(queue.delay(message, 0)).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ messageId: 'm1' });

    const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const m = await putAndReceive(created.QueueUrl!, 'found');
    await queue.delay(ref(m, created.QueueUrl!), 0);
    expect(sent.filter((c) => c === 'GetQueueUrlCommand')).toHaveLength(2);
    expect((await receiveOne(created.QueueUrl!, 0))?.Body).toBe('found');
  });
});
