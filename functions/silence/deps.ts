/**
 * The silence check's composition root: its environment, validated once at cold start, and the
 * dependencies built from it (a CloudWatch reader of each source's delivery metrics, the log, the metrics).
 */
import * as z from 'zod/mini';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PATIENT, cloudwatchClient, type AwsTarget } from '#adapters/aws.ts';
import { CloudWatchDeliveryHistory } from '#adapters/delivery-history.ts';
import { logLevel, readEnv, type Env } from '#adapters/env.ts';
import { bundledConfig } from '#adapters/bundled-config.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { powertoolsLog } from '#adapters/log.ts';
import { EmfMetrics, type MetricsOut } from '#adapters/metrics.ts';
import type { DeliveryHistory } from '#core/ports/delivery-history.ts';
import type { SilenceWiring } from './handler.ts';

const schema = z.object({
  POWERTOOLS_LOG_LEVEL: logLevel,
});

/** What a test builds itself. */
export interface SilenceLocal {
  /** The parsed config (the local stack, tests); deployed, the one compiled into the bundle. */
  config?: CallVaultConfig;
  target?: AwsTarget;
  metricsOut?: MetricsOut;
  /** The local stack has no CloudWatch: it reads the deliveries from its metrics log instead. */
  history?: DeliveryHistory;
}

export function silenceDeps(env: Env = process.env, local: SilenceLocal = {}): SilenceWiring {
  const e = readEnv(schema, env, 'silence');
  const config = local.config ?? bundledConfig();
  const cloudwatch = cloudwatchClient(PATIENT, local.target);
  const { logger, log } = powertoolsLog('callvault-silence', e.POWERTOOLS_LOG_LEVEL);
  const metrics = new EmfMetrics('callvault-silence', local.metricsOut);
  const history = local.history ?? new CloudWatchDeliveryHistory((input) => cloudwatch.send(new GetMetricDataCommand(input)));
  return { deps: { config, history, metrics, log }, logger, metrics };
}
