/**
 * AWS's own limits, enforced in the functions' SDK clients before a request leaves: dynalite, s3rver
 * and local-aws-sqs accept items, keys and messages that AWS refuses, so without this layer a test (or
 * `npm start`) passes on something a deploy would fail on. Each refusal is thrown as the service's exception class with
 * AWS's error `name` (code that branches on `err.name` sees what it would see in AWS).
 *
 * The checks run at the `build` step: after lib-dynamodb has marshalled the input into AttributeValues
 * and before retries, signing and the network.
 */
import { DynamoDBServiceException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { BatchRequestTooLong, InvalidMessageContents, SQSServiceException, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { AwsService, SdkClient } from '#adapters/aws.ts';
import { TABLES, type KeyAttribute, type TableDefinition } from '#contract/resources.ts';

/** DynamoDB's item size limit: 400 KB. */
export const MAX_ITEM_BYTES = 400 * 1024;
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;
export const MAX_NUMBER_DIGITS = 38;
/** S3 object keys: 1,024 bytes of UTF-8. */
export const MAX_S3_KEY_BYTES = 1024;
/** SQS: body plus attributes per message, and the sum over a batch (since August 2025; was 256 KiB). */
export const MAX_SQS_MESSAGE_BYTES = 1_048_576;

const SOURCE =
  'refused by the AWS limits layer (bin/aws-fidelity/aws-limits.ts): AWS refuses this even though the local emulator accepts it';
const metadata = { httpStatusCode: 400, attempts: 0, totalRetryDelay: 0 };

function dynamoError(message: string): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: 'ValidationException',
    $fault: 'client',
    $metadata: metadata,
    message: `${message} (${SOURCE})`,
  });
}

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** A DynamoDB number as AWS sees it: its significant digits and the decimal exponent of the first one. */
export function parseDynamoNumber(n: string): { digits: number; exponent: number } | 'invalid' {
  const m = /^\s*[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?\s*$/.exec(n);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return 'invalid';
  const frac = m[2] ?? '';
  let mantissa = (m[1] ?? '') + frac;
  let exponent = Number(m[3] ?? 0) - frac.length;
  mantissa = mantissa.replace(/^0+/, '');
  if (mantissa === '') return { digits: 0, exponent: 0 };
  const trimmed = mantissa.replace(/0+$/, '');
  exponent += mantissa.length - trimmed.length;
  return { digits: trimmed.length, exponent: exponent + trimmed.length - 1 };
}

/** Why AWS would refuse this number, or undefined when it fits (range 1E-130 .. 9.99…E+125, 38 digits). */
export function numberProblem(n: string): string | undefined {
  const parsed = parseDynamoNumber(n);
  if (parsed === 'invalid') return `The parameter cannot be converted to a numeric value: ${n.slice(0, 50)}`;
  if (parsed.digits === 0) return undefined;
  if (parsed.digits > MAX_NUMBER_DIGITS) return 'Attempting to store more than 38 significant digits in a Number';
  if (parsed.exponent > 125) return 'Number overflow. Attempting to store a number with magnitude larger than supported range';
  if (parsed.exponent < -130) return 'Number underflow. Attempting to store a number with magnitude smaller than supported range';
  return undefined;
}

/** Bytes of a number as AWS documents it: 1 byte per two significant digits, plus 1. */
function numberBytes(n: string): number {
  const parsed = parseDynamoNumber(n);
  return parsed === 'invalid' ? utf8(n) : Math.ceil(parsed.digits / 2) + 1;
}

const binaryBytes = (b: Uint8Array | string): number => (typeof b === 'string' ? Buffer.from(b, 'base64').length : b.byteLength);

/**
 * Size of one value as AWS documents it (CapacityUnitCalculations): strings and binaries by their
 * bytes, numbers by significant digits, null/boolean 1 byte, lists and maps 3 bytes plus 1 byte per
 * element plus the elements (map elements with their names).
 */
export function valueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberBytes(v.N);
  if (v.B !== undefined) return binaryBytes(v.B);
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (v.NS !== undefined) return v.NS.reduce((sum, n) => sum + numberBytes(n), 0);
  if (v.BS !== undefined) return v.BS.reduce((sum, b) => sum + binaryBytes(b), 0);
  if (v.L !== undefined) return 3 + v.L.reduce((sum, e) => sum + 1 + valueBytes(e), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((sum, [name, e]) => sum + 1 + utf8(name) + valueBytes(e), 0);
  return 0;
}

/** Size of an item: attribute names plus values. */
export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, v]) => sum + utf8(name) + valueBytes(v), 0);
}

