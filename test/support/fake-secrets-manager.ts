/**
 * A stand-in Secrets Manager on a local HTTP server, for the deployed code paths that read secrets
 * (no emulator the tests start has one). It answers GetSecretValue (AWS JSON 1.1) for the secrets it
 * holds and ResourceNotFoundException for the rest, and counts the reads so a test can see the cache.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSecretsManager {
  endpoint: string;
  /** SecretId → SecretString. */
  secrets: Map<string, string>;
  /** SecretIds read, in order. */
  reads: string[];
  close(): Promise<void>;
}

export async function startFakeSecretsManager(secrets: Record<string, string>): Promise<FakeSecretsManager> {
  const held = new Map(Object.entries(secrets));
  const reads: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      const reply = (status: number, json: unknown) =>
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(json));
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue')
        return reply(400, { __type: 'UnknownOperationException', message: 'only GetSecretValue is faked' });
      const id = String((JSON.parse(body || '{}') as { SecretId?: string }).SecretId);
      reads.push(id);
      const value = held.get(id);
      if (value === undefined)
        return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      reply(200, {
        ARN: id,
        Name: id.replace(/^arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:/, ''),
        SecretString: value,
        VersionId: 'v1',
        VersionStages: ['AWSCURRENT'],
      });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secrets: held,
    reads,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
