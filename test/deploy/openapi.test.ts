import { fileURLToPath } from 'node:url';
import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { found } from '../support/found';
import { printConfig } from '../support/packaged-stage';
import { type Stack, startStack } from '../support/stack';

const OPENAPI = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));

type Schema = { const?: string; pattern?: string; enum?: string[] };
type Media = { schema?: Schema; example?: string; examples?: Record<string, { value: string }> };
type Header = { schema?: Schema };
type Operation = { responses: Record<string, { headers?: Record<string, Header>; content?: Record<string, Media> }> };
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
    for (const methods of found(Object.values(document.paths), 'path')) {
      for (const { responses } of found(Object.values(methods), 'operation')) {
        for (const status of ['200', '503']) {
          expect(Object.keys(responses[status]?.content ?? {})).toEqual(['text/plain; charset=utf-8']);
          expect(responses[status]?.headers).toHaveProperty('Cache-Control');
        }
        // Whether a retry may count twice: the two values a 503 carries.
        expect(responses['503']?.headers?.['Write-Applied']?.schema?.enum).toEqual(['no', 'unknown']);
      }
    }
  });
});

/** The bodies a documented response names: its schema's const and its examples. */
const documentedBodies = ({ schema, example, examples }: Media) => [
  ...(schema?.const === undefined ? [] : [schema.const]),
  ...(example === undefined ? [] : [example]),
  ...Object.values(examples ?? {}).map(({ value }) => value),
];
const unique = (values: (string | null)[]) => [...new Set(values)].sort();

describe('API description: openapi.yaml against the answers of the running service', () => {
  let stack: Stack<'redis'>;
  /** Real answers by "GET /path status". */
  const answers = new Map<
    string,
    { body: string; contentType: string | null; cacheControl: string | null; writeApplied: string | null }[]
  >();

  beforeAll(async () => {
    stack = await startStack({ store: 'redis' });
    const ask = async (path: string) => {
      const { status, body, headers } = await stack.offline.get(path);
      const key = `GET ${path} ${status}`;
      const seen = {
        body,
        contentType: headers.get('content-type'),
        cacheControl: headers.get('cache-control'),
        writeApplied: headers.get('write-applied'),
      };
      answers.set(key, [...(answers.get(key) ?? []), seen]);
    };
    // Each answer the service gives: "Expired!" before any /hello, then 1, then 2; 503 without Redis.
    for (const path of ['/hello/again', '/hello', '/hello/again', '/health']) await ask(path);
    await stack.server.stop();
    for (const path of ['/hello', '/hello/again', '/health']) await ask(path);
    await stack.server.restart(); // the stack's inspector cannot quit while Redis is down
  });

  afterAll(() => stack?.stop());

  it("documents as each route's 200 and 503 exactly the bodies, content type and Cache-Control the service answers", async () => {
    const document = await load();
    const documented: string[] = [];
    for (const [path, methods] of found(Object.entries(document.paths), 'path')) {
      for (const [method, { responses }] of found(Object.entries(methods), `operation of ${path}`)) {
        for (const [status, response] of found(Object.entries(responses), `response of ${path}`)) {
          const key = `${method.toUpperCase()} ${path} ${status}`;
          documented.push(key);
          const real = found(answers.get(key) ?? [], `real answer ${key}`);
          const media = Object.values(response.content ?? {});
          expect({
            key,
            bodies: unique(media.flatMap(documentedBodies)),
            contentTypes: Object.keys(response.content ?? {}),
            cacheControl: response.headers?.['Cache-Control']?.schema?.const,
          }).toEqual({
            key,
            bodies: unique(real.map((answer) => answer.body)),
            contentTypes: unique(real.map((answer) => answer.contentType)),
            cacheControl: unique(real.map((answer) => answer.cacheControl)).join(),
          });
          // Write-Applied on every 503, with a documented value; on no 200.
          const writeApplied = response.headers?.['Write-Applied']?.schema?.enum;
          for (const answer of real) {
            if (writeApplied) expect(writeApplied, key).toContain(answer.writeApplied);
            else expect(answer.writeApplied, key).toBeNull();
          }
          for (const { schema } of media) {
            for (const { body } of real) if (schema?.pattern) expect(body, key).toMatch(new RegExp(schema.pattern));
          }
        }
      }
    }
    // And no answer the service gave is left undocumented.
    expect(documented.sort()).toEqual([...answers.keys()].sort());
  });
});
