/**
 * The unit prices the cost model assumes: AWS list prices for us-east-1 (N. Virginia) as published in
 * 2025, first pricing tier, no free tier and no savings plans. Printed with every estimate; check
 * https://aws.amazon.com/pricing/ before relying on them (other regions cost up to ~30% more).
 */
export const PRICES_AS_OF = '2025';
export const PRICES_REGION = 'us-east-1';

export interface UnitPrice {
  usd: number;
  unit: string;
}

export const PRICES = {
  apiHttpRequest: { usd: 1.0 / 1e6, unit: 'HTTP API request (first 300M/month)' },
  lambdaRequest: { usd: 0.2 / 1e6, unit: 'Lambda request' },
  lambdaGbSecondArm: { usd: 0.0000133334, unit: 'Lambda GB-second, arm64' },
  lambdaGbSecondX86: { usd: 0.0000166667, unit: 'Lambda GB-second, x86_64' },
  dynamoWriteUnit: { usd: 0.625 / 1e6, unit: 'DynamoDB on-demand write request unit' },
  dynamoReadUnit: { usd: 0.125 / 1e6, unit: 'DynamoDB on-demand read request unit' },
  dynamoStorageGb: { usd: 0.25, unit: 'DynamoDB Standard storage, GB-month' },
  dynamoPitrGb: { usd: 0.2, unit: 'DynamoDB point-in-time recovery, GB-month' },
  s3StandardGb: { usd: 0.023, unit: 'S3 Standard, GB-month' },
  s3StandardIaGb: { usd: 0.0125, unit: 'S3 Standard-IA, GB-month' },
  s3GlacierIrGb: { usd: 0.004, unit: 'S3 Glacier Instant Retrieval, GB-month' },
  s3Put: { usd: 0.005 / 1000, unit: 'S3 PUT/COPY/POST/LIST request' },
  s3Get: { usd: 0.0004 / 1000, unit: 'S3 GET request' },
  s3TransitionStandardIa: { usd: 0.01 / 1000, unit: 'S3 lifecycle transition to Standard-IA' },
  s3TransitionGlacierIr: { usd: 0.02 / 1000, unit: 'S3 lifecycle transition to Glacier IR' },
  sqsRequest: { usd: 0.4 / 1e6, unit: 'SQS standard request (64 KB chunk)' },
  secret: { usd: 0.4, unit: 'Secrets Manager secret, month' },
  secretApiCall: { usd: 0.05 / 10_000, unit: 'Secrets Manager API call' },
  cwMetric: { usd: 0.3, unit: 'CloudWatch custom metric, month' },
  cwAlarm: { usd: 0.1, unit: 'CloudWatch standard-resolution alarm, month' },
  cwDashboard: { usd: 3.0, unit: 'CloudWatch dashboard, month' },
  cwLogsIngestGb: { usd: 0.5, unit: 'CloudWatch Logs ingestion, GB' },
  cwLogsStorageGb: { usd: 0.03, unit: 'CloudWatch Logs storage, GB-month' },
  cwGetMetricData: { usd: 0.01 / 1000, unit: 'CloudWatch GetMetricData, metric requested' },
  kmsKey: { usd: 1.0, unit: 'KMS customer managed key, month' },
  kmsRequest: { usd: 0.03 / 10_000, unit: 'KMS request' },
  eventBridgeScheduledRule: { usd: 0, unit: 'EventBridge scheduled rule invocation (free)' },
  athenaTbScanned: { usd: 5.0, unit: 'Athena, TB scanned' },
} as const satisfies Record<string, UnitPrice>;

export type PriceTable = { readonly [K in keyof typeof PRICES]: UnitPrice };
