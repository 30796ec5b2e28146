/**
 * How local tools reach the emulators: the one credential pair, region and client settings shared by the
 * local stack, the CLI's --local mode, the tests and the benchmarks; and the environment variables the
 * local stack reads (deployed functions never read them: the local stack passes their values in).
 */
import type { AwsTarget } from '#adapters/aws.ts';

/** s3rver accepts only this key pair; the local stack uses it for every emulator. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';

/** The environment of `npm start` (DESIGN.md's local-stack table). */
export const LOCAL_ENV = {
  port: 'PORT',
  dynamodbPort: 'DYNAMODB_PORT',
  s3Port: 'S3_PORT',
  sqsPort: 'SQS_PORT',
  dataDir: 'CALLVAULT_DATA_DIR',
  /** The webhook token of every local source. */
  token: 'CALLVAULT_LOCAL_TOKEN',
  /** Comma-separated `host:port` pairs exempt from the private-address block. */
  fetchAllow: 'CALLVAULT_FETCH_ALLOW',
  /** Overrides every source's media delay (seconds). */
  mediaDelay: 'CALLVAULT_MEDIA_DELAY_SECONDS',
  /** The replay queue's visibility timeout (seconds): how long a delivery waits before its next replay. */
  replayRetry: 'CALLVAULT_REPLAY_RETRY_SECONDS',
  /** The `whsec_` secret of every local source whose config sets `signature`. */
  signingSecret: 'CALLVAULT_LOCAL_SIGNING_SECRET',
  /** An http(s) base URL every Hipcall source uses instead of the stand-in Hipcall API (cards, link refresh, reconcile). */
  hipcallApi: 'CALLVAULT_HIPCALL_API',
} as const;

/** SDK client settings for talking to one emulator directly (tests, CLI, benchmarks). */
export function localClientConfig(endpoint: string) {
  return { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true, maxAttempts: 3 };
}

/** The AwsTarget the composition roots take to build their clients against the emulators. */
export function localTarget(endpoints: { dynamodb: string; s3: string; sqs: string }, instrument?: AwsTarget['instrument']): AwsTarget {
  return {
    endpoints: { dynamodb: endpoints.dynamodb, s3: endpoints.s3, sqs: endpoints.sqs },
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    ...(instrument ? { instrument } : {}),
  };
}
