import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, NumberValue, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamoDocument, PATIENT, s3Client, sqsClient } from '#adapters/aws.ts';
import { composeInstruments } from '#bin/aws-fidelity/aws-contract.ts';
import { itemBytes, limitsInstrument, MAX_ITEM_BYTES, MAX_SQS_MESSAGE_BYTES, numberProblem } from '#bin/aws-fidelity/aws-limits.ts';
import { offlineAws } from '#test/support/offline-aws.ts';
import { match } from '#test/support/match.ts';

/** Real clients with the limits layer, ended before the network; `sent` lists what would have gone out. */
function strict() {
  const aws = offlineAws();
  const target = { ...aws.base, instrument: composeInstruments(limitsInstrument(), aws.terminal) };
  return { doc: dynamoDocument(PATIENT, target), s3: s3Client(PATIENT, target), sqs: sqsClient(PATIENT, target), sent: aws.sent };
}

const validation = (message: RegExp) => ({ name: 'ValidationException', message: match.stringMatching(message) });

describe('DynamoDB item size', () => {
  // callKey (7) + "k" (1) + blob (4) = 12 bytes besides the blob's value.
  const itemOf = (blobBytes: number) => ({ callKey: 'k', blob: 'x'.repeat(blobBytes) });

  it('accepts an item of exactly 400 KB and refuses one byte more, before sending it', async () => {
    const { doc, sent } = strict();
    await doc.send(new PutCommand({ TableName: 'calls', Item: itemOf(MAX_ITEM_BYTES - 12) }));
    await expect(doc.send(new PutCommand({ TableName: 'calls', Item: itemOf(MAX_ITEM_BYTES - 11) }))).rejects.toMatchObject(
      validation(/^Item size has exceeded the maximum allowed size/),
    );
    expect(sent).toEqual(['dynamodb:PutItem']);
  });

  it('sizes nested values as AWS documents: 3 bytes per map or list, 1 per element, names included', () => {
    // m(1) + map 3 + [element 1 + name "ab"(2) + "xyz"(3)] ; l(1) + list 3 + [1 + number 12345 → 3 digits pairs + 1 = 4] ; t(1) + bool 1
    expect(itemBytes({ m: { M: { ab: { S: 'xyz' } } }, l: { L: [{ N: '12345' }] }, t: { BOOL: true } })).toBe(
      1 + 3 + 1 + 2 + 3 + (1 + 3 + 1 + 4) + (1 + 1),
    );
  });

  it('counts strings in UTF-8 bytes, not characters', () => {
    expect(itemBytes({ s: { S: 'é😀' } })).toBe(1 + 2 + 4);
  });

  it('refuses an update whose key and stored values alone exceed 400 KB, but not one whose big value is only in the condition', async () => {
    const { doc } = strict();
    const big = 'x'.repeat(MAX_ITEM_BYTES);
    const key = { callKey: 'k' };
    await expect(
      doc.send(
        new UpdateCommand({
          TableName: 'calls',
          Key: key,
          UpdateExpression: 'SET #b = :b',
          ExpressionAttributeNames: { '#b': 'blob' },
          ExpressionAttributeValues: { ':b': big },
        }),
      ),
    ).rejects.toMatchObject(validation(/maximum allowed size/));
    await doc.send(
      new UpdateCommand({
        TableName: 'calls',
        Key: key,
        UpdateExpression: 'SET a = :a',
        ConditionExpression: 'b <> :b',
        ExpressionAttributeValues: { ':a': 1, ':b': big },
      }),
    );
  });
});

describe('DynamoDB numbers', () => {
  const put = (n: string) => strict().doc.send(new PutCommand({ TableName: 'calls', Item: { callKey: 'k', n: NumberValue.from(n) } }));

  it('accepts 38 significant digits and refuses 39', async () => {
    await put('12345678901234567890123456789012345678');
    await put('1234567890123456789012345678901234567800000'); // trailing zeros are not significant
    await expect(put('123456789012345678901234567890123456789')).rejects.toMatchObject(validation(/more than 38 significant digits/));
  });

  it('accepts the largest and smallest magnitudes AWS stores and refuses one step beyond', async () => {
    await put('9.9999999999999999999999999999999999999E+125');
    await put('-9.9999999999999999999999999999999999999E+125');
    await put('1E-130');
    await put('0');
    await expect(put('1E+126')).rejects.toMatchObject(validation(/^Number overflow/));
    await expect(put('-1E+126')).rejects.toMatchObject(validation(/^Number overflow/));
    await expect(put('9.9E-131')).rejects.toMatchObject(validation(/^Number underflow/));
  });

  it('checks numbers inside maps, lists and update values too', async () => {
    const { doc } = strict();
    await expect(
      doc.send(new PutCommand({ TableName: 'calls', Item: { callKey: 'k', m: { l: [NumberValue.from('1E+200')] } } })),
    ).rejects.toMatchObject(validation(/overflow/));
    await expect(
      doc.send(
        new UpdateCommand({
          TableName: 'calls',
          Key: { callKey: 'k' },
          UpdateExpression: 'SET a = :a',
          ExpressionAttributeValues: { ':a': NumberValue.from('1E-200') },
        }),
      ),
    ).rejects.toMatchObject(validation(/underflow/));
  });

  it('judges number strings by significant digits and exponent', () => {
    expect(numberProblem('0.000000000000000000000000000000000000000000001')).toBeUndefined();
    expect(numberProblem('100000000000000000000000000000000000000000000000000000')).toBeUndefined();
    expect(numberProblem('abc')).toMatch(/cannot be converted/);
  });
});

