/**
 * `callvault reconcile hipcall`: compare a window of Hipcall's calls list with the archive and fill the
 * gaps (missing calls, recordings not stored). Hipcall never retries a delivery it failed to send, so
 * this is how calls lost to an outage, a deploy or a "Broken" integration come back. It runs the
 * reconcile function's own process, against the local stack (--local) or the deployed stack.
 */
import { parseConfig, type CallVaultConfig } from '#contract/config-schema.ts';
import { ENV, pascal } from '#contract/resources.ts';
import { localTarget } from '#bin/local/target.ts';
import { localFunctionTarget } from '#bin/aws-fidelity/aws-contract.ts';
import { PermanentError, RetryableError, ValidationError } from '#core/errors.ts';
import { summaryLines, type ReconcileSummary } from '#core/reconcile.ts';
import { reconcileDeps } from '#functions/reconcile/deps.ts';
import type { ReconcileWiring } from '#functions/reconcile/handler.ts';
import { reconcileSource } from '#functions/reconcile/process.ts';
import { CliError, readLocalEndpoints, stackOutputs } from './context.ts';
import { readProjectConfig } from '#bin/local/project-config.ts';

import { parseCommand, timeFlag, TARGET_OPTIONS, UsageError } from './front.ts';
import { jsonText, print, Progress, type Out } from './output.ts';

export const RECONCILE_USAGE = `Usage: callvault reconcile hipcall --source ID --since TIME [--until TIME] [--dry-run] [--json] [--local] [--stack CallVault] [--region R]
Pages Hipcall's calls list (GET /calls, started_at in [since, until]) and compares it with the archive:
  - a call the archive lacks is written, through the same adapter and merge as a webhook (delivery "reconcile");
  - its recording, and every archived call's recording that is not stored, is queued for download
    with a fresh link from GET /calls/{uuid}.
A second run changes nothing. Exits 0 when every call was reconciled, 2 when some could not be (see errors).
  --source ID     a Hipcall source of the callvault config
  --since TIME    ISO-8601 UTC (2026-04-02T09:00:00Z) or a day (2026-04-02: from its start)
  --until TIME    ISO-8601 UTC or a day (to its end); default now
  --dry-run       list the gaps, write nothing
  --json          print the summary as JSON, with the call ids of every gap`;

/** A --since/--until value as ISO-8601 UTC; a bare day is its first (since) or last (until) millisecond. */
export function windowBound(flag: '--since' | '--until', value: string): string {
  return timeFlag(flag, value, { endOfDay: flag === '--until' });
}

/** The config the local stack runs: CALLVAULT_CONFIG when set (as `npm start` reads it), else cdk.json. */
async function localConfig(env: NodeJS.ProcessEnv): Promise<CallVaultConfig> {
  const text = env[ENV.config];
  return text ? parseConfig(JSON.parse(text), ENV.config) : readProjectConfig();
}

async function localWiring(config: CallVaultConfig, env: NodeJS.ProcessEnv): Promise<ReconcileWiring> {
  const endpoints = await readLocalEndpoints(env);
  // Loaded only here: the stack module brings the emulators with it.
  const { LOCAL_HIPCALL_API_TOKEN } = await import('#bin/local/stack.ts');
  const hipcallIds = config.sources.filter((s) => s.provider === 'hipcall').map((s) => s.id);
  const base = endpoints.hipcallApi ?? endpoints.hipcallMock;
  return reconcileDeps(
    {
      [ENV.callsTable]: endpoints.tables.calls,
      [ENV.bucket]: endpoints.bucket,
      [ENV.mediaQueueUrl]: endpoints.queues.media,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    {
      config,
      // The function's own calls, under AWS's limits (and, under test, checked against its role's grants).
      target: localFunctionTarget(localTarget(endpoints), 'reconcile'),
      hipcall: {
        baseUrls: Object.fromEntries(hipcallIds.map((id) => [id, base])),
        secrets: Object.fromEntries(hipcallIds.map((id) => [id, LOCAL_HIPCALL_API_TOKEN])),
      },
    },
  );
}

async function deployedWiring(
  config: CallVaultConfig,
  sourceId: string,
  stack: string,
  region: string | undefined,
): Promise<ReconcileWiring> {
  const outputs = await stackOutputs(stack, region);
  const need = (key: string) => {
    const v = outputs[key];
    if (!v) throw new CliError(`Stack "${stack}" has no ${key} output: redeploy it with this version of CallVault ("npx cdk deploy").`);
    return v;
  };
  const secretArn = need(`HipcallApiTokenSecretArn${pascal(sourceId)}`);
  return reconcileDeps(
    {
      [ENV.callsTable]: need('CallsTableName'),
      [ENV.bucket]: need('ArchiveBucketName'),
      [ENV.mediaQueueUrl]: need('MediaQueueUrl'),
      [ENV.hipcallApiSecrets]: JSON.stringify({ [sourceId]: secretArn }),
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    region ? { config, target: { region } } : { config },
  );
}

export async function reconcileCommand(argv: string[], out: Out = print, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    RECONCILE_USAGE,
    {
      ...TARGET_OPTIONS,
      source: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    { positionals: true },
  );
  if (values.help) return (out(RECONCILE_USAGE), 0);
  if (positionals[0] !== 'hipcall' || positionals.length !== 1)
    throw new UsageError('Only Hipcall can be reconciled: run "callvault reconcile hipcall --source ID --since TIME".');
  if (!values.source) throw new UsageError('--source is required: the id of a Hipcall source in the callvault config.');
  if (!values.since)
    throw new UsageError(`--since is required, e.g. --since ${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}.`);
  const since = windowBound('--since', values.since);
  const until = values.until ? windowBound('--until', values.until) : new Date().toISOString();
  if (since > until) throw new UsageError(`--since (${since}) is after --until (${until}): swap them.`);

  const config = values.local ? await localConfig(env) : await readProjectConfig();
  const wiring = values.local ? await localWiring(config, env) : await deployedWiring(config, values.source, values.stack, values.region);
  let summary: ReconcileSummary;
  const progress = new Progress();
  try {
    progress.update(`Reading Hipcall's calls list for ${since} .. ${until} ...`);
    summary = await reconcileSource(wiring.deps, { source: values.source, since, until, dryRun: values['dry-run'] });
  } catch (err) {
    if (err instanceof ValidationError || err instanceof PermanentError) throw new CliError(err.message);
    if (err instanceof RetryableError)
      throw new CliError(`${err.message} Nothing after this point was reconciled; run the same command again (it is safe to repeat).`);
    throw err;
  } finally {
    progress.done();
    await wiring.close();
  }
  if (values.json) out(jsonText(summary));
  else for (const line of summaryLines(summary)) out(line);
  return summary.errors > 0 ? 2 : 0;
}
