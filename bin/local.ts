/**
 * `npm start`: CallVault on this machine, no AWS account needed.
 * Environment: PORT, DYNAMODB_PORT, S3_PORT, SQS_PORT, CALLVAULT_DATA_DIR, CALLVAULT_LOCAL_TOKEN,
 * CALLVAULT_FETCH_ALLOW, CALLVAULT_MEDIA_DELAY_SECONDS, CALLVAULT_LOCAL_SIGNING_SECRET (docs/local-stack.md).
 */
import { join, resolve } from 'node:path';
import { optionsFromEnv, startLocalStack } from './local/stack.ts';

try {
  // Inside the try: a bad variable is a message, not a stack trace.
  const options = optionsFromEnv();
  const stack = await startLocalStack({ ...options, log: (line) => console.error(line) });
  const e = stack.endpoints;
  console.log(`CallVault local stack is ready.

Webhook URLs (POST; GET answers 200):
${e.sources.map((s) => `  ${s.id.padEnd(10)} ${s.url}`).join('\n')}

Stand-in Hipcall API: ${e.hipcallMock}  (cards received: GET ${e.hipcallMock}/_cards)
DynamoDB ${e.dynamodb}   S3 ${e.s3} (bucket ${e.bucket})   SQS ${e.sqs}
Endpoints written to ${join(resolve(options.dataDir ?? '.callvault'), 'endpoints.json')}
Try it: npm run demo -- --once      Stop: Ctrl-C`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') {
    console.error(
      `A port is already in use (${e.message}). Stop the other process, or choose other ports with PORT, DYNAMODB_PORT, S3_PORT and SQS_PORT.`,
    );
  } else {
    console.error(`The local stack could not start: ${e.message}`);
  }
  process.exit(1);
}
