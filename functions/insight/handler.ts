/**
 * Insight Lambda: SQS batches of insight jobs (Hipcall call_init) → Insight Cards.
 * Wiring only: configuration and clients at cold start, then one call into process.ts per record,
 * records in parallel, failures reported per record (SQS partial batch response).
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseConfig } from '#lib/config.ts';
import { ENV } from '#lib/resources.ts';
import { FAST, dynamoDocument, requireEnv } from '#adapters/aws.ts';
import { ContactsTable } from '#adapters/contacts-table.ts';
import { CrmLookup } from '#adapters/crm-lookup.ts';
import { HipcallCards, hipcallApiBaseUrls } from '#adapters/hipcall-cards.ts';
import { InsightClaims } from '#adapters/insight-claims.ts';
import { JsonHttp } from '#adapters/json-http.ts';
import { HipcallApiSecrets } from '#adapters/secrets.ts';
import { powertoolsLog } from '#adapters/log.ts';
import { redactNumbers } from '#core/insight.ts';
import { parseInsightJob, processInsightJob, type InsightDeps } from './process.ts';

const logger = new Logger({ serviceName: 'callvault-insight' });
/** Time kept before the function's timeout to record the outcome. */
const OUTCOME_MARGIN_MS = 2500;

const config = parseConfig(JSON.parse(requireEnv(ENV.config)), ENV.config);
const doc = dynamoDocument(FAST);
// Recording the outcome is off the card's critical path but must not be lost: a little more patience.
const settleDoc = dynamoDocument({ connectionTimeoutMs: 1000, requestTimeoutMs: 2000, maxAttempts: 3 });
const http = new JsonHttp();
const secrets = HipcallApiSecrets.fromEnv();

const deps: InsightDeps = {
  config,
  contacts: new ContactsTable(doc, requireEnv(ENV.contactsTable)),
  crm: new CrmLookup(http, async (sourceId, signal) => (await secrets.get(sourceId, signal)).crmAuthorization),
  claims: new InsightClaims(doc, requireEnv(ENV.callsTable), settleDoc),
  cards: new HipcallCards(http),
  token: (sourceId, signal) => secrets.token(sourceId, signal),
  apiBaseUrls: hipcallApiBaseUrls(config),
  log: powertoolsLog(logger),
};

/** One record; a failure is logged (without the body) and left to SQS to redeliver, then to the DLQ. */
async function processRecord(record: SQSRecord, context: Context, signal: AbortSignal) {
  try {
    return await processInsightJob(parseInsightJob(record.body), deps, { abortSignal: signal, deadlineMs: Date.now() + context.getRemainingTimeInMillis() - OUTCOME_MARGIN_MS });
  } catch (err) {
    const e = err as Error;
    logger.error('insight job failed; SQS will deliver it again', { messageId: record.messageId, error: e.name, reason: redactNumbers(e.message ?? '') });
    throw err;
  }
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .handler((event, context, { signal }) =>
    // A processor per invocation: it holds the batch's state, and the local stack may run batches concurrently.
    processPartialResponse(event, (record: SQSRecord) => processRecord(record, context, signal), new BatchProcessor(EventType.SQS), { context }),
  );
