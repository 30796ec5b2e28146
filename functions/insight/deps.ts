/**
 * The insight worker's composition root: its environment, validated once at cold start, and the
 * dependencies built from it. The local stack passes its emulator endpoints and its stand-in Hipcall
 * API (base URL and token per source) in `local`.
 */
import * as z from 'zod/mini';
import { ENV } from '#contract/resources.ts';
import { FAST, dynamoDocument, secretsClient, type AwsTarget } from '#adapters/aws.ts';
import { ContactsTable } from '#adapters/contacts-table.ts';
import { HttpCrmDirectory } from '#adapters/crm-directory.ts';
import { jsonMap, logLevel, readEnv, required, type Env } from '#adapters/env.ts';
import { bundledConfig } from '#adapters/bundled-config.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { hipcallAccess, hipcallApiSecretNames, type LocalHipcallApi } from '#adapters/hipcall-access.ts';
import { HipcallCardSink } from '#adapters/hipcall-cards.ts';
import { DynamoInsightClaims } from '#adapters/insight-claims.ts';
import { JsonHttp } from '#adapters/json-http.ts';
import { powertoolsLog } from '#adapters/log.ts';
import { EmfMetrics, type MetricsOut } from '#adapters/metrics.ts';
import type { InsightWiring } from './handler.ts';
import type { InsightDeps } from './process.ts';

const schema = z.object({
  [ENV.callsTable]: required,
  [ENV.contactsTable]: required,
  /** `{sourceId: secretArn}` of the Hipcall API secrets (token, CRM header). */
  [ENV.hipcallApiSecrets]: z.optional(jsonMap),
  /** `{stack}/`: each Hipcall source's API secret is named from it, unless HIPCALL_API_SECRETS names them. */
  [ENV.secretPrefix]: z.optional(required),
  POWERTOOLS_LOG_LEVEL: logLevel,
});

/** What the local stack (or a test) builds itself. */
export interface InsightLocal {
  /** The parsed config (the local stack, tests); deployed, the one compiled into the bundle. */
  config?: CallVaultConfig;
  target?: AwsTarget;
  /** The stand-in Hipcall API, instead of the sources' API and Secrets Manager. */
  hipcall?: LocalHipcallApi;
  /** Where the EMF metric lines go instead of stdout (the local stack: a file under its data dir). */
  metricsOut?: MetricsOut;
}

export function insightDeps(env: Env = process.env, local: InsightLocal = {}): InsightWiring {
  const e = readEnv(schema, env, 'insight');
  const config = local.config ?? bundledConfig();
  const doc = dynamoDocument(FAST, local.target);
  // Recording the outcome is off the card's critical path but must not be lost: a little more patience.
  const settleDoc = dynamoDocument({ connectionTimeoutMs: 1000, requestTimeoutMs: 2000, maxAttempts: 3 }, local.target);
  const http = new JsonHttp();
  const hipcall = hipcallAccess(
    config,
    {
      secretArns: hipcallApiSecretNames(config, e[ENV.hipcallApiSecrets], e[ENV.secretPrefix]),
      client: () => secretsClient(FAST, local.target),
    },
    local.hipcall,
  );
  const { logger, log } = powertoolsLog('callvault-insight', e.POWERTOOLS_LOG_LEVEL);
  const metrics = new EmfMetrics('callvault-insight', local.metricsOut);
  const deps: InsightDeps = {
    config,
    contacts: new ContactsTable(doc, e[ENV.contactsTable]),
    crm: new HttpCrmDirectory(http, async (sourceId, signal) => (await hipcall.secrets.get(sourceId, signal)).crmAuthorization),
    claims: new DynamoInsightClaims(doc, e[ENV.callsTable], settleDoc),
    cards: new HipcallCardSink(http),
    token: (sourceId, signal) => hipcall.secrets.token(sourceId, signal),
    apiBaseUrls: hipcall.baseUrls,
    log,
    metrics,
  };
  return { deps, logger, metrics };
}
