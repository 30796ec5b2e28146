/**
 * Ingest Lambda: API Gateway webhooks, and the replay queue's redeliveries of the same webhooks.
 * Wiring only: configuration and clients at cold start, then one call into process.ts.
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseConfig } from '#lib/config.ts';
import { ENV } from '#lib/resources.ts';
import { DeliveryArchive } from '#adapters/archive.ts';
import { FAST, dynamoDocument, requireEnv, s3Client, secretsClient, sqsClient } from '#adapters/aws.ts';
import { CallsTable } from '#adapters/calls-table.ts';
import { JobQueues } from '#adapters/job-queues.ts';
import { powertoolsLog } from '#adapters/log.ts';
import { SecretsManagerTokens, StaticTokens } from '#adapters/webhook-tokens.ts';
import { handleReplay, handleWebhook, type IngestDeps } from './process.ts';

const logger = new Logger({ serviceName: 'callvault-ingest' });

const config = parseConfig(JSON.parse(process.env[ENV.config] ?? '{}'), ENV.config);
const localToken = process.env[ENV.localToken];
const delayOverride = process.env[ENV.mediaDelayOverride];

const deps: IngestDeps = {
  config,
  tokens: localToken
    ? new StaticTokens(localToken)
    : new SecretsManagerTokens(secretsClient(FAST), JSON.parse(requireEnv(ENV.webhookSecrets)) as Record<string, string>),
  calls: new CallsTable(dynamoDocument(FAST), requireEnv(ENV.callsTable)),
  archive: new DeliveryArchive(s3Client(FAST), requireEnv(ENV.bucket)),
  queues: new JobQueues(sqsClient(FAST), {
    media: requireEnv(ENV.mediaQueueUrl),
    insight: requireEnv(ENV.insightQueueUrl),
    replay: requireEnv(ENV.replayQueueUrl),
  }),
  log: powertoolsLog(logger),
  mediaDelayOverride: delayOverride === undefined || delayOverride === '' ? undefined : Number(delayOverride),
};

type IngestEvent = APIGatewayProxyEventV2 | SQSEvent;
type IngestResult = APIGatewayProxyStructuredResultV2 | SQSBatchResponse;

const isSqs = (event: IngestEvent): event is SQSEvent => Array.isArray((event as SQSEvent).Records);

export const handler = middy<IngestEvent, IngestResult>()
  .use(injectLambdaContext(logger))
  .handler((event) => (isSqs(event) ? handleReplay(event, deps) : handleWebhook(event, deps)));
