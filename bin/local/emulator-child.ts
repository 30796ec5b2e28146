/** Starts an emulator in a child process (bin/local/emulator-process.ts) and stops it. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EmulatorServer, EmulatorServerOptions } from './emulator-servers.ts';

const entry = fileURLToPath(new URL('./emulator-process.ts', import.meta.url));

/** The parent's profiling flags, so `node --cpu-prof` profiles the emulators too. */
const profiling = () => process.execArgv.filter((a) => /^--(cpu|heap)-prof/.test(a));

/** Fork one emulator; resolves when it listens, rejects (with its error code, e.g. EADDRINUSE) when it cannot. */
export function forkEmulatorServer(opts: EmulatorServerOptions): Promise<EmulatorServer> {
  const child = fork(entry, [JSON.stringify(opts)], {
    // tsx by absolute URL: the child may start with another working directory than the project's.
    execArgv: ['--import', import.meta.resolve('tsx'), ...profiling()],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`The ${opts.kind} emulator exited (code ${code}) before it was ready.`)));
    child.once('message', (m: { port?: number; error?: string; code?: string }) => {
      if (m.port === undefined) {
        reject(Object.assign(new Error(`The ${opts.kind} emulator could not start: ${m.error}`), { code: m.code }));
        return;
      }
      resolve({
        port: m.port,
        async close() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          if (child.connected) child.send('stop');
          else child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        },
      });
    });
  });
}
