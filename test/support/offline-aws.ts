/**
 * Real SDK clients that never reach the network: an instrument that ends every client's middleware
 * stack where the HTTP request would be sent (first in the deserialize step: after serialization,
 * the limits layer, retries and signing) and answers with an empty output, or with an error a test
 * chose (which the SDK's retry strategy then sees as it would see AWS's). For fast offline unit tests of
 * middleware on the AwsTarget seam.
 */
import { createHash } from 'node:crypto';
import type { AwsService, AwsTarget, SdkClient } from '#adapters/aws.ts';
import type { MiddlewareStackLike } from '#bin/aws-fidelity/aws-limits.ts';

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
        (_next, context) => (args) => {
          const command = String(context.commandName).replace(/Command$/, '');
          sent.push(`${service}:${command}`);
          if (failure) return Promise.reject(failure);
          return Promise.resolve({
            output: { $metadata: {}, ...sqsChecksums(command, args.input as Record<string, unknown>) },
            response: {},
          });
        },
        { step: 'deserialize', priority: 'high', name: 'offlineTerminal', override: true },
      );
    },
  };
}

const md5 = (s: string | undefined) =>
  createHash('md5')
    .update(s ?? '')
    .digest('hex');

/** The SQS client verifies the MD5 of what it sent against the answer: answer like SQS does. */
function sqsChecksums(command: string, input: Record<string, unknown>): Record<string, unknown> {
  if (command === 'SendMessage') return { MessageId: 'offline', MD5OfMessageBody: md5(input.MessageBody as string | undefined) };
  if (command === 'SendMessageBatch') {
    const entries = (input.Entries as { Id: string; MessageBody?: string }[]) ?? [];
    return {
      Successful: entries.map((e) => ({ Id: e.Id, MessageId: `offline-${e.Id}`, MD5OfMessageBody: md5(e.MessageBody) })),
      Failed: [],
    };
  }
  return {};
}
