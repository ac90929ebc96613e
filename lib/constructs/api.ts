import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

type Target = 'webhook' | 'api' | 'approvals';

/** Every route of the HTTP API and the function that serves it (SPEC §3). */
export const ROUTES: ReadonlyArray<{ method: apigwv2.HttpMethod; path: string; target: Target }> = [
  { method: apigwv2.HttpMethod.POST, path: '/v1/webhooks/github', target: 'webhook' },
  { method: apigwv2.HttpMethod.GET, path: '/v1/runs', target: 'api' },
  { method: apigwv2.HttpMethod.POST, path: '/v1/runs', target: 'api' },
  { method: apigwv2.HttpMethod.GET, path: '/v1/runs/{id}', target: 'api' },
  { method: apigwv2.HttpMethod.GET, path: '/v1/runs/{id}/events', target: 'api' },
  { method: apigwv2.HttpMethod.GET, path: '/v1/runs/{id}/audit', target: 'api' },
  { method: apigwv2.HttpMethod.POST, path: '/v1/runs/{id}/cancel', target: 'api' },
  { method: apigwv2.HttpMethod.GET, path: '/v1/work-items/{owner}/{repo}/{issue}', target: 'api' },
  { method: apigwv2.HttpMethod.GET, path: '/v1/costs', target: 'api' },
  { method: apigwv2.HttpMethod.GET, path: '/v1/openapi.json', target: 'api' },
  // Everything else under /v1 reaches the API handler too (the explicit routes win), so a wrong
  // method or an unknown path gets its 405 / 404 in the error envelope with X-Request-Id.
  { method: apigwv2.HttpMethod.ANY, path: '/v1/{proxy+}', target: 'api' },
  { method: apigwv2.HttpMethod.GET, path: '/approvals/{id}', target: 'approvals' },
  { method: apigwv2.HttpMethod.HEAD, path: '/approvals/{id}', target: 'approvals' },
  { method: apigwv2.HttpMethod.POST, path: '/approvals/{id}', target: 'approvals' },
];

/** Requests per second (steady, burst) for the whole stage: GitHub bursts on busy repositories. */
export const DEFAULT_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;
/** Approval pages are clicked by people: a much lower cap blunts link guessing and scanners. */
export const APPROVALS_THROTTLE = { rateLimit: 5, burstLimit: 10 } as const;

/** Why each route has no API Gateway authorizer (cdk-nag AwsSolutions-APIG4). */
const AUTHORIZATION_IN_HANDLER: Record<Target, string> = {
  webhook:
    'GitHub cannot send API Gateway credentials: the handler verifies X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the webhook secret) in constant time before parsing anything.',
  api: 'Authenticated in the handler with scoped API keys (Authorization: Bearer), stored only as hashes in the table and limited to repository patterns (SPEC §3).',
  approvals:
    'Approvers follow emailed links: each carries an HMAC over approval id, run, approver and expiry, verified in the handler; single use, expiring, and GET never decides.',
};

export interface FactoryHttpApiProps {
  functions: Record<Target, lambda.IFunction>;
  logRetentionDays: number;
}

/**
 * The HTTP API (API Gateway v2): the GitHub webhook, the /v1 REST API and the approval links,
 * each an explicit route to its function. One `$default` stage, auto-deployed, throttled, with
 * JSON access logs that never include query strings (approval links carry signatures there).
 */
export class FactoryHttpApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** The API's base URL, no trailing slash: PUBLIC_BASE_URL of the functions. */
  readonly url: string;
  readonly webhookUrl: string;

  constructor(scope: Construct, id: string, props: FactoryHttpApiProps) {
    super(scope, id);
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'Code Factory: GitHub webhooks, REST API, approval links',
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: DEFAULT_THROTTLE,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            userAgent: '$context.identity.userAgent',
          }),
        ),
      },
    });

    const integrations = new Map<Target, HttpLambdaIntegration>();
    for (const route of ROUTES) {
      let integration = integrations.get(route.target);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${route.target}Integration`, props.functions[route.target]);
        integrations.set(route.target, integration);
      }
      for (const created of this.httpApi.addRoutes({
        path: route.path,
        methods: [route.method],
        integration,
      })) {
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: AUTHORIZATION_IN_HANDLER[route.target],
        });
      }
    }

    const cfnStage = this.stage.node.defaultChild as apigwv2.CfnStage;
    cfnStage.routeSettings = Object.fromEntries(
      ROUTES.filter((route) => route.target === 'approvals').map((route) => [
        `${route.method} ${route.path}`,
        // RouteSettings is a JSON map in CloudFormation: its keys are passed through as written.
        {
          ThrottlingRateLimit: APPROVALS_THROTTLE.rateLimit,
          ThrottlingBurstLimit: APPROVALS_THROTTLE.burstLimit,
        },
      ]),
    );

    this.url = this.httpApi.apiEndpoint;
    this.webhookUrl = `${this.url}/v1/webhooks/github`;
  }
}
