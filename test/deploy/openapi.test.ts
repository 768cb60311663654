import { fileURLToPath } from 'node:url';
import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { printConfig } from '../support/packaged-stage';

const OPENAPI = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));

type Operation = { responses: Record<string, { headers?: object; content?: Record<string, unknown> }> };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** openapi.yaml with its $refs resolved, in the shape these tests read. */
const load = async () => (await dereference(OPENAPI)) as unknown as Document;

/** "GET /hello"-style keys of the routes serverless.yml declares. */
async function serverlessRoutes(): Promise<string[]> {
  const config = await printConfig<{
    functions: Record<string, { events: { httpApi?: { method: string; path: string } }[] }>;
  }>('local');
  return Object.values(config.functions)
    .flatMap((fn) => fn.events.flatMap((event) => (event.httpApi ? [event.httpApi] : [])))
    .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
    .sort();
}

describe('API description: openapi.yaml', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await validate(OPENAPI);
    expect(result.valid ? 'valid' : compileErrors(result)).toBe('valid');
    expect((await load()).openapi).toMatch(/^3\.1\./);
  });

  it('describes exactly the routes serverless.yml serves', async () => {
    const document = await load();
    const described = Object.entries(document.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(described).toEqual(await serverlessRoutes());
  });

  it("documents each route's plain-text 200 with Cache-Control, and the 503", async () => {
    const document = await load();
    for (const methods of Object.values(document.paths)) {
      for (const { responses } of Object.values(methods)) {
        for (const status of ['200', '503']) {
          expect(Object.keys(responses[status]?.content ?? {})).toEqual(['text/plain; charset=utf-8']);
          expect(responses[status]?.headers).toHaveProperty('Cache-Control');
        }
      }
    }
  });
});
