/**
 * What every CLI command needs: the project config (cdk.json), the local stack's endpoints.json, and
 * AWS clients for either the local stack (--local) or the default credential chain.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Endpoints } from '#bin/local/stack.ts';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';

/** A failure the user can fix; printed without a stack trace, exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** `{CALLVAULT_DATA_DIR}/endpoints.json`, written by the local stack (`npm start`). */
export type LocalEndpoints = Endpoints;

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.CALLVAULT_DATA_DIR || '.callvault');
}

/** The running local stack's endpoints; CliError saying how to start it when there are none. */
export async function readLocalEndpoints(env: NodeJS.ProcessEnv = process.env): Promise<LocalEndpoints> {
  const file = join(dataDir(env), 'endpoints.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(
      `No local stack found (${file} does not exist). Start it with "npm start" in another terminal, or set CALLVAULT_DATA_DIR to its data directory.`,
    );
  }
  try {
    return JSON.parse(text) as LocalEndpoints;
  } catch {
    throw new CliError(`${file} is not valid JSON: restart the local stack ("npm start") to rewrite it.`);
  }
}

/** A DynamoDB document client for the local stack or for AWS (default credential chain and region). */
export function documentClient(target: { local: LocalEndpoints } | { region?: string }): DynamoDBDocumentClient {
  const client =
    'local' in target
      ? new DynamoDBClient({ endpoint: target.local.dynamodb, region: target.local.region, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 })
      : new DynamoDBClient({ ...(target.region ? { region: target.region } : {}), maxAttempts: 5 });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The deployed stack's outputs, by key. */
export async function stackOutputs(stack: string, region?: string): Promise<Record<string, string>> {
  const cf = new CloudFormationClient(region ? { region } : {});
  try {
    const { Stacks } = await cf.send(new DescribeStacksCommand({ StackName: stack }));
    return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
  } catch (err) {
    throw new CliError(
      `Could not read the outputs of stack "${stack}" (${(err as Error).message}). Deploy it with "npx cdk deploy", or pass --stack / --region, or use --local.`,
    );
  } finally {
    cf.destroy();
  }
}
