#!/usr/bin/env node
/* global process, URL */
// The `callvault` command: starts the CLI (bin/callvault.ts) on Node 24 with its TypeScript support, in
// this same process (exec, not a child: a signal sent to this PID reaches the CLI itself), with Node's
// compile cache, so a command that needs little loads little and answers in a fraction of a second.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24 || typeof process.execve !== 'function') {
  process.stderr.write(
    `callvault needs Node.js 24 or newer, and this is Node.js ${process.versions.node}.\n` +
      'Run it from the project as "npx callvault ..." or "npm run callvault -- ...": both use the Node 24 the project installs.\n',
  );
  process.exit(1);
}
const cli = fileURLToPath(new URL('./callvault.ts', import.meta.url));
process.execve(
  process.execPath,
  [process.execPath, '--experimental-transform-types', '--disable-warning=ExperimentalWarning', cli, ...process.argv.slice(2)],
  { NODE_COMPILE_CACHE: join(tmpdir(), 'callvault-compile-cache'), ...process.env },
);