/** Every string inside an AttributeValue (values and map keys), for the well-formedness check. */
function* stringsOf(v: AttributeValue): Generator<string> {
  if (v.S !== undefined) yield v.S;
  if (v.SS) yield* v.SS;
  if (v.L) for (const e of v.L) yield* stringsOf(e);
  if (v.M) {
    for (const [k, e] of Object.entries(v.M)) {
      yield k;
      yield* stringsOf(e);
    }
  }
}
function* numbersOf(v: AttributeValue): Generator<string> {
  if (v.N !== undefined) yield v.N;
  if (v.NS) yield* v.NS;
  if (v.L) for (const e of v.L) yield* numbersOf(e);
  if (v.M) for (const e of Object.values(v.M)) yield* numbersOf(e);
}

/** Values, numbers and strings of an attribute map: what every DynamoDB request is checked for. */
function checkAttributes(attrs: Record<string, AttributeValue> | undefined, where: string): void {
  if (!attrs) return;
  for (const [name, v] of Object.entries(attrs)) {
    if (!name.isWellFormed())
      throw dynamoError(
        `One or more parameter values were invalid: an attribute name in ${where} is not a well-formed UTF-16 string (lone surrogate)`,
      );
    for (const s of stringsOf(v)) {
      if (!s.isWellFormed())
        throw dynamoError(
          `One or more parameter values were invalid: ${where}.${name} holds a string that is not well-formed UTF-16 (lone surrogate); AWS cannot encode it as UTF-8`,
        );
    }
    for (const n of numbersOf(v)) {
      const problem = numberProblem(n);
      if (problem) throw dynamoError(`${problem} (${where}.${name})`);
    }
  }
}

