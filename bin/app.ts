/**
 * The CDK app (`npx cdk synth|deploy`): reads the `callvault` block of cdk.json context, validates it,
 * builds the `CallVault` stack and runs the cdk-nag AwsSolutions and Serverless packs on it.
 * A bad config stops here with the ConfigError message naming each key, and exit code 1.
 */
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { CallVaultStack } from '#lib/callvault-stack.ts';
import { ConfigError, parseConfig } from '#contract/config-schema.ts';

export interface CreateAppOptions extends AppProps {
  /** Register the cdk-nag packs as validation plugins (synth fails on an unacknowledged finding). @default true */
  readonly nag?: boolean;
}

/** The app and its one stack. Throws ConfigError when the `callvault` context is invalid. */
export function createApp(options: CreateAppOptions = {}): { app: App; stack: CallVaultStack } {
  const { nag = true, ...appProps } = options;
  const app = new App(appProps);
  const config = parseConfig(contextBlock(app.node.tryGetContext('callvault')));
  const stack = new CallVaultStack(app, 'CallVault', { config });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}

/** `cdk.json` gives an object; `-c callvault='{...}'` on the command line gives the same as a JSON string. */
function contextBlock(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new ConfigError(`Invalid CallVault config:\n  - callvault: -c callvault=... must be a JSON object (${(err as Error).message})`);
  }
}

if (import.meta.main) {
  try {
    createApp();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    console.error('Fix the "callvault" block in cdk.json (or the -c callvault=... value) and run again.');
    process.exit(1);
  }
}
