/**
 * What every CLI command needs: the project config (cdk.json), the local stack's endpoints.json, and
 * AWS clients for either the local stack (--local) or the default credential chain.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';

export { CliError, dataDir, readLocalEndpoints, type LocalEndpoints } from './local-endpoints.ts';
import type { LocalEndpoints } from './local-endpoints.ts';
import { CliError } from './local-endpoints.ts';

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
  // Loaded here: only the commands that read a deployed stack need it.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
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
