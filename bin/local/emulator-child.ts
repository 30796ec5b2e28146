/** Starts a server in a child process (an emulator: bin/local/emulator-process.ts) and stops it. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EmulatorServer, EmulatorServerOptions } from './emulator-servers.ts';

const entry = fileURLToPath(new URL('./emulator-process.ts', import.meta.url));

/** The parent's profiling flags, so `node --cpu-prof` profiles the children too. */
const profiling = () => process.execArgv.filter((a) => /^--(cpu|heap)-prof/.test(a));

/**
 * Fork `file` (run with tsx) with `args`; resolves when it reports `{ port }` over IPC, rejects (with its
 * error code, e.g. EADDRINUSE) when it reports `{ error }` or exits first. `close` sends 'stop' and waits
 * for the exit (the child cleans up and exits), killing it after `stopMs`.
 */
export function forkServer(file: string, args: string[], name: string, stopMs = 5000): Promise<EmulatorServer> {
  const child = fork(file, args, {
    // tsx by absolute URL: the child may start with another working directory than the project's.
    execArgv: ['--import', import.meta.resolve('tsx'), ...profiling()],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`The ${name} exited (code ${code}) before it was ready.`)));
    child.once('message', (m: { port?: number; error?: string; code?: string }) => {
      if (m.port === undefined) {
        reject(Object.assign(new Error(`The ${name} could not start: ${m.error}`), { code: m.code }));
        return;
      }
      resolve({
        port: m.port,
        async close() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          if (child.connected) child.send('stop');
          else child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), stopMs);
          await exited;
          clearTimeout(timer);
        },
      });
    });
  });
}

/** Fork one emulator; resolves when it listens, rejects (with its error code, e.g. EADDRINUSE) when it cannot. */
export function forkEmulatorServer(opts: EmulatorServerOptions): Promise<EmulatorServer> {
  return forkServer(entry, [JSON.stringify(opts)], `${opts.kind} emulator`);
}
