import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ConfigError, withoutDefaults, type CallVaultConfig } from '#contract/config.ts';
import { ENV } from '#contract/resources.ts';
import { DEFAULT_FUNCTION_LOG_RETENTION, logRetentionFor } from './protection.ts';
import {
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  estimateContextOf,
  estimateEnvironment,
  type EnvironmentEstimate,
} from './function-environment.ts';

/** The five Lambda functions; each one's entry is `functions/{name}/index.ts`, which exports `handler`. */
export type FunctionName = 'ingest' | 'media' | 'insight' | 'silence' | 'reconcile';

/** The repository root: entries, the lock file and tsconfig are resolved from here, whatever the cwd. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A function's Lambda entry: index.ts builds its dependencies (deps.ts) and exports the handler. */
export const entryOf = (name: FunctionName): string => fileURLToPath(new URL(`../../functions/${name}/index.ts`, import.meta.url));

/** Bundled ESM still meets CommonJS dependencies that call `require`: give them one. */
const REQUIRE_BANNER =
  "import { createRequire as __cvCreateRequire } from 'node:module'; const require = __cvCreateRequire(import.meta.url);";

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
  /** The validated deployment config, passed to the handler as `CALLVAULT_CONFIG` without its defaults. */
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

  constructor(scope: Construct, id: string, props: CallVaultFunctionProps) {
    // As the user would write it, defaults left out: parseConfig puts them back at cold start.
    const configJson = JSON.stringify(withoutDefaults(props.config));
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
        [ENV.config]: configJson,
      },
      bundling: {
        ...BUNDLING,
        mainFields: [...BUNDLING.mainFields],
        bundleAwsSDK: true,
        forceDockerBundling: false,
      },
    });
    this.executionRole = role;
    logGroup.grantWrite(role);
    // A safety net for variables added after the stack's own check (assertEnvironmentFits).
    this.node.addValidation({
      validate: () => {
        const problem = this.environmentProblem();
        return problem ? [problem] : [];
      },
    });

    Validations.of(this).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'No asynchronous invocations: the API invokes it synchronously and SQS through an event source mapping, whose failures go to the queue redrive DLQ.',
      },
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

  /** Throws a ConfigError naming the function, its estimated size and what to shorten when the environment would not fit Lambda's 4 KB. */
  public assertEnvironmentFits(): void {
    const problem = this.environmentProblem();
    if (problem) throw new ConfigError(`Invalid CallVault config:\n  - callvault: ${problem}`);
  }

  private environmentProblem(): string | undefined {
    const estimate = this.estimateEnvironment();
    if (estimate.bytes < LAMBDA_ENVIRONMENT_LIMIT_BYTES) return undefined;
    const largest = estimate.variables
      .slice(0, 3)
      .map((v) => `${v.name} ${v.bytes} B`)
      .join(', ');
    return (
      `the environment of the ${this.node.path} function would be about ${estimate.bytes} bytes once deployed, and Lambda allows under ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} (largest: ${largest}). ` +
      'Shorten what it carries: card templates and CRM mappings (CALLVAULT_CONFIG), source ids (WEBHOOK_SECRETS, HIPCALL_API_SECRETS) or the stack name; or split the sources across two stacks.'
    );
  }
}
