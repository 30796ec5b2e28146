/**
 * The deployment config a deployed function runs with: validated and completed with its defaults at
 * synth, and compiled into the bundle as a JSON string (esbuild `define`, lib/constructs/callvault-function.ts).
 * A cold start parses JSON and never builds the config schema; the local stack and the tests pass a
 * parsed config to the composition root instead.
 */
import type { CallVaultConfig } from '#contract/config.ts';

/** Replaced by the bundler with the config's JSON text; undeclared outside a CallVault bundle. */
declare const __CALLVAULT_CONFIG__: string | undefined;

/** The config compiled into this bundle. Throws when the code was not bundled by the CallVault stack. */
export function bundledConfig(): CallVaultConfig {
  return parseBundledConfig(typeof __CALLVAULT_CONFIG__ === 'string' ? __CALLVAULT_CONFIG__ : undefined);
}

/** The config from the bundle's JSON text, or an error that says where the config comes from. */
export function parseBundledConfig(text: string | undefined): CallVaultConfig {
  if (text === undefined)
    throw new Error(
      'This function has no CallVault config: the CDK stack compiles it into the bundle (cdk deploy); the local stack and tests pass a parsed config to the composition root (local.config).',
    );
  const config = JSON.parse(text) as CallVaultConfig;
  if (!config || typeof config !== 'object' || !Array.isArray(config.sources))
    throw new Error('The CallVault config compiled into this bundle is not a config object: redeploy the stack.');
  return config;
}
