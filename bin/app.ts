/**
 * The CDK app (`npx cdk synth|deploy`): reads the `callvault` block of cdk.json context, validates it,
 * builds the `CallVault` stack and runs the cdk-nag AwsSolutions and Serverless packs on it.
 * A bad config stops here with the ConfigError message naming each key, and exit code 1.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { CallVaultStack } from '#lib/callvault-stack.ts';
import { ConfigError, parseConfig } from '#contract/config-schema.ts';

/** The oldest Node.js the app runs on (`import.meta.main`, and the functions' runtime). */
export const MIN_NODE_MAJOR = 24;

/** Why `version` (e.g. `v20.19.0`) cannot build the app, or undefined when it can. */
export function nodeVersionProblem(version: string = process.version): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return (
    `CallVault needs Node.js ${MIN_NODE_MAJOR} or later to synthesise; this is Node.js ${version}. ` +
    'Run "npm ci" (it installs the Node.js the project pins) and use "npx cdk ...", or install Node.js 24 and run again.'
  );
}

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

// Node < 24 has no import.meta.main: compare paths too, so an old Node gets the message, not a silent no-op.
const isMain = import.meta.main ?? (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url));
if (isMain) {
  const tooOld = nodeVersionProblem();
  if (tooOld) {
    console.error(tooOld);
    process.exit(1);
  }
  try {
    // Synthesised here rather than at exit, so a deploy limit (lib/deploy-limits.ts) is a message too.
    createApp().app.synth();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    console.error('Fix the "callvault" block in cdk.json (or the -c callvault=... value) and run again.');
    process.exit(1);
  }
}
