/**
 * AWS SDK clients, built once per cold start by the composition roots. In Lambda the SDK finds AWS
 * itself; the local stack and the tests pass an AwsTarget that points each service at an emulator.
 * Each client has its own short timeouts and retry budget: a slow dependency must not hold a handler.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/** Timeouts and retries of one client. */
export interface ClientBudget {
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  maxAttempts: number;
}

/** For the ingest path: everything must fit inside the 3 s answer budget, fallback included. */
export const FAST: ClientBudget = { connectionTimeoutMs: 300, requestTimeoutMs: 700, maxAttempts: 2 };
/** For workers that have minutes: ordinary SDK behaviour, but never hang forever. */
export const PATIENT: ClientBudget = { connectionTimeoutMs: 2000, requestTimeoutMs: 30_000, maxAttempts: 4 };

/** The AWS services the functions call. */
export type AwsService = 'dynamodb' | 's3' | 'sqs' | 'secretsmanager' | 'cloudwatch';

/** Any SDK v3 client (what `AwsTarget.instrument` receives). */
export type SdkClient = DynamoDBClient | S3Client | SQSClient | SecretsManagerClient | CloudWatchClient;

/**
 * Where the clients connect. In Lambda nothing is set and the SDK finds AWS itself; the local stack and
 * the tests point each service at an emulator, and may instrument every client (tests record each call).
 */
export interface AwsTarget {
  endpoints?: Partial<Record<AwsService, string>>;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Called once with every client built, e.g. to add a middleware. */
  instrument?: (client: SdkClient, service: AwsService) => void;
}

function common(budget: ClientBudget, service: AwsService, target: AwsTarget) {
  const agentOptions = { keepAlive: true, maxSockets: 64 };
  const endpoint = target.endpoints?.[service];
  return {
    maxAttempts: budget.maxAttempts,
    ...(endpoint ? { endpoint } : {}),
    ...(target.region ? { region: target.region } : {}),
    ...(target.credentials ? { credentials: target.credentials } : {}),
    // An endpoint means an emulator, and emulators speak path-style only.
    ...(service === 's3' && endpoint ? { forcePathStyle: true } : {}),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: budget.connectionTimeoutMs,
      requestTimeout: budget.requestTimeoutMs,
      // Without this the SDK only warns when the timeout passes and keeps waiting.
      throwOnRequestTimeout: true,
      httpAgent: new Agent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    }),
  };
}

function built<C extends SdkClient>(client: C, service: AwsService, target: AwsTarget): C {
  target.instrument?.(client, service);
  return client;
}

export const dynamoDocument = (budget: ClientBudget = PATIENT, target: AwsTarget = {}) =>
  DynamoDBDocumentClient.from(built(new DynamoDBClient(common(budget, 'dynamodb', target)), 'dynamodb', target), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
export const s3Client = (budget: ClientBudget = PATIENT, target: AwsTarget = {}) =>
  built(new S3Client(common(budget, 's3', target)), 's3', target);
export const sqsClient = (budget: ClientBudget = PATIENT, target: AwsTarget = {}) =>
  built(new SQSClient(common(budget, 'sqs', target)), 'sqs', target);
export const secretsClient = (budget: ClientBudget = PATIENT, target: AwsTarget = {}) =>
  built(new SecretsManagerClient(common(budget, 'secretsmanager', target)), 'secretsmanager', target);
export const cloudwatchClient = (budget: ClientBudget = PATIENT, target: AwsTarget = {}) =>
  built(new CloudWatchClient(common(budget, 'cloudwatch', target)), 'cloudwatch', target);