const tableOf = (tableName: string | undefined): TableDefinition | undefined => {
  const name = tableName?.replace(/^arn:[^:]*:dynamodb:[^:]*:[^:]*:table\//, '');
  return TABLES.find((t) => t.name === name);
};

/** Check one key attribute value against AWS's key rules; `index` names a GSI when it is an index key. */
function checkKeyValue(attr: KeyAttribute, role: 'hash' | 'range', v: AttributeValue | undefined, index?: string): void {
  if (v === undefined) return;
  const actual = v.S !== undefined ? 'S' : v.N !== undefined ? 'N' : v.B !== undefined ? 'B' : 'other';
  if (actual !== attr.type) {
    throw dynamoError(
      index
        ? `One or more parameter values were invalid: Type mismatch for Index Key ${attr.name} Expected: ${attr.type} Actual: ${actual} IndexName: ${index}`
        : `One or more parameter values were invalid: Type mismatch for key ${attr.name} expected: ${attr.type} actual: ${actual}`,
    );
  }
  if (v.S === '') {
    throw dynamoError(
      index
        ? `One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: ${index}, IndexKey: ${attr.name}`
        : `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: ${attr.name}`,
    );
  }
  const bytes = valueBytes(v);
  if (role === 'hash' && bytes > MAX_PARTITION_KEY_BYTES) {
    throw dynamoError(
      `One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of ${MAX_PARTITION_KEY_BYTES} bytes (${attr.name}: ${bytes} bytes${index ? `, IndexName: ${index}` : ''})`,
    );
  }
  if (role === 'range' && bytes > MAX_SORT_KEY_BYTES) {
    throw dynamoError(
      `One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of ${MAX_SORT_KEY_BYTES} bytes (${attr.name}: ${bytes} bytes${index ? `, IndexName: ${index}` : ''})`,
    );
  }
}

/** The table's own key in a Key or Item. */
function checkPrimaryKey(table: TableDefinition | undefined, attrs: Record<string, AttributeValue> | undefined): void {
  if (!table || !attrs) return;
  checkKeyValue(table.partitionKey, 'hash', attrs[table.partitionKey.name]);
  if (table.sortKey) checkKeyValue(table.sortKey, 'range', attrs[table.sortKey.name]);
}

/** GSI key attributes, checked wherever a value for them is written. */
function checkIndexKeys(table: TableDefinition | undefined, attrs: Record<string, AttributeValue | undefined>): void {
  for (const index of table?.indexes ?? []) {
    checkKeyValue(index.partitionKey, 'hash', attrs[index.partitionKey.name], index.indexName);
    if (index.sortKey) checkKeyValue(index.sortKey, 'range', attrs[index.sortKey.name], index.indexName);
  }
}

function checkItem(tableName: string | undefined, item: Record<string, AttributeValue> | undefined): void {
  if (!item) return;
  checkAttributes(item, 'Item');
  const table = tableOf(tableName);
  checkPrimaryKey(table, item);
  checkIndexKeys(table, item);
  const bytes = itemBytes(item);
  if (bytes > MAX_ITEM_BYTES)
    throw dynamoError(`Item size has exceeded the maximum allowed size (${bytes} bytes, limit ${MAX_ITEM_BYTES})`);
}

function checkKey(tableName: string | undefined, key: Record<string, AttributeValue> | undefined): void {
  checkAttributes(key, 'Key');
  checkPrimaryKey(tableOf(tableName), key);
}

/** `SET a = :x, b = if_not_exists(b, :y) REMOVE c ADD d :z` → its clauses by keyword. */
function updateClauses(expression: string): Map<string, string> {
  const clauses = new Map<string, string>();
  const re = /\b(SET|REMOVE|ADD|DELETE)\b/gi;
  const marks = [...expression.matchAll(re)];
  marks.forEach((m, i) => {
    const start = m.index + m[0].length;
    const end = marks[i + 1]?.index ?? expression.length;
    const keyword = m[0].toUpperCase();
    clauses.set(keyword, `${clauses.get(keyword) ?? ''}${clauses.has(keyword) ? ',' : ''}${expression.slice(start, end)}`);
  });
  return clauses;
}

/** Split on commas outside parentheses. */
function topLevelParts(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (current.trim()) parts.push(current);
  return parts;
}

interface UpdateInput {
  TableName?: string;
  Key?: Record<string, AttributeValue>;
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
}

/**
 * UpdateItem: AWS checks the item the update produces, which a client cannot know. What it can know
 * is a lower bound: the key plus every value the SET/ADD clauses store. When that alone is over
 * 400 KB, AWS certainly refuses. Index key attributes assigned directly (`day = :d`,
 * `day = if_not_exists(day, :d)`) are checked like in a PutItem.
 */
function checkUpdate(input: UpdateInput): void {
  checkKey(input.TableName, input.Key);
  checkAttributes(input.ExpressionAttributeValues, 'ExpressionAttributeValues');
  const values = input.ExpressionAttributeValues ?? {};
  const names = input.ExpressionAttributeNames ?? {};
  const clauses = updateClauses(input.UpdateExpression ?? '');
  const stored = new Set<string>();
  for (const keyword of ['SET', 'ADD']) for (const m of (clauses.get(keyword) ?? '').matchAll(/:[A-Za-z0-9_]+/g)) stored.add(m[0]);
  const lowerBound = itemBytes(input.Key ?? {}) + [...stored].reduce((sum, p) => sum + (values[p] ? valueBytes(values[p]) : 0), 0);
  if (lowerBound > MAX_ITEM_BYTES) {
    throw dynamoError(
      `Item size to update has exceeded the maximum allowed size (at least ${lowerBound} bytes from the key and the update's values alone, limit ${MAX_ITEM_BYTES})`,
    );
  }
  const assigned: Record<string, AttributeValue | undefined> = {};
  for (const part of topLevelParts(clauses.get('SET') ?? '')) {
    const m = /^\s*(#?[A-Za-z0-9_]+)\s*=\s*(?:(:[A-Za-z0-9_]+)|if_not_exists\s*\(\s*[^,]+,\s*(:[A-Za-z0-9_]+)\s*\))\s*$/i.exec(part);
    if (!m) continue;
    const name = m[1]!.startsWith('#') ? names[m[1]!] : m[1]!;
    if (name) assigned[name] = values[(m[2] ?? m[3])!];
  }
  checkIndexKeys(tableOf(input.TableName), assigned);
}

type Json = Record<string, unknown>;

function checkDynamo(command: string, input: Json): void {
  const tableName = input.TableName as string | undefined;
  checkAttributes(input.ExpressionAttributeValues as Record<string, AttributeValue> | undefined, 'ExpressionAttributeValues');
  for (const [placeholder, name] of Object.entries((input.ExpressionAttributeNames as Record<string, string> | undefined) ?? {})) {
    if (!name.isWellFormed())
      throw dynamoError(`One or more parameter values were invalid: ExpressionAttributeNames ${placeholder} is not well-formed UTF-16`);
  }
  switch (command) {
    case 'PutItemCommand':
      return checkItem(tableName, input.Item as Record<string, AttributeValue>);
    case 'UpdateItemCommand':
      return checkUpdate(input);
    case 'GetItemCommand':
    case 'DeleteItemCommand':
      return checkKey(tableName, input.Key as Record<string, AttributeValue>);
    case 'QueryCommand':
    case 'ScanCommand':
      return checkAttributes(input.ExclusiveStartKey as Record<string, AttributeValue> | undefined, 'ExclusiveStartKey');
    case 'BatchWriteItemCommand':
      for (const [table, requests] of Object.entries((input.RequestItems as Record<string, Json[]>) ?? {})) {
        for (const r of requests) {
          checkItem(table, (r.PutRequest as Json | undefined)?.Item as Record<string, AttributeValue> | undefined);
          checkKey(table, (r.DeleteRequest as Json | undefined)?.Key as Record<string, AttributeValue> | undefined);
        }
      }
      return;
    case 'BatchGetItemCommand':
      for (const [table, request] of Object.entries(
        (input.RequestItems as Record<string, { Keys?: Record<string, AttributeValue>[] }>) ?? {},
      )) {
        for (const key of request.Keys ?? []) checkKey(table, key);
      }
      return;
    case 'TransactWriteItemsCommand':
      for (const t of (input.TransactItems as Json[]) ?? []) {
        const put = t.Put as Json | undefined;
        if (put) checkItem(put.TableName as string, put.Item as Record<string, AttributeValue>);
        const update = t.Update as UpdateInput | undefined;
        if (update) checkUpdate(update);
        for (const k of ['Delete', 'ConditionCheck']) {
          const op = t[k] as Json | undefined;
          if (op) checkKey(op.TableName as string, op.Key as Record<string, AttributeValue>);
        }
      }
      return;
  }
}

function checkS3(input: Json): void {
  for (const field of ['Key', 'CopySource'] as const) {
    const key = input[field];
    if (typeof key !== 'string') continue;
    // CopySource is `bucket/key`: only the key part counts.
    const bytes = utf8(field === 'Key' ? key : key.replace(/^\/?[^/]+\//, ''));
    if (bytes > MAX_S3_KEY_BYTES) {
      throw new S3ServiceException({
        name: 'KeyTooLongError',
        $fault: 'client',
        $metadata: metadata,
        message: `Your key is too long (${bytes} bytes of UTF-8, limit ${MAX_S3_KEY_BYTES}) (${SOURCE})`,
      });
    }
  }
}

/** Bytes SQS counts for a message: the body plus each attribute's name, data type and value. */
export function sqsMessageBytes(body: string, attributes: Record<string, MessageAttributeValue> | undefined): number {
  let bytes = utf8(body);
  for (const [name, a] of Object.entries(attributes ?? {})) {
    bytes += utf8(name) + utf8(a.DataType ?? '');
    if (a.StringValue !== undefined) bytes += utf8(a.StringValue);
    if (a.BinaryValue !== undefined) bytes += a.BinaryValue.byteLength;
  }
  return bytes;
}

function checkMessageContents(body: string): void {
  if (!body.isWellFormed()) {
    throw new InvalidMessageContents({
      $metadata: metadata,
      message: `Invalid characters found. The message body is not well-formed UTF-16 (lone surrogate) (${SOURCE})`,
    });
  }
}

function checkSqs(command: string, input: Json): void {
  if (command === 'SendMessageCommand') {
    const body = (input.MessageBody as string | undefined) ?? '';
    checkMessageContents(body);
    const bytes = sqsMessageBytes(body, input.MessageAttributes as Record<string, MessageAttributeValue>);
    if (bytes > MAX_SQS_MESSAGE_BYTES) {
      throw new SQSServiceException({
        name: 'InvalidParameterValue',
        $fault: 'client',
        $metadata: metadata,
        message: `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_SQS_MESSAGE_BYTES} bytes (this one is ${bytes}) (${SOURCE})`,
      });
    }
  }
  if (command === 'SendMessageBatchCommand') {
    let total = 0;
    for (const entry of (input.Entries as Json[]) ?? []) {
      const body = (entry.MessageBody as string | undefined) ?? '';
      checkMessageContents(body);
      total += sqsMessageBytes(body, entry.MessageAttributes as Record<string, MessageAttributeValue>);
    }
    // One entry over the limit makes the batch over it too: AWS answers BatchRequestTooLong either way.
    if (total > MAX_SQS_MESSAGE_BYTES) {
      throw new BatchRequestTooLong({
        $metadata: metadata,
        message: `Batch requests cannot be longer than ${MAX_SQS_MESSAGE_BYTES} bytes. You have sent ${total} bytes. (${SOURCE})`,
      });
    }
  }
}

/** Run the checks of `service` on one command's (marshalled) input; throws what AWS would answer. */
export function assertWithinAwsLimits(service: AwsService, commandName: string, input: Json): void {
  if (service === 'dynamodb') checkDynamo(commandName, input);
  if (service === 's3') checkS3(input);
  if (service === 'sqs') checkSqs(commandName, input);
}

/** An `AwsTarget.instrument` that refuses, before sending, what AWS refuses and the emulators accept. */
export function limitsInstrument(): (client: SdkClient, service: AwsService) => void {
  return (client, service) => {
    (client.middlewareStack as unknown as MiddlewareStackLike).add(
      (next, context) => async (args) => {
        assertWithinAwsLimits(service, String(context.commandName ?? ''), args.input as Json);
        return next(args);
      },
      { step: 'build', priority: 'high', name: 'callvaultAwsLimits', override: true },
    );
  };
}

/** The part of the smithy middleware stack this layer uses (the clients' own types differ per service). */
export interface MiddlewareStackLike {
  add(
    middleware: (
      next: (args: { input: unknown }) => Promise<unknown>,
      context: { commandName?: string },
    ) => (args: { input: unknown }) => Promise<unknown>,
    options: {
      step: 'initialize' | 'serialize' | 'build' | 'finalizeRequest' | 'deserialize';
      priority?: 'high' | 'normal' | 'low';
      name?: string;
      override?: boolean;
    },
  ): void;
}
