/**
 * The console's API client against the server's OpenAPI document: every route the console
 * calls (console/src/api/client.ts `Routes`) must exist with that method. Needs no browser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOpenapi, clientRoutes } from '../../console/scripts/check-openapi.mjs';
import { startTestServer } from '../helpers/server.js';

test('every route the admin console calls is in /openapi.json with its method', async () => {
  const routes = clientRoutes();
  assert.ok(routes.length >= 20, `found the console's routes (${routes.length})`);
  const server = await startTestServer();
  try {
    const { checked, missing } = await checkOpenapi(server.url);
    assert.equal(checked.length, routes.length);
    assert.deepEqual(missing.map((r) => `${r.method} ${r.path}`), [], 'routes the console calls but the server does not document');
  } finally {
    await server.close();
  }
});
