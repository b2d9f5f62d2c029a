/**
 * The console's API client against the server's OpenAPI document: every route the console
 * calls (console/src/api/client.ts `Routes`) must exist with that method, and the query
 * parameters and request-body fields its types declare must be ones the server's request
 * schemas take. Needs no browser. (console.test.ts also checks every request the console
 * actually sends during the browser run.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOpenapi, checkRequest, clientRequestTypes, clientRoutes, compareTypes } from '../../console/scripts/check-openapi.mjs';
import { startTestServer } from '../helpers/server.js';

test('every route the admin console calls is in /openapi.json with its method, query parameters and body fields', async () => {
  const routes = clientRoutes();
  assert.ok(routes.length >= 20, `found the console's routes (${routes.length})`);
  const server = await startTestServer();
  try {
    const types = await clientRequestTypes();
    assert.equal(types.size, routes.length, 'the TypeScript checker read every route of Routes');
    const { checked, missing, problems, spec } = await checkOpenapi(server.url, { types });
    assert.equal(checked.length, routes.length);
    assert.deepEqual(missing.map((r) => `${r.method} ${r.path}`), [], 'routes the console calls but the server does not document');
    assert.deepEqual(problems, [], 'query parameters or body fields of the console that the server does not take');

    // The comparison has teeth: a document that no longer takes a field the console sends fails.
    const strip = structuredClone(spec) as any;
    delete strip.paths['/v1/tenants/{id}/api-keys'].post.requestBody.content['application/json'].schema.properties.name;
    strip.paths['/v1/stats'].get.parameters = strip.paths['/v1/stats'].get.parameters.filter((p: { name: string }) => p.name !== 'window');
    const status = strip.paths['/v1/messages'].get.parameters.find((p: { name: string }) => p.name === 'status');
    status.schema.enum = status.schema.enum.filter((v: string) => v !== 'undelivered');
    const sms = strip.paths['/v1/sms-provider/test'].post.requestBody.content['application/json'].schema;
    sms.required = [...sms.required, 'dry_run'];
    const found = compareTypes(strip, types).join('\n');
    assert.match(found, /POST \/v1\/tenants\/\{id\}\/api-keys body\.name: the console sends this body field, the server does not accept it/);
    assert.match(found, /GET \/v1\/stats \?window: the console sends this query parameter, the server does not take it/);
    assert.match(found, /GET \/v1\/messages \?status: the console may send undelivered/);
    assert.match(found, /POST \/v1\/sms-provider\/test body\.dry_run: the server requires this body field/);

    // And one request as sent, checked on its own.
    assert.deepEqual(checkRequest(spec, { method: 'POST', url: '/v1/tenants', body: { name: 'x' } }), []);
    assert.deepEqual(checkRequest(spec, { method: 'POST', url: '/v1/tenants', body: { name: 'x', colour: 'red' } }), ['POST /v1/tenants body.colour: a field the server does not accept']);
    assert.deepEqual(checkRequest(spec, { method: 'GET', url: '/v1/messages?limit=25&state=failed' }), ['GET /v1/messages ?state: not a query parameter of this operation']);
  } finally {
    await server.close();
  }
});
