/**
 * `callvault cost`: the monthly AWS cost of CallVault, per service, from the stack's own settings
 * (synthesised from cdk.json or --config), the requests one call makes (recorded from the code into
 * bin/cli/cost/profile.json) and the durations the benchmark measured (else documented defaults).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PART_SIZE } from '#adapters/media-store.ts';
import { ConfigError, parseConfig, type CallVaultConfig } from '#contract/config-schema.ts';
import { CliError, dataDir } from './context.ts';
import { durationsFor } from './cost/durations.ts';
import { estimateCost, type CostEstimate } from './cost/model.ts';
import { PRICES, PRICES_AS_OF, PRICES_REGION } from './cost/prices.ts';
import { readProfile } from './cost/profile.ts';
import { parseCommand, UsageError } from './front.ts';
import { jsonText, print, Progress, type Out } from './output.ts';

export const COST_USAGE = `Usage: callvault cost --calls-per-month N [--avg-recording-mb M] [--share-with-recording R] [--months-kept K] [--json] [--config FILE]
Prints the monthly AWS cost of CallVault per service, from the stack's settings (cdk.json, or the
callvault config in FILE), the AWS requests one call makes (counted from the code) and the functions'
durations (measured by "npm run bench" under .callvault/bench/, else defaults).
  --avg-recording-mb M       average recording size in MB (default 1: about 4 minutes of 32 kbps mp3)
  --share-with-recording R   share of calls with a recording, 0..1 (default 0.7)
  --months-kept K            months of calls in the archive when storage is priced (default 12)`;

export interface CostOptions {
  callsPerMonth: number;
  avgRecordingMb: number;
  shareWithRecording: number;
  monthsKept: number;
  config?: CallVaultConfig;
}

/** The estimate for the stack `config` builds (default: cdk.json's). */
export async function costEstimate(
  o: CostOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CostEstimate & { durations: Record<string, string> }> {
  // Loaded here, not at the top: aws-cdk-lib takes seconds to load, and every other CLI command imports this file.
  const { settingsOfStack, synthStack } = await import('./cost/stack-settings.ts');
  const stack = synthStack(o.config);
  const settings = settingsOfStack(stack);
  const durations = durationsFor(join(dataDir(env), 'bench'));
  const partMib = Number(settings.functions.media?.environment.CALLVAULT_MEDIA_PART_SIZE_MIB);
  const estimate = estimateCost(settings, await readProfile(), durations, PRICES, {
    callsPerMonth: o.callsPerMonth,
    avgRecordingMb: o.avgRecordingMb,
    shareWithRecording: o.shareWithRecording,
    monthsKept: o.monthsKept,
    sources: (o.config ?? parseConfig(stack.node.tryGetContext('callvault') ?? {})).sources.length,
    partSizeBytes: partMib > 0 ? partMib * 1024 * 1024 : DEFAULT_PART_SIZE,
  });
  return {
    ...estimate,
    durations: Object.fromEntries(
      Object.entries(durations).map(([fn, d]) => [fn, `${d.ms} ms${d.msPerMb ? ` + ${d.msPerMb} ms/MB` : ''} (${d.source})`]),
    ),
  };
}

const usd = (n: number) => (n >= 100 ? `$${n.toFixed(0)}` : n >= 1 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`);

/** A unit price in plain decimals, however small (`$0.0000166667`, never `$1.6667e-5`), to 6 significant digits. */
export function unitPrice(usd: number): string {
  if (usd === 0 || !Number.isFinite(usd)) return `$${usd}`;
  const digits = Math.min(20, Math.max(2, 5 - Math.floor(Math.log10(Math.abs(usd)))));
  return `$${usd
    .toFixed(digits)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '')}`;
}

/** The estimate as the screen shows it. */
export function formatEstimate(e: CostEstimate & { durations: Record<string, string> }): string {
  const i = e.inputs;
  const out = [
    `CallVault monthly cost for ${i.callsPerMonth.toLocaleString('en-US')} calls/month, ${i.avgRecordingMb} MB recordings on ${Math.round(i.shareWithRecording * 100)}% of calls, month ${i.monthsKept} of storage`,
    '',
    ...Object.entries(e.byService).map(([service, total]) => `  ${service.padEnd(24)} ${usd(total).padStart(10)}`),
    `  ${'Total'.padEnd(24)} ${usd(e.total).padStart(10)}`,
    '',
    'Lines:',
    ...e.lines.map((l) => `  ${l.service.padEnd(24)} ${l.item.padEnd(70)} ${usd(l.usd).padStart(10)}`),
    '',
    'Durations:',
    ...Object.entries(e.durations).map(([fn, d]) => `  ${fn.padEnd(8)} ${d}`),
    '',
    `Unit prices (AWS list prices, ${PRICES_REGION}, as of ${PRICES_AS_OF}; check https://aws.amazon.com/pricing/):`,
    ...Object.values(PRICES).map((p) => `  ${p.unit.padEnd(52)} ${unitPrice(p.usd)}`),
    '',
    'Assumptions:',
    ...e.assumptions.map((a) => `  - ${a}`),
  ];
  return out.join('\n');
}

const positive = (name: string, v: string | undefined, fallback: number | undefined, max = Infinity): number => {
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required.`);
    return fallback;
  }
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new UsageError(`--${name} must be a number between 0 and ${max} (got "${v}").`);
  return n;
};

export async function costCommand(argv: string[], out: Out = print): Promise<number> {
  const { values } = parseCommand(argv, COST_USAGE, {
    'calls-per-month': { type: 'string' },
    'avg-recording-mb': { type: 'string' },
    'share-with-recording': { type: 'string' },
    'months-kept': { type: 'string' },
    config: { type: 'string' },
  });
  if (values.help) {
    out(COST_USAGE);
    return 0;
  }
  const inputs = {
    callsPerMonth: positive('calls-per-month', values['calls-per-month'], undefined),
    avgRecordingMb: positive('avg-recording-mb', values['avg-recording-mb'], 1),
    shareWithRecording: positive('share-with-recording', values['share-with-recording'], 0.7, 1),
    monthsKept: Math.max(1, Math.round(positive('months-kept', values['months-kept'], 12, 120))),
  };
  let config: CallVaultConfig | undefined;
  if (values.config) {
    let text: string;
    try {
      text = await readFile(values.config, 'utf8');
    } catch {
      throw new CliError(
        `Cannot read --config ${values.config}: give the path of a JSON file holding a callvault config (the "callvault" block of cdk.json).`,
      );
    }
    try {
      config = parseConfig(JSON.parse(text) as unknown, values.config);
    } catch (err) {
      throw new CliError(err instanceof ConfigError ? err.message : `${values.config} is not valid JSON (${(err as Error).message}).`);
    }
  }
  const progress = new Progress();
  progress.update('Synthesising the stack to read its settings (a few seconds) ...');
  let estimate;
  try {
    estimate = await costEstimate({ ...inputs, ...(config ? { config } : {}) });
  } finally {
    progress.done();
  }
  out(
    values.json
      ? jsonText({ ...estimate, prices: { region: PRICES_REGION, asOf: PRICES_AS_OF, units: PRICES } })
      : formatEstimate(estimate),
  );
  return 0;
}
