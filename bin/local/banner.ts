/** What `npm start` prints when the local stack is ready. */
import { join, resolve } from 'node:path';
import { LOCAL_HIPCALL_API_TOKEN, type Endpoints } from './stack.ts';

/** A word as a POSIX shell reads it back unchanged. */
const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** What the ready banner says: every command in it works as printed, whatever ports and data dir were chosen. */
export function banner(e: Endpoints, dataDir: string, env: NodeJS.ProcessEnv = process.env, pid = process.pid): string {
  // The CLI and the demo find the stack through its data dir: a command needs it when it is not the default.
  const custom = env.CALLVAULT_DATA_DIR && resolve(env.CALLVAULT_DATA_DIR) !== resolve('.callvault');
  const withEnv = (command: string) => (custom ? `CALLVAULT_DATA_DIR=${shellWord(dataDir)} ${command}` : command);
  const auth = `authorization: Bearer ${LOCAL_HIPCALL_API_TOKEN}`;
  return `CallVault local stack is ready.

Webhook URLs (POST; GET answers 200):
${e.sources.map((s) => `  ${s.id.padEnd(10)} ${s.url}`).join('\n')}

Stand-in Hipcall API: ${e.hipcallMock}  (API token: ${LOCAL_HIPCALL_API_TOKEN})
  cards it received:   curl -s ${e.hipcallMock}/_cards
  its calls list:      curl -s -H '${auth}' '${e.hipcallMock}/calls?limit=10'
Demo media server:    ${e.demoMedia}  (e.g. ${e.demoMedia}/demo/recording.mp3, .ogg, .wav, /demo/transcript.json)
DynamoDB ${e.dynamodb}   S3 ${e.s3} (bucket ${e.bucket})   SQS ${e.sqs}
Endpoints written to ${join(dataDir, 'endpoints.json')}

Try it, in another terminal in this folder:
  ${withEnv('npm run demo -- --once')}
  ${withEnv('npx callvault calls list --local')}
  ${withEnv('npx callvault console --local')}
Stop: Ctrl-C, or kill ${pid}`;
}
