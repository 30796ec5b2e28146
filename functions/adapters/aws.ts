/**
 * AWS SDK clients, built once per cold start. Endpoints come from the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables (the local stack and tests point them at the emulators).
 * Each client has its own short timeouts and retry budget: a slow dependency must not hold a handler.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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

function common(budget: ClientBudget) {
  const agentOptions = { keepAlive: true, maxSockets: 64 };
  return {
    maxAttempts: budget.maxAttempts,
    // Emulators speak path-style only; real S3 is fine with it too when an endpoint is forced.
    forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3),
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

export const dynamoDocument = (budget: ClientBudget = PATIENT) =>
  DynamoDBDocumentClient.from(new DynamoDBClient(common(budget)), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
export const s3Client = (budget: ClientBudget = PATIENT) => new S3Client(common(budget));
export const sqsClient = (budget: ClientBudget = PATIENT) => new SQSClient(common(budget));
export const secretsClient = (budget: ClientBudget = PATIENT) => new SecretsManagerClient(common(budget));

/** Read a required environment variable at cold start; fail fast with a message that says what to set. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set: the CDK stack (or bin/local.ts) must set it for this function.`);
  return value;
}
