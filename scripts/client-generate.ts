/**
 * Regenerates clients/typescript/src/schema.d.ts from the OpenAPI document a real otpgate
 * serves at /openapi.json (usage: npm run client:generate). test/client/typescript-client.test.ts
 * fails when the committed file differs from what this produces.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

export const CLIENT_SCHEMA_PATH = fileURLToPath(new URL('../clients/typescript/src/schema.d.ts', import.meta.url));

const HEADER = `/**
 * GENERATED from otpgate's /openapi.json by openapi-typescript: do not edit.
 * Regenerate with \`npm run client:generate\` (at the repository root) after changing a route.
 */

`;

/** The TypeScript types of an OpenAPI document, as committed in the client. */
export async function renderClientSchema(document: unknown): Promise<string> {
  const ast = await openapiTS(document as Parameters<typeof openapiTS>[0], { silent: true });
  return HEADER + astToString(ast);
}

/** Fetches the document from a running otpgate. */
export async function fetchOpenApiDocument(baseUrl: string): Promise<unknown> {
  const res = await fetch(`${baseUrl}/openapi.json`);
  if (!res.ok) throw new Error(`GET /openapi.json answered ${res.status}`);
  return res.json();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // A throwaway server (SQLite in a temp folder): the document depends on the routes only.
  const { startTestServer } = await import('../test/helpers/server.js');
  const server = await startTestServer();
  try {
    writeFileSync(CLIENT_SCHEMA_PATH, await renderClientSchema(await fetchOpenApiDocument(server.url)));
    console.log(`wrote ${CLIENT_SCHEMA_PATH}`);
  } finally {
    await server.close();
  }
}
