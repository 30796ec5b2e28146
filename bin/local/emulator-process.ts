/**
 * One emulator in a child process of its own (`startEmulators({ processes: true })`): on a 2-core machine
 * the API and the handlers get one core and the emulators another, instead of sharing one event loop.
 * Started with the options as JSON in argv[2]; answers `{ port }` over IPC when listening, and exits
 * when told to stop or when its parent goes away (the IPC channel closes), so none is ever left behind.
 */
import { startEmulatorServer, type EmulatorServerOptions } from './emulator-servers.ts';

const opts = JSON.parse(process.argv[2] ?? '{}') as EmulatorServerOptions;
const fail = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  process.send!({ error: e.message, code: e.code }, () => process.exit(1));
};
// s3rver reports a taken port as an 'error' event nobody listens to, not as a rejection.
process.on('uncaughtException', fail);
try {
  const server = await startEmulatorServer(opts);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('message', (m) => {
    if (m === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  // Ctrl-C reaches the whole process group: the parent decides when its emulators stop.
  process.on('SIGINT', () => undefined);
  process.send!({ port: server.port });
} catch (err) {
  fail(err);
}
