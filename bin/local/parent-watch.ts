/**
 * A long-running command stops when whoever started it goes away. `npm start` and `npx callvault console`
 * run this process under `sh -c`, and npm passes SIGTERM to that shell only: the shell dies and this
 * process is handed to init. Its parent process id changing is the sign, on every POSIX system.
 */

/** Calls `stop` once when this process's parent is gone (checked every `everyMs`); returns a function that stops watching. */
export function whenOrphaned(stop: () => void, everyMs = 250): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, everyMs);
  // The watch alone never keeps the process alive.
  timer.unref();
  return () => clearInterval(timer);
}
