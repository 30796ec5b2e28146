#!/usr/bin/env -S npx tsx
/**
 * The CallVault CLI (`npx callvault ...`). Each command is one entry in COMMANDS: a one-line summary
 * and a function from its arguments to an exit code; a CliError is printed without a stack trace.
 */
import { CliError } from './cli/context.ts';
import { callsCommand, replayCommand, urlsCommand } from './cli/archive.ts';
import { contactsCommand } from './cli/contacts.ts';
import { checkCommand } from './cli/check.ts';
import { costCommand } from './cli/cost.ts';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  urls: { summary: 'urls [--local]                         print each source\'s webhook URL, token included', run: (argv) => urlsCommand(argv) },
  calls: { summary: 'calls --day D | --customer N [--local]  list calls from the archive', run: (argv) => callsCommand(argv) },
  contacts: { summary: 'contacts import FILE.csv [--local]   load contacts for Insight Cards', run: (argv) => contactsCommand(argv) },
  check: { summary: 'check [--local] [--source ID] [--json]  send a synthetic call through, then show queues, DLQs, alarms, last deliveries', run: (argv) => checkCommand(argv) },
  cost: { summary: 'cost --calls-per-month N [--json]       monthly AWS cost per service, from the stack\'s own settings', run: (argv) => costCommand(argv) },
  replay: { summary: 'replay --dlq NAME | --unapplied       send dead-lettered or unapplied work round again', run: (argv) => replayCommand(argv) },
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
