import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FactoryFunction } from '../../lib/constructs/node-function';

// One small fixture, bundled once by the local esbuild (no Docker) for the whole file.
const app = new App();
const stack = new Stack(app, 'FunctionTest');
const hello = new FactoryFunction(stack, 'Hello', {
  entry: join(import.meta.dirname, 'fixtures/hello.ts'),
  logRetentionDays: 14,
  serviceName: 'hello',
  environment: { GREETING: 'hi' },
});
const template = Template.fromStack(stack);
const functionId = stack.getLogicalId(hello.fn.node.defaultChild as lambda.CfnFunction);
const logGroupId = stack.getLogicalId(hello.logGroup.node.defaultChild as never);
const roleId = stack.getLogicalId(hello.role.node.defaultChild as never);

describe('FactoryFunction', () => {
  it('runs nodejs22.x on ARM64 with an ESM bundle, X-Ray active and Powertools settings', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 10,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: 'hello',
          POWERTOOLS_METRICS_NAMESPACE: 'CodeFactory',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
          GREETING: 'hi',
        },
      },
    });
  });

  it('writes to its own log group with the configured retention', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });

  it('has a role without managed policies that may only write its logs and traces', () => {
    const role = template.toJSON().Resources[roleId].Properties;
    expect(role.ManagedPolicyArns).toBeUndefined();
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) => {
      expect(policy.Properties.Roles).toEqual([{ Ref: roleId }]);
      return policy.Properties.PolicyDocument.Statement as { Action: string[]; Resource: unknown }[];
    });
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
        }),
        expect.objectContaining({
          Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          Resource: '*',
        }),
      ]),
    );
    expect(statements).toHaveLength(2);
    // The function is created only once the role may write logs and traces.
    const tracingPolicyId = stack.getLogicalId(
      hello.node.findChild('TracingPolicy').node.defaultChild as never,
    );
    template.hasResource('AWS::Lambda::Function', { DependsOn: Match.arrayWith([tracingPolicyId]) });
  });

  it('passes cdk-nag with only the runtime pin and the X-Ray wildcard acknowledged', () => {
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);

    // Control: a plain Lambda function with the same runtime and tracing is flagged for them.
    const control = new App();
    new lambda.Function(new Stack(control, 'Control'), 'Plain', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => 1;'),
      tracing: lambda.Tracing.ACTIVE,
    });
    const rules = new AwsSolutionsChecks().validateScope(control).violations.map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-L1', 'AwsSolutions-IAM5[Resource::*]']));
  });

  it('produces a small bundle that runs as ESM, CommonJS dependencies included', () => {
    const assembly = app.synth();
    const code = template.toJSON().Resources[functionId].Properties.Code;
    const assetDir = join(assembly.directory, `asset.${String(code.S3Key).replace(/\.zip$/, '')}`);
    const bundle = join(assetDir, 'index.mjs');
    expect(statSync(bundle).size).toBeLessThan(10_000);
    expect(readFileSync(bundle, 'utf8')).toMatch(
      /^import \{ createRequire as \w+ \} from 'node:module'; const require = \w+\(import\.meta\.url\);/,
    );
    // The bundle is the whole asset: no source map riding along.
    expect(readdirSync(assetDir)).toEqual(['index.mjs']);

    const script = `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)});
      process.stdout.write(JSON.stringify(await m.handler({ name: 'factory' })));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    const expectedDigest = createHash('sha256').update('factory').digest('hex');
    expect(JSON.parse(output)).toEqual({
      statusCode: 200,
      body: JSON.stringify({ hello: 'factory', digest: expectedDigest }),
    });
  });
});
