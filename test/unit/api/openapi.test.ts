import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../../functions/api/openapi';
import { ROUTES } from '../../../functions/api/routes';

interface Media {
  schema?: unknown;
}
interface Operation {
  security?: unknown[];
  responses: Record<string, { content?: Record<string, Media> } | undefined>;
  parameters?: Array<{ name: string }>;
  requestBody?: { content: Record<string, Media> };
}
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, { type: string; scheme: string }>;
    schemas: Record<string, unknown>;
  };
};

describe('the generated OpenAPI document', () => {
  const document = buildOpenApiDocument() as unknown as Doc;

  it('is a valid OpenAPI 3.1 document', async () => {
    const validated = await SwaggerParser.validate(structuredClone(document) as never);
    expect((validated as { openapi?: string }).openapi).toBe('3.1.0');
  });

  it('lists exactly the routes the handler serves', () => {
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('secures every non-public route with the bearer scheme and documents its schemas', () => {
    const [schemeName, scheme] = Object.entries(document.components.securitySchemes)[0] ?? [];
    expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const route of ROUTES) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      if (route.public) continue;
      expect(operation?.security).toEqual([{ [schemeName as string]: [] }]);
      const success =
        operation?.responses['200'] ?? operation?.responses['201'] ?? operation?.responses['202'];
      expect(success?.content?.['application/json']?.schema).toBeDefined();
      expect(operation?.responses['401']?.content?.['application/json']?.schema).toEqual({
        $ref: '#/components/schemas/Error',
      });
    }
    expect(document.paths['/v1/runs']?.post?.requestBody?.content['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/CreateRunRequest',
    });
    const listParams = (document.paths['/v1/runs']?.get?.parameters ?? []).map((p) => p.name);
    expect(listParams).toEqual(expect.arrayContaining(['repo', 'status', 'kind', 'limit', 'next_token']));
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining([
        'Run',
        'RunSummary',
        'Stage',
        'Ledger',
        'Approval',
        'AuditEvent',
        'WorkItem',
        'Error',
      ]),
    );
  });
});
