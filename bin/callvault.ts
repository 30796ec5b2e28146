#!/usr/bin/env -S npx tsx
/**
 * The CallVault CLI (`npx callvault ...`). Each command is one entry in COMMANDS: a one-line summary
 * and a function from its arguments to an exit code; a CliError is printed without a stack trace.
 */
import { CliError } from './cli/context.ts';
import { replayCommand, urlsCommand } from './cli/archive.ts';
import { callsCommand } from './cli/calls.ts';
import { contactsCommand } from './cli/contacts.ts';
import { checkCommand } from './cli/check.ts';
import { queryCommand } from './cli/query.ts';
import { consoleCommand } from './cli/console/command.ts';
import { reconcileCommand } from './cli/reconcile.ts';
import { costCommand } from './cli/cost.ts';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  urls: {
    summary: "urls [--local]                         print each source's webhook URL, token included",
    run: (argv) => urlsCommand(argv),
  },
  calls: {
    summary:
      'calls list|get|download|export [--local] find calls, read one with links to its media, save media, export a window (resumable)',
    run: (argv) => callsCommand(argv),
  },
  contacts: { summary: 'contacts import FILE.csv [--local]   load contacts for Insight Cards', run: (argv) => contactsCommand(argv) },
  check: {
    summary:
      'check [--local] [--source ID] [--json]  send a synthetic call through, then show queues, DLQs, alarms, last deliveries; --before-deploy: will the account take the stack?',
    run: (argv) => checkCommand(argv),
  },
  replay: {
    summary:
      "replay --dlq NAME | --unapplied | --since D --until D [--dry-run]  send dead-lettered or unapplied work round again, or re-apply raw/ through today's adapters",
    run: (argv) => replayCommand(argv),
  },
  query: {
    summary: 'query "<SQL>" --local [--json]         run SQL over the archive\'s calls table (DuckDB, local stack)',
    run: (argv) => queryCommand(argv),
  },
  console: {
    summary: 'console [--local] [--port N] [--json]  browse, filter and play calls in a local web page (127.0.0.1 only)',
    run: (argv) => consoleCommand(argv),
  },
  reconcile: {
    summary: "reconcile hipcall --source ID --since T  fill the archive's gaps from Hipcall's calls list (--dry-run lists them)",
    run: (argv) => reconcileCommand(argv),
  },
  cost: {
    summary: "cost --calls-per-month N [--json]       monthly AWS cost per service, from the stack's own settings",
    run: (argv) => costCommand(argv),
  },
};

const usage = () =>
  `Usage: callvault <command> [options]\n\nCommands:\n${Object.values(COMMANDS)
    .map((c) => `  ${c.summary}`)
    .join('\n')}\n\nRun "callvault <command> --help" for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${usage()}`);
    return 1;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
