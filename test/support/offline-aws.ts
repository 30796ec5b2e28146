/**
 * Real SDK clients that never reach the network: an instrument that ends every client's middleware
 * stack at the `build` step (after serialization and the limits layer, before signing and sending)
 * and answers with an empty output, or with an error a test chose. For fast offline unit tests of
 * middleware on the AwsTarget seam.
 */
import type { AwsService, AwsTarget, SdkClient } from '#adapters/aws.ts';
import type { MiddlewareStackLike } from '#test/support/aws-limits.ts';

export interface OfflineAws {
  /** Endpoints and credentials that are never contacted (the stack ends before sending). */
  base: AwsTarget;
  /** The instrument that ends each stack; compose it last. */
  terminal: (client: SdkClient, service: AwsService) => void;
  /** `service:Command` of every request that reached the end of the stack, i.e. would have been sent. */
  sent: string[];
  /** Make every following request fail with this error (undefined: succeed again). */
  failWith(err: Error | undefined): void;
}

export function offlineAws(): OfflineAws {
  const sent: string[] = [];
  let failure: Error | undefined;
  const unreachable = 'http://127.0.0.1:9';
  return {
    base: {
      endpoints: { dynamodb: unreachable, s3: unreachable, sqs: unreachable, secretsmanager: unreachable },
      region: 'us-east-1',
      credentials: { accessKeyId: 'OFFLINE', secretAccessKey: 'OFFLINE' },
    },
    sent,
    failWith: (err) => void (failure = err),
    terminal: (client, service) => {
      (client.middlewareStack as unknown as MiddlewareStackLike).add(
        (_next, context) => async () => {
          sent.push(`${service}:${String(context.commandName).replace(/Command$/, '')}`);
          if (failure) throw failure;
          return { output: { $metadata: {} }, response: {} };
        },
        { step: 'build', priority: 'low', name: 'offlineTerminal', override: true },
      );
    },
  };
}
