import { Duration, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface FactoryFunctionProps {
  /** Absolute path of the handler module (functions/<name>/handler.ts). */
  entry: string;
  /** Exported handler name. */
  handler?: string;
  description?: string;
  /** MB; default 256. */
  memorySize?: number;
  /** Default 10 s. */
  timeout?: Duration;
  environment?: Record<string, string>;
  /** Days; one of the CloudWatch Logs retention values (validated in lib/config.ts). */
  logRetentionDays: number;
  /** POWERTOOLS_SERVICE_NAME; default `code-factory`. */
  serviceName?: string;
  /**
   * Bundle the AWS SDK v3 (the version tested) instead of using the one in the Lambda runtime.
   * Default false: the runtime's SDK keeps bundles small (webhook ≤ 300 KB).
   */
  bundleAwsSdk?: boolean;
  reservedConcurrentExecutions?: number;
  /** /tmp in MB (512 to 10,240); default Lambda's 512. */
  ephemeralStorageMb?: number;
  /** Attach to these subnets (the role must let Lambda manage the network interfaces). */
  vpc?: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroups: ec2.ISecurityGroup[] };
}

/** ESM bundles have no `require`; CommonJS dependencies bundled inside still call it. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __factoryCreateRequire } from 'node:module'; const require = __factoryCreateRequire(import.meta.url);";

export const POWERTOOLS_METRICS_NAMESPACE = 'CodeFactory';

/**
 * Every Code Factory Lambda: nodejs22.x on ARM64, an ESM bundle built by the local esbuild (never
 * Docker), minified (no source map), X-Ray active, Powertools configured through the environment,
 * and its own log group with the configured retention. The role has no AWS managed policy: it may
 * write to its own log group and send traces, nothing else until a construct grants more.
 */
export class FactoryFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FactoryFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Code Factory ${id} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      ...(props.ephemeralStorageMb ? { ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMb) } : {}),
      ...(props.vpc
        ? { vpc: props.vpc.vpc, vpcSubnets: props.vpc.subnets, securityGroups: props.vpc.securityGroups }
        : {}),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'code-factory',
        POWERTOOLS_METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_LOGGER_LOG_EVENT: 'false',
        // Responses may carry repository content: keep them out of traces.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        // No source map in the asset: it would more than double each asset (the webhook's past
        // its 300 KB), and errors are logged by name and message, which minifying keeps.
        sourceMap: false,
        externalModules: props.bundleAwsSdk ? [] : ['@aws-sdk/*'],
        forceDockerBundling: false,
      },
    });

    // Tracing is switched on at the CloudFormation level instead of with `tracing: ACTIVE`, which
    // would put the X-Ray `Resource: *` statement into the role's default policy, where
    // acknowledging it would also hide any later wildcard grant. Here it lives in its own policy.
    (this.fn.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: lambda.Tracing.ACTIVE };
    const tracing = new iam.Policy(this, 'TracingPolicy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          resources: ['*'],
        }),
      ],
    });
    this.fn.node.addDependency(tracing);
    Validations.of(tracing).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; AWS requires "*".',
    });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'SPEC pins nodejs22.x (bundles target node22 and the code is tested on Node 20/22); a runtime upgrade is a deliberate change.',
    });
  }
}
