/**
 * `callvault urls`: each source's webhook URL, token included, to paste into the provider's dashboard,
 * from the local stack's endpoints.json (--local) or the deployed stack's outputs and token secrets.
 */
import { CliError, readLocalEndpoints } from './local-endpoints.ts';
import { parseCommand, TARGET_OPTIONS } from './front.ts';
import { jsonText, print, type Out } from './output.ts';

export const URLS_USAGE = `Usage: callvault urls [--local] [--json] [--stack CallVault] [--region R]
Prints each source's webhook URL, token included, to paste into the provider's dashboard.
  --local   the local stack's URLs (npm start), from $CALLVAULT_DATA_DIR/endpoints.json
  --json    [{"id", "provider", "url"}, ...]`;

/** One source's webhook URL. */
export interface SourceUrl {
  id: string;
  provider: string;
  url: string;
}

async function deployedUrls(stack: string, region: string | undefined): Promise<SourceUrl[]> {
  // Loaded here: the deployed path needs the config, Secrets Manager and the token parser; --local needs none.
  const [{ stackOutputs }, { readProjectConfig }, { pascal }, { parseTokenSecret }, { GetSecretValueCommand, SecretsManagerClient }] =
    await Promise.all([
      import('./context.ts'),
      import('#bin/local/project-config.ts'),
      import('#contract/resources.ts'),
      import('#adapters/webhook-tokens.ts'),
      import('@aws-sdk/client-secrets-manager'),
    ]);
  const config = await readProjectConfig();
  const outputs = await stackOutputs(stack, region);
  const base = outputs.WebhookBaseUrl;
  if (!base) throw new CliError(`Stack "${stack}" has no WebhookBaseUrl output: is it a CallVault stack?`);
  const sm = new SecretsManagerClient(region ? { region } : {});
  try {
    const urls: SourceUrl[] = [];
    for (const s of config.sources) {
      const command = outputs[`WebhookTokenCommand${pascal(s.id)}`] ?? '';
      const arn = /--secret-id\s+(\S+)/.exec(command)?.[1];
      let token = '<token>';
      if (arn) {
        const { SecretString } = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
        token = parseTokenSecret(SecretString ?? '')[0] ?? '<token>';
      }
      urls.push({ id: s.id, provider: s.provider, url: `${base}/${s.id}/${token}` });
    }
    return urls;
  } finally {
    sm.destroy();
  }
}

export async function urlsCommand(argv: string[], out: Out = print): Promise<number> {
  const { values } = parseCommand(argv, URLS_USAGE, TARGET_OPTIONS);
  if (values.help) return (out(URLS_USAGE), 0);
  const urls: SourceUrl[] = values.local
    ? (await readLocalEndpoints()).sources.map((s) => ({ id: s.id, provider: s.provider, url: s.url }))
    : await deployedUrls(values.stack, values.region);
  if (values.json) return (out(jsonText(urls)), 0);
  for (const s of urls) out(`${s.id.padEnd(12)} ${s.provider.padEnd(10)} ${s.url}`);
  return 0;
}