describe('DynamoDB keys', () => {
  it('accepts a partition key of 2,048 bytes and refuses 2,049, counting UTF-8 bytes', async () => {
    const { doc } = strict();
    await doc.send(new GetCommand({ TableName: 'calls', Key: { callKey: 'é'.repeat(1024) } }));
    await expect(doc.send(new GetCommand({ TableName: 'calls', Key: { callKey: `${'é'.repeat(1024)}x` } }))).rejects.toMatchObject(
      validation(/Size of hashkey has exceeded/),
    );
  });

  it('holds index keys to the same limits: customerNumber 2,048 bytes, callAt (a sort key) 1,024', async () => {
    const { doc } = strict();
    const item = (customerNumber: string, callAt: string) =>
      new PutCommand({ TableName: 'calls', Item: { callKey: 'k', customerNumber, callAt } });
    await doc.send(item('x'.repeat(2048), 'y'.repeat(1024)));
    await expect(doc.send(item('x'.repeat(2049), 'y'))).rejects.toMatchObject(validation(/Size of hashkey.*IndexName: byCustomerNumber/));
    await expect(doc.send(item('x', 'y'.repeat(1025)))).rejects.toMatchObject(
      validation(/range keys has exceeded the size limit of 1024 bytes/),
    );
  });

  it('refuses an empty string in a table or index key, and accepts one elsewhere', async () => {
    const { doc } = strict();
    await doc.send(new PutCommand({ TableName: 'calls', Item: { callKey: 'k', note: '' } }));
    await expect(doc.send(new GetCommand({ TableName: 'calls', Key: { callKey: '' } }))).rejects.toMatchObject(
      validation(/empty string value\. Key: callKey/),
    );
    await expect(doc.send(new PutCommand({ TableName: 'calls', Item: { callKey: 'k', day: '' } }))).rejects.toMatchObject(
      validation(/IndexName: byDay, IndexKey: day/),
    );
    await expect(
      doc.send(
        new UpdateCommand({
          TableName: 'calls',
          Key: { callKey: 'k' },
          UpdateExpression: 'SET #d = if_not_exists(#d, :d), a = :a',
          ExpressionAttributeNames: { '#d': 'day' },
          ExpressionAttributeValues: { ':d': '', ':a': 1 },
        }),
      ),
    ).rejects.toMatchObject(validation(/IndexKey: day/));
  });

  it('refuses an index key of the wrong type', async () => {
    const { doc } = strict();
    await expect(doc.send(new PutCommand({ TableName: 'calls', Item: { callKey: 'k', callAt: 1775124000 } }))).rejects.toMatchObject(
      validation(/Type mismatch for Index Key callAt/),
    );
  });
});

describe('DynamoDB strings', () => {
  it('refuses a lone surrogate anywhere in an item or key, and accepts a proper pair', async () => {
    const { doc } = strict();
    await doc.send(new PutCommand({ TableName: 'calls', Item: { callKey: 'k', caller: { name: 'A 😀' } } }));
    await expect(
      doc.send(new PutCommand({ TableName: 'calls', Item: { callKey: 'k', caller: { name: 'A \ud83d' } } })),
    ).rejects.toMatchObject(validation(/not well-formed UTF-16/));
    await expect(
      doc.send(new PutCommand({ TableName: 'calls', Item: { callKey: 'k', caller: { ['\udc00']: 'x' } } })),
    ).rejects.toMatchObject(validation(/not well-formed/));
    await expect(doc.send(new GetCommand({ TableName: 'calls', Key: { callKey: 'hipcall#\udfff' } }))).rejects.toMatchObject(
      validation(/not well-formed/),
    );
  });
});

describe('S3 object keys', () => {
  it('accepts a key of 1,024 UTF-8 bytes and refuses 1,025 with KeyTooLongError, before sending it', async () => {
    const { s3, sent } = strict();
    await s3.send(new PutObjectCommand({ Bucket: 'b', Key: `raw/${'é'.repeat(510)}`, Body: 'x' }));
    await expect(s3.send(new PutObjectCommand({ Bucket: 'b', Key: `raw/${'é'.repeat(510)}x`, Body: 'x' }))).rejects.toMatchObject({
      name: 'KeyTooLongError',
      message: match.stringMatching(/^Your key is too long/),
    });
    expect(sent).toEqual(['s3:PutObject']);
  });
});

describe('SQS message size', () => {
  const QueueUrl = 'http://127.0.0.1:9/000000000000/media';

  it('accepts a message of exactly 1 MiB, body plus attributes, and refuses one byte more', async () => {
    const { sqs, sent } = strict();
    // Attribute: name "a" (1) + type "String" (6) + value "v" (1) = 8 bytes.
    const attrs = { a: { DataType: 'String', StringValue: 'v' } };
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x'.repeat(MAX_SQS_MESSAGE_BYTES - 8), MessageAttributes: attrs }));
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x'.repeat(MAX_SQS_MESSAGE_BYTES - 7), MessageAttributes: attrs })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: match.stringMatching(/Message must be shorter than 1048576 bytes/),
    });
    expect(sent).toEqual(['sqs:SendMessage']);
  });

  it('refuses a batch whose messages together exceed 1 MiB, though each fits', async () => {
    const { sqs } = strict();
    const half = MAX_SQS_MESSAGE_BYTES / 2;
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: '1', MessageBody: 'x'.repeat(half) },
          { Id: '2', MessageBody: 'y'.repeat(half) },
        ],
      }),
    );
    await expect(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: [
            { Id: '1', MessageBody: 'x'.repeat(half) },
            { Id: '2', MessageBody: 'y'.repeat(half + 1) },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'BatchRequestTooLong' });
  });

  it('refuses a body that is not well-formed UTF-16', async () => {
    const { sqs } = strict();
    await expect(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"name":"\ud800"}' }))).rejects.toMatchObject({
      name: 'InvalidMessageContents',
    });
  });
});
