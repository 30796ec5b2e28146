#!/usr/bin/env -S node --experimental-transform-types --disable-warning=ExperimentalWarning
/**
 * The CallVault CLI (`npx callvault ...`). Each command is one entry in COMMANDS: a one-line summary
 * and its module, loaded only when that command runs (the AWS SDK, DuckDB and aws-cdk-lib take seconds
 * to load between them, and most commands need one or none). Mistakes exit 2 with the command's usage,
 * failures 1 with a message; a stack trace only with --debug.
 */
import { CliError } from './cli/local-endpoints.ts';
import { UsageError } from './cli/front.ts';
import { print, printError } from './cli/output.ts';

/** Where a command prints: results to `out`, messages to `err`. */
export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface Command {
  summary: string;
  run(argv: string[], io: CommandIo): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  urls: {
    summary: "urls [--local] [--json]                print each source's webhook URL, token included",
    run: async (argv, io) => (await import('./cli/urls.ts')).urlsCommand(argv, io.out),
  },
  calls: {
    summary:
      'calls list|get|download|export [--local] find calls, read one with links to its media, save media, export a window (resumable)',
    run: async (argv, io) => (await import('./cli/calls.ts')).callsCommand(argv, io.out),
  },
  deliveries: {
    summary: 'deliveries refused|quarantined|show [--local] list the deliveries CallVault refused, with the reason; show one',
    run: async (argv, io) => (await import('./cli/deliveries.ts')).deliveriesCommand(argv, io.out),
  },
  contacts: {
    summary: 'contacts import FILE.csv [--local]   load contacts for Insight Cards',
    run: async (argv, io) => (await import('./cli/contacts.ts')).contactsCommand(argv, io.out),
  },
  check: {
    summary:
      'check [--local] [--source ID] [--json]  send a synthetic call through, then show queues, DLQs, alarms, last deliveries; --before-deploy: will the account take the stack?',
    run: async (argv, io) => (await import('./cli/check.ts')).checkCommand(argv, io.out),
  },
  replay: {
    summary:
      "replay --dlq NAME | --unapplied | --since D --until D [--dry-run]  send dead-lettered or unapplied work round again, or re-apply raw/ through today's adapters",
    run: async (argv, io) => (await import('./cli/archive.ts')).replayCommand(argv, io.out),
  },
  query: {
    summary: 'query "<SQL>" --local [--json]         run SQL over the archive\'s calls table (DuckDB, local stack)',
    run: async (argv, io) => (await import('./cli/query.ts')).queryCommand(argv, io.out, io.err),
  },
  console: {
    summary: 'console [--local] [--port N] [--json]  browse, filter and play calls in a local web page (127.0.0.1 only)',
    run: async (argv, io) => (await import('./cli/console/command.ts')).consoleCommand(argv, io.out),
  },
  reconcile: {
    summary: "reconcile hipcall --source ID --since T  fill the archive's gaps from Hipcall's calls list (--dry-run lists them)",
    run: async (argv, io) => (await import('./cli/reconcile.ts')).reconcileCommand(argv, io.out),
  },
  cost: {
    summary: "cost --calls-per-month N [--json]       monthly AWS cost per service, from the stack's own settings",
    run: async (argv, io) => (await import('./cli/cost.ts')).costCommand(argv, io.out),
  },
};

export const USAGE = `Usage: callvault <command> [options]

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.summary}`)
  .join('\n')}

Every command takes --help, --json (machine-readable output) and --debug (a stack trace on failure).
Run "callvault <command> --help" for a command's options.`;

/** Where main prints: stdout for results, stderr for messages (tests pass collectors). */
export interface MainIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/** Run one command line; resolves to the exit code and never throws. */
export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  const out = io.out ?? print;
  const err = io.err ?? printError;
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv.filter((a) => a !== '--debug');
  if (name === 'help' || name === '--help' || name === '-h') return (out(USAGE), 0);
  if (!name) return (err(USAGE), 2);
  const command = COMMANDS[name];
  if (!command) {
    err(`callvault: unknown command "${name}".\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command.run(rest, { out, err });
  } catch (e) {
    if (debug) err((e as Error).stack ?? String(e));
    if (e instanceof UsageError) {
      err(`callvault ${name}: ${e.message}${e.usage ? `\n\n${e.usage}` : `\n\nRun "callvault ${name} --help" for its options.`}`);
      return 2;
    }
    if (e instanceof CliError) {
      err(`callvault ${name}: ${e.message}`);
      return 1;
    }
    const { name: kind, message } = e as Error;
    const code = (e as NodeJS.ErrnoException).code ?? ((e as { cause?: NodeJS.ErrnoException }).cause ?? {}).code;
    if (code === 'ECONNREFUSED' && rest.includes('--local')) {
      err(
        `callvault ${name}: could not reach the local stack (${message}). Is "npm start" running, and is CALLVAULT_DATA_DIR the one it was started with?`,
      );
      return 1;
    }
    err(
      `callvault ${name} failed: ${kind ?? 'Error'}: ${message ?? String(e)}${debug ? '' : '\n(Run the same command with --debug to see where.)'}`,
    );
    return 1;
  }
}

if (import.meta.main) {
  // `callvault calls list | head` closes the pipe early: that ends the output, it is not a failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await main(process.argv.slice(2));
}
