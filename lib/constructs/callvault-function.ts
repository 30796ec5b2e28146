import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';
import { DEFAULT_FUNCTION_LOG_RETENTION, logRetentionFor } from './protection.ts';
import { estimateContextOf, estimateEnvironment, type EnvironmentEstimate } from './function-environment.ts';

/** The five Lambda functions; each one's entry is `functions/{name}/index.ts`, which exports `handler`. */
export type FunctionName = 'ingest' | 'media' | 'insight' | 'silence' | 'reconcile';

/** The repository root: entries, the lock file and tsconfig are resolved from here, whatever the cwd. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A function's Lambda entry: index.ts builds its dependencies (deps.ts) and exports the handler. */
export const entryOf = (name: FunctionName): string => fileURLToPath(new URL(`../../functions/${name}/index.ts`, import.meta.url));

/** Bundled ESM still meets CommonJS dependencies that call `require`: give them one. */
const REQUIRE_BANNER =
  "import { createRequire as __cvCreateRequire } from 'node:module'; const require = __cvCreateRequire(import.meta.url);";

/**
 * The validated, defaults-applied config compiled into a bundle: esbuild replaces the global
 * `__CALLVAULT_CONFIG__` (functions/adapters/bundled-config.ts) with its JSON text as a string literal.
 * A define rather than a file beside the code: nothing to read or find at cold start, the asset hash
 * follows the config with no extra step, and local bundling passes it to esbuild as one argument
 * without a shell (so no quoting can change it).
 */
export function configDefine(config: CallVaultConfig): Record<string, string> {
  return { __CALLVAULT_CONFIG__: JSON.stringify(JSON.stringify(config)) };
}

/** How every function is bundled; bench/coldstart.ts builds with the same options, so what it measures is what deploys. */
export const BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: REQUIRE_BANNER,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
} as const;

export interface CallVaultFunctionProps {
  /** Which handler to bundle: `functions/{name}/handler.ts`. */
  readonly name: FunctionName;
  /** The validated deployment config, compiled into the bundle (configDefine). */
  readonly config: CallVaultConfig;
  /** Hard limit of one invocation. */
  readonly timeout: Duration;
  /** Memory (and so CPU) of the function, in MB. */
  readonly memorySize: number;
  /** One-line description shown in the Lambda console. @default - none */
  readonly description?: string;
  /**
   * X-Ray tracing. Off by default: the handlers carry no tracer SDK, so active tracing would add
   * cost and only the Lambda service segment.
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;
  /** How long the function's logs are kept. @default config.protection.logRetentionDays, else logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Customer-managed key of the function's log group (protection.kms). @default - CloudWatch Logs encryption */
  readonly encryptionKey?: kms.IKey;
  /**
   * For a function invoked asynchronously (by a schedule): how many times Lambda retries a failed run,
   * and why that many. @default - not invoked asynchronously: no EventInvokeConfig
   */
  readonly asyncRetries?: { readonly attempts: 0 | 1 | 2; readonly reason: string };
}

/**
 * The function defaults in one place: Node.js 24 on arm64, minified ESM bundled by the local esbuild
 * (source maps on, AWS SDK bundled so the deployed SDK is the tested one), its own log group with a
 * retention, and its own role that may write to that log group and nothing else until a construct
 * grants more. The role and log group are created beside the function (`{id}Role`, `{id}LogGroup`)
 * because a Function subclass cannot create children before `super()`.
 */
export class CallVaultFunction extends NodejsFunction {
  /** The execution role: log writes only, plus whatever the owning construct grants. */
  public readonly executionRole: iam.Role;
  /** The config compiled into the bundle (configDefine): what the handler reads at cold start. */
  public readonly bundledConfig: CallVaultConfig;

  constructor(scope: Construct, id: string, props: CallVaultFunctionProps) {
    // Our own role instead of the default one: AWSLambdaBasicExecutionRole allows logs:* writes on every log group ("*").
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the CallVault ${props.name} function`,
    });
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logRetentionFor(props.config.protection, DEFAULT_FUNCTION_LOG_RETENTION),
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: entryOf(props.name),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      description: props.description,
      tracing: props.tracing ?? lambda.Tracing.DISABLED,
      role,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        ...BUNDLING,
        mainFields: [...BUNDLING.mainFields],
        define: configDefine(props.config),
        bundleAwsSDK: true,
        forceDockerBundling: false,
      },
    });
    this.executionRole = role;
    this.bundledConfig = props.config;
    logGroup.grantWrite(role);

    // Lambda's default for asynchronous invocations is 2 silent retries: a scheduled function says how many it wants.
    if (props.asyncRetries) this.configureAsyncInvoke({ retryAttempts: props.asyncRetries.attempts });
    Validations.of(this).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason: props.asyncRetries
          ? `Invoked by a schedule with MaximumRetryAttempts ${props.asyncRetries.attempts}: ${props.asyncRetries.reason} A failed run raises the function's Errors alarm; nothing is left to redeliver.`
          : 'No asynchronous invocations: the API invokes it synchronously and SQS through an event source mapping, whose failures go to the queue redrive DLQ.',
      },
      ...(props.asyncRetries
        ? [
            {
              id: 'Serverless-LambdaAsyncFailureDestination',
              reason:
                "A failed scheduled run's event says only which run it was, and the next run repeats it: the Errors alarm tells the operator, the logs say why.",
            },
          ]
        : []),
      ...(props.tracing === lambda.Tracing.ACTIVE
        ? []
        : [
            {
              id: 'Serverless-LambdaTracing',
              reason:
                'The handlers carry no tracer SDK; latency is watched through Lambda metrics and structured logs. Pass tracing: Tracing.ACTIVE to turn it on.',
            },
          ]),
    );
    if (props.tracing === lambda.Tracing.ACTIVE) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; AWS requires "*".',
      });
    }
  }

  /** The size the function's environment will have once deployed, every unresolved value at its longest. */
  public estimateEnvironment(): EnvironmentEstimate {
    const stack = Stack.of(this);
    const cfn = this.node.defaultChild as lambda.CfnFunction;
    const environment = stack.resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined;
    return estimateEnvironment(environment?.variables ?? {}, estimateContextOf(this));
  }
}
