import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FactoryHttpApi } from '../../lib/constructs/api';

const app = new App();
const stack = new Stack(app, 'ApiTest');
const target = (id: string) =>
  new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
  });
const functions = { webhook: target('Webhook'), api: target('Rest'), approvals: target('Approvals') };
const api = new FactoryHttpApi(stack, 'Api', { functions, logRetentionDays: 30 });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as ReturnType<Template['findResources']>;
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

/** Route key → the logical id of the function its integration invokes. */
function routeTargets(): Record<string, string> {
  const integrations = Object.fromEntries(
    Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Integration')
      .map(([id, r]) => [id, r.Properties.IntegrationUri['Fn::GetAtt'][0] as string]),
  );
  return Object.fromEntries(
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => {
        const integrationId = (r.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
        return [r.Properties.RouteKey, integrations[integrationId.Ref] ?? 'none'];
      }),
  );
}

describe('FactoryHttpApi', () => {
  it('routes the webhook, the REST API and the approval links to their functions', () => {
    const webhook = idOf(functions.webhook);
    const rest = idOf(functions.api);
    const approvals = idOf(functions.approvals);
    expect(routeTargets()).toEqual({
      'POST /v1/webhooks/github': webhook,
      'GET /v1/runs': rest,
      'POST /v1/runs': rest,
      'GET /v1/runs/{id}': rest,
      'GET /v1/runs/{id}/events': rest,
      'GET /v1/runs/{id}/audit': rest,
      'POST /v1/runs/{id}/cancel': rest,
      'GET /v1/work-items/{owner}/{repo}/{issue}': rest,
      'GET /v1/costs': rest,
      'GET /v1/openapi.json': rest,
      'ANY /v1/{proxy+}': rest,
      'GET /approvals/{id}': approvals,
      'HEAD /approvals/{id}': approvals,
      'POST /approvals/{id}': approvals,
    });
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
    // One integration (and one invoke permission per route) per function.
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 3);
    template.resourceCountIs('AWS::Lambda::Permission', 14);
    // The embedded stack's /local/info (sample users' tokens) has no route on a deployment.
    expect(Object.keys(routeTargets()).filter((route) => route.includes('/local'))).toEqual([]);
  });

  it('throttles the stage, approvals harder, and auto-deploys one $default stage', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: {
        'GET /approvals/{id}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
        'HEAD /approvals/{id}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
        'POST /approvals/{id}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      },
    });
  });

  it('writes JSON access logs to a retained log group, without query strings', () => {
    const stage = Object.values(resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage')?.Properties;
    expect(stage.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [idOf(api.accessLogs), 'Arn'] });
    const format = JSON.parse(stage.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    // Approval links carry their signature in the query string: it must never reach the logs.
    expect(stage.AccessLogSettings.Format).not.toMatch(/querystring|\$context\.path|requestOverride/i);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('exposes the base URL (PUBLIC_BASE_URL) and the webhook URL', () => {
    expect(stack.resolve(api.url)).toEqual({ 'Fn::GetAtt': [idOf(api.httpApi), 'ApiEndpoint'] });
    expect(JSON.stringify(stack.resolve(api.webhookUrl))).toMatch(/"\/v1\/webhooks\/github"\]\]\}$/);
  });

  it('acknowledges only the in-handler authorization, route by route', () => {
    const findings = new AwsSolutionsChecks()
      .validateScope(app)
      .violations.filter((v) =>
        v.violatingResources.some((r) => r.constructPath?.startsWith('ApiTest/Api/')),
      );
    expect(findings).toEqual([]);
    // Control: an unacknowledged route of the same API is flagged for authorization.
    const control = new App();
    const controlStack = new Stack(control, 'Control');
    const controlApi = new FactoryHttpApi(controlStack, 'Api', {
      functions: {
        webhook: lambda.Function.fromFunctionArn(
          controlStack,
          'W',
          'arn:aws:lambda:eu-west-1:111122223333:function:w',
        ),
        api: lambda.Function.fromFunctionArn(
          controlStack,
          'A',
          'arn:aws:lambda:eu-west-1:111122223333:function:a',
        ),
        approvals: lambda.Function.fromFunctionArn(
          controlStack,
          'P',
          'arn:aws:lambda:eu-west-1:111122223333:function:p',
        ),
      },
      logRetentionDays: 30,
    });
    controlApi.httpApi.addRoutes({
      path: '/extra',
      integration: new HttpLambdaIntegration(
        'Extra',
        lambda.Function.fromFunctionArn(
          controlStack,
          'X',
          'arn:aws:lambda:eu-west-1:111122223333:function:x',
        ),
      ),
    });
    const rules = new AwsSolutionsChecks().validateScope(control).violations.map((v) => v.ruleName);
    expect(rules).toContain('AwsSolutions-APIG4');
  });
});
