/** The project's `callvault` config as `cdk synth` reads it: the block in ./cdk.json, validated. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig, type CallVaultConfig } from '#contract/config-schema.ts';

/** The CDK bootstrap qualifier ./cdk.json sets (`@aws-cdk/core:bootstrapQualifier`), if any. */
export async function projectBootstrapQualifier(cwd = process.cwd()): Promise<string | undefined> {
  try {
    const context = (JSON.parse(await readFile(join(cwd, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> }).context;
    const q = context?.['@aws-cdk/core:bootstrapQualifier'];
    return typeof q === 'string' ? q : undefined;
  } catch {
    return undefined;
  }
}

/** The `callvault` block of ./cdk.json, validated; the defaults when there is no cdk.json. */
export async function readProjectConfig(cwd = process.cwd()): Promise<CallVaultConfig> {
  let text: string;
  try {
    text = await readFile(join(cwd, 'cdk.json'), 'utf8');
  } catch {
    return parseConfig({});
  }
  const context = (JSON.parse(text) as { context?: { callvault?: unknown } }).context;
  return parseConfig(context?.callvault ?? {});
}
