/**
 * `callvault console [--local] [--port N]`: a local web page over the archive, served on 127.0.0.1 with
 * the user's own AWS credentials (or the local stack's), so there is no hosted UI to secure.
 */
import { parseConfig, type CallVaultConfig } from '#contract/config-schema.ts';
import { ENV } from '#contract/resources.ts';
import { CliError, readLocalEndpoints, stackOutputs } from '#bin/cli/context.ts';
import { readProjectConfig } from '#bin/local/project-config.ts';
import { whenOrphaned } from '#bin/local/parent-watch.ts';
import { ArchiveReader } from '#bin/cli/archive-reader.ts';
import { ConsoleArchive } from './reader.ts';
import { startConsoleServer, type ConsoleServer } from './server.ts';
import { parseCommand, TARGET_OPTIONS, wholeNumber } from '#bin/cli/front.ts';
import { print, type Out } from '#bin/cli/output.ts';

export const CONSOLE_USAGE = `Usage: callvault console [--local] [--port N] [--json] [--stack CallVault] [--region R]
Serves a web page over the archive at http://127.0.0.1:N/ (only on this machine) until Ctrl-C:
calls newest first, 50 a page, with the contact's name, the agent, UTC and local times, filtered by
number, day, source and status, or found by call id; each call with its recording or voicemail player,
transcript, AI analysis, Insight Card outcome and delivery history (each delivery as it was sent);
and the deliveries CallVault refused, with the reason.
It reads with your AWS credentials (default chain), or the local stack's with --local.
  --port N   listen on port N (default: a free port, printed)
  --json     print {"url": "..."} on one line when ready, instead of "Console: URL"`;

export interface ConsoleOptions {
  local: boolean;
  port: number;
  stack: string;
  region?: string;
}

/** The local stack's config: CALLVAULT_CONFIG when it is set (as `npm start` reads it), else cdk.json's. */
async function localConfig(env: NodeJS.ProcessEnv = process.env): Promise<CallVaultConfig> {
  const text = env[ENV.config];
  if (!text) return readProjectConfig();
  try {
    return parseConfig(JSON.parse(text), ENV.config);
  } catch (err) {
    throw new CliError(`${ENV.config} is not a valid CallVault config (${(err as Error).message}): fix it or unset it to use cdk.json's.`);
  }
}

/** Builds the reader for the local stack or the deployed one and starts the server. */
export async function openConsole(opts: ConsoleOptions): Promise<ConsoleServer & { reader: ConsoleArchive }> {
  const config = opts.local ? await localConfig() : await readProjectConfig();
  let reader: ConsoleArchive;
  let sources: string[];
  if (opts.local) {
    const e = await readLocalEndpoints();
    reader = new ConsoleArchive(new ArchiveReader({ table: e.tables.calls, bucket: e.bucket, local: e }), {
      hipcallMock: e.hipcallMock,
      contactsTable: e.tables.contacts,
    });
    sources = e.sources.map((s) => s.id);
  } else {
    const outputs = await stackOutputs(opts.stack, opts.region);
    const table = outputs.CallsTableName;
    const bucket = outputs.ArchiveBucketName;
    if (!table || !bucket)
      throw new CliError(
        `Stack "${opts.stack}" has no CallsTableName or ArchiveBucketName output: is it a CallVault stack? Pass --stack NAME.`,
      );
    reader = new ConsoleArchive(new ArchiveReader({ table, bucket, ...(opts.region ? { region: opts.region } : {}) }), {
      ...(outputs.ContactsTableName ? { contactsTable: outputs.ContactsTableName } : {}),
    });
    sources = config.sources.map((s) => s.id);
  }
  try {
    const server = await startConsoleServer({ reader, sources, defaultCountry: config.defaultCountry, port: opts.port });
    return {
      ...server,
      reader,
      close: async () => {
        await server.close();
        reader.destroy();
      },
    };
  } catch (err) {
    reader.destroy();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new CliError(`Port ${opts.port} is in use: pick another with --port, or leave it out for a free one.`);
    throw err;
  }
}

export async function consoleCommand(argv: string[], out: Out = print, stop: Promise<unknown> = interrupted()): Promise<number> {
  const { values } = parseCommand(argv, CONSOLE_USAGE, { ...TARGET_OPTIONS, port: { type: 'string', default: '0' } });
  if (values.help) return (out(CONSOLE_USAGE), 0);
  const port = wholeNumber('--port', values.port, { min: 0, max: 65535 });
  const server = await openConsole({ local: values.local, port, stack: values.stack, ...(values.region ? { region: values.region } : {}) });
  out(values.json ? JSON.stringify({ url: server.url }) : `Console: ${server.url}\nOpen it in your browser; Ctrl-C stops it.`);
  await stop;
  await server.close();
  return 0;
}

/** Resolves on Ctrl-C, SIGTERM or SIGHUP, or when the process that started the console goes away (npx, npm). */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const done = () => {
      for (const s of signals) process.off(s, done);
      unwatch();
      resolve();
    };
    const unwatch = whenOrphaned(done);
    for (const s of signals) process.once(s, done);
  });
}
