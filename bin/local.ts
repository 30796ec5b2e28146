/**
 * `npm start`: CallVault on this machine, no AWS account needed.
 * Environment: PORT, DYNAMODB_PORT, S3_PORT, SQS_PORT, CALLVAULT_DATA_DIR, CALLVAULT_LOCAL_TOKEN,
 * CALLVAULT_FETCH_ALLOW, CALLVAULT_MEDIA_DELAY_SECONDS, CALLVAULT_LOCAL_SIGNING_SECRET (docs/local-stack.md).
 * It stops, with everything it started, on Ctrl-C, SIGTERM or SIGHUP, or when the process that started
 * it goes away (npm passes a SIGTERM only to the shell it runs this under).
 */
import { resolve } from 'node:path';
import { optionsFromEnv, startLocalStack } from './local/stack.ts';
import { banner } from './local/banner.ts';
import { whenOrphaned } from './local/parent-watch.ts';
import { terminalSafe } from '#core/terminal-text.ts';

try {
  // Inside the try: a bad variable is a message, not a stack trace.
  const options = optionsFromEnv();
  // Its log carries text from providers (reasons, reconcile's call ids): no escape sequence reaches the terminal.
  const stack = await startLocalStack({ ...options, log: (line) => console.error(terminalSafe(line)) });
  console.log(banner(stack.endpoints, resolve(options.dataDir ?? '.callvault')));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stack.close();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop());
  whenOrphaned(() => void stop());
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
