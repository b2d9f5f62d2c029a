#!/usr/bin/env node
/**
 * Checks the console's API client against a running otpgate's /openapi.json:
 *
 * 1. every route the client calls (the `'METHOD /path'` keys of `Routes` in src/api/client.ts)
 *    exists in the document with that method;
 * 2. every query parameter the client's types declare for a route (`Routes[K]['query']`) is a
 *    query parameter of that operation, with string-literal values inside its `enum`;
 * 3. every field of the request body the client's types declare (`Routes[K]['body']`, nested
 *    objects too, wherever the server's schema lists properties) is accepted by the operation's
 *    request-body schema: a field the server does not know is refused by it
 *    (`additionalProperties: false`), so it is reported here first. Fields the server requires
 *    must be required in the client's type too.
 *
 * The client's types are read with the TypeScript compiler (the checker resolves `ListQuery &
 * {…}`, `extends`, optional and index-signature members). Response schemas are not compared:
 * the server documents almost none (see console/README.md).
 *
 *   node console/scripts/check-openapi.mjs http://127.0.0.1:8080
 *
 * Exits 0 when everything matches, 1 on mismatches (each listed), 2 on usage or fetch errors.
 * Also importable: `checkOpenapi(baseUrl)` resolves to `{ checked, missing, problems, spec }`;
 * `checkRequest(spec, request)` checks one request the console actually sent (the browser test
 * records them all and checks each).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CONSOLE = join(here, '..');
const CLIENT = join(CONSOLE, 'src', 'api', 'client.ts');
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The routes the client calls, read from the `Routes` interface of client.ts. */
export function clientRoutes(source = readFileSync(CLIENT, 'utf8')) {
  const start = source.indexOf('export interface Routes');
  if (start < 0) throw new Error(`no "export interface Routes" in ${CLIENT}`);
  const body = source.slice(start, source.indexOf('\n}', start));
  const routes = [];
  for (const m of body.matchAll(/^\s*'([A-Z]+) (\/[^']*)'\s*:/gm)) {
    const [, method, path] = m;
    if (!METHODS.includes(method)) throw new Error(`unknown method ${method} in ${m[0].trim()}`);
    routes.push({ method, path });
  }
  if (routes.length === 0) throw new Error(`no routes found in ${CLIENT}`);
  return routes;
}

/** `{id}` and `:id` spell the same parameter; compare paths with parameter names erased. */
function shape(path) {
  return path
    .replace(/\/+$/, '')
    .replace(/\{[^}]+\}/g, '{}')
    .replace(/:[A-Za-z0-9_]+/g, '{}');
}

// --- the client's request types, through the TypeScript checker ------------------------------

/**
 * A type as the checks need it:
 * `{ kind: 'object', props: Map<name, { optional, type }>, open }` (open: has an index signature),
 * `{ kind: 'enum', values }` (a union of string literals), or `{ kind: 'other' }`.
 * `null` for `never` (the route sends no query or no body).
 */
function describeType(ts, checker, type, depth = 0) {
  if (type.flags & ts.TypeFlags.Never) return null;
  let t = type;
  if (t.isUnion()) {
    const parts = t.types.filter((x) => !(x.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    if (parts.length > 0 && parts.every((x) => x.isStringLiteral())) return { kind: 'enum', values: parts.map((x) => x.value) };
    if (parts.every((x) => x.flags & ts.TypeFlags.BooleanLiteral)) return { kind: 'other' };
    if (parts.length === 1) t = parts[0];
    else if (parts.every((x) => x.flags & ts.TypeFlags.Object || x.isIntersection())) {
      // A union of object types: any field of any member may be sent.
      // A union of object types: any field of any member may be sent; one that some member
      // lacks or makes optional is optional.
      const merged = { kind: 'object', props: new Map(), open: false };
      const members = parts.map((p) => describeType(ts, checker, p, depth)).filter((d) => d?.kind === 'object');
      for (const d of members) {
        merged.open ||= d.open;
        for (const [k, v] of d.props) {
          const inAll = members.every((m) => m.props.has(k) && !m.props.get(k).optional);
          if (!merged.props.has(k)) merged.props.set(k, { ...v, optional: !inAll });
        }
      }
      return merged;
    } else return { kind: 'other' };
  }
  if (t.isStringLiteral()) return { kind: 'enum', values: [t.value] };
  const isObject = (t.flags & ts.TypeFlags.Object || t.isIntersection()) && !checker.isArrayType(t) && !checker.isTupleType(t);
  if (!isObject || depth > 5) return { kind: 'other' };
  const props = new Map();
  for (const sym of checker.getPropertiesOfType(t)) {
    const decl = sym.valueDeclaration ?? sym.declarations?.[0];
    const propType = decl ? checker.getTypeOfSymbolAtLocation(sym, decl) : checker.getTypeOfSymbol(sym);
    props.set(sym.name, { optional: (sym.flags & ts.SymbolFlags.Optional) !== 0, type: describeType(ts, checker, propType, depth + 1) });
  }
  const open = checker.getIndexInfosOfType(t).length > 0;
  return { kind: 'object', props, open };
}

/** `'METHOD /path'` → `{ query, body }` described from the `Routes` interface of client.ts. */
export async function clientRequestTypes() {
  const ts = (await import('typescript')).default;
  const configPath = join(CONSOLE, 'tsconfig.json');
  const cfg = ts.readConfigFile(configPath, ts.sys.readFile);
  if (cfg.error) throw new Error(`cannot read ${configPath}: ${ts.flattenDiagnosticMessageText(cfg.error.messageText, '\n')}`);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, CONSOLE);
  // Only the API client and its types: no DOM or Vite types are needed to read them.
  const program = ts.createProgram([CLIENT], { ...parsed.options, types: [], noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(CLIENT);
  if (!source) throw new Error(`TypeScript could not read ${CLIENT}`);
  let routes;
  ts.forEachChild(source, (node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'Routes') routes = node;
  });
  if (!routes) throw new Error(`no interface Routes in ${CLIENT}`);
  const out = new Map();
  for (const member of routes.members) {
    if (!ts.isPropertySignature(member) || !member.type || !ts.isStringLiteral(member.name)) continue;
    const entry = checker.getTypeFromTypeNode(member.type);
    const part = (name) => {
      const sym = checker.getPropertyOfType(entry, name);
      if (!sym) throw new Error(`${member.name.text}: no "${name}" in its Routes entry`);
      return describeType(ts, checker, checker.getTypeOfSymbolAtLocation(sym, member));
    };
    out.set(member.name.text, { query: part('query'), body: part('body') });
  }
  return out;
}

// --- the server's request schemas ------------------------------------------------------------

/** The branches of a schema (anyOf / oneOf / allOf flattened), each an object schema or not. */
function branches(schema) {
  if (!schema || typeof schema !== 'object') return [];
  const nested = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])];
  const own = schema.properties || schema.type === 'object' || 'additionalProperties' in schema ? [schema] : [];
  return [...own, ...nested.flatMap(branches)];
}

/** What an object schema accepts: its listed properties, whether others are allowed, what is required. */
function objectSchema(schema) {
  const bs = branches(schema);
  if (bs.length === 0) return null;
  const properties = new Map();
  for (const b of bs) for (const [k, v] of Object.entries(b.properties ?? {})) if (!properties.has(k)) properties.set(k, v);
  // Closed only when no branch lets unknown fields through.
  const closed = bs.every((b) => b.additionalProperties === false);
  // Required by every branch (with alternatives, a field one branch requires may be absent).
  const required = bs.length === 1 ? new Set(bs[0].required ?? []) : new Set();
  return { properties, closed, required };
}

function enumOf(schema) {
  for (const b of [schema, ...(schema?.anyOf ?? []), ...(schema?.oneOf ?? [])]) if (Array.isArray(b?.enum)) return b.enum;
  return null;
}

/** Client body type vs server body schema; problems as sentences. */
function compareBody(where, type, schema, problems) {
  if (!type || type.kind !== 'object') return;
  const obj = objectSchema(schema);
  if (!obj) return;
  for (const [name, prop] of type.props) {
    const s = obj.properties.get(name);
    if (!s) {
      if (obj.closed) problems.push(`${where}.${name}: the console sends this body field, the server does not accept it`);
      continue;
    }
    if (prop.type?.kind === 'enum') {
      const allowed = enumOf(s);
      const bad = allowed ? prop.type.values.filter((v) => !allowed.includes(v)) : [];
      if (bad.length) problems.push(`${where}.${name}: the console may send ${bad.map((v) => JSON.stringify(v)).join(', ')}, the server accepts only ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
    }
    if (prop.type?.kind === 'object') compareBody(`${where}.${name}`, prop.type, s, problems);
  }
  if (type.open && obj.closed) problems.push(`${where}: the console's type allows any field (index signature), the server accepts only ${[...obj.properties.keys()].join(', ')}`);
  for (const name of obj.required) {
    const prop = type.props.get(name);
    if (!prop) problems.push(`${where}.${name}: the server requires this body field, the console's type does not have it`);
    else if (prop.optional) problems.push(`${where}.${name}: the server requires this body field, the console's type makes it optional`);
  }
}

/** Whether a document path (`/v1/messages/{id}`) matches a path: a template or a concrete one. */
function pathMatches(template, path) {
  const t = shape(template).split('/');
  const p = shape(path).split('/');
  return t.length === p.length && t.every((seg, i) => seg === p[i] || (seg === '{}' && p[i] !== ''));
}

/** The operation for a method and path; a literal path segment wins over a parameter. */
function operationOf(spec, method, path) {
  const candidates = Object.entries(spec.paths ?? {})
    .filter(([p, item]) => pathMatches(p, path) && item?.[method.toLowerCase()])
    .sort(([a], [b]) => (shape(a).match(/\{\}/g)?.length ?? 0) - (shape(b).match(/\{\}/g)?.length ?? 0));
  return candidates[0]?.[1][method.toLowerCase()] ?? null;
}

function queryParams(op) {
  return new Map((op.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p]));
}

function bodySchema(op) {
  return op.requestBody?.content?.['application/json']?.schema ?? null;
}

/** The client's declared query and body types for each route against the document. */
export function compareTypes(spec, types) {
  const problems = [];
  for (const [route, { query, body }] of types) {
    const space = route.indexOf(' ');
    const op = operationOf(spec, route.slice(0, space), route.slice(space + 1));
    if (!op) continue; // reported as missing
    const params = queryParams(op);
    if (query?.kind === 'object') {
      for (const [name, prop] of query.props) {
        const p = params.get(name);
        if (!p) {
          problems.push(`${route} ?${name}: the console sends this query parameter, the server does not take it`);
          continue;
        }
        const allowed = enumOf(p.schema);
        if (allowed && prop.type?.kind === 'enum') {
          const bad = prop.type.values.filter((v) => !allowed.includes(v));
          if (bad.length) problems.push(`${route} ?${name}: the console may send ${bad.join(', ')}, the server accepts only ${allowed.join(', ')}`);
        }
      }
      if (query.open) problems.push(`${route}: the console's query type allows any parameter (index signature)`);
    }
    for (const [name, p] of params) if (p.required && !(query?.kind === 'object' && query.props.has(name) && !query.props.get(name).optional)) problems.push(`${route} ?${name}: the server requires this query parameter, the console's type does not always send it`);
    const schema = bodySchema(op);
    if (body && !schema) problems.push(`${route}: the console sends a body, the server documents none`);
    if (body && schema) compareBody(`${route} body`, body, schema, problems);
    if (!body && schema && op.requestBody?.required) problems.push(`${route}: the server requires a body, the console's type sends none`);
  }
  return problems;
}

/**
 * One request as the console sent it (method, path with its query string, parsed JSON body)
 * against the document: the route must exist, and every query parameter and body field must be
 * one the server takes, with values inside a documented `enum` and integer range.
 */
export function checkRequest(spec, { method, url, body }) {
  const u = new URL(url, 'http://x');
  const op = operationOf(spec, method, u.pathname);
  const where = `${method} ${u.pathname}`;
  if (!op) return [`${where}: not in the document`];
  const problems = [];
  const params = queryParams(op);
  for (const [name, value] of u.searchParams) {
    const p = params.get(name);
    if (!p) {
      problems.push(`${where} ?${name}: not a query parameter of this operation`);
      continue;
    }
    const allowed = enumOf(p.schema);
    if (allowed && !allowed.includes(value)) problems.push(`${where} ?${name}=${value}: not one of ${allowed.join(', ')}`);
    if (p.schema?.type === 'integer') {
      const n = Number(value);
      if (!Number.isInteger(n) || (p.schema.minimum !== undefined && n < p.schema.minimum) || (p.schema.maximum !== undefined && n > p.schema.maximum)) {
        problems.push(`${where} ?${name}=${value}: not an integer in ${p.schema.minimum ?? '-∞'}…${p.schema.maximum ?? '∞'}`);
      }
    }
  }
  const schema = bodySchema(op);
  if (body !== undefined) {
    if (!schema) problems.push(`${where}: sends a body, the server documents none`);
    else checkValue(`${where} body`, body, schema, problems);
  }
  return problems;
}

function checkValue(where, value, schema, problems) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const allowed = enumOf(schema);
    if (allowed && !allowed.includes(value)) problems.push(`${where}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
    return;
  }
  const obj = objectSchema(schema);
  if (!obj) return;
  for (const [k, v] of Object.entries(value)) {
    const s = obj.properties.get(k);
    if (!s) {
      if (obj.closed) problems.push(`${where}.${k}: a field the server does not accept`);
      continue;
    }
    checkValue(`${where}.${k}`, v, s, problems);
  }
  for (const k of obj.required) if (!(k in value)) problems.push(`${where}.${k}: required by the server, not sent`);
}

export async function fetchSpec(baseUrl, opts = {}) {
  const url = new URL('/openapi.json', baseUrl);
  const res = await (opts.fetch ?? fetch)(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

export async function checkOpenapi(baseUrl, opts = {}) {
  const spec = await fetchSpec(baseUrl, opts);
  const available = new Map();
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    const methods = Object.keys(item ?? {}).map((k) => k.toUpperCase()).filter((k) => METHODS.includes(k));
    const key = shape(path);
    available.set(key, new Set([...(available.get(key) ?? []), ...methods]));
  }
  const checked = clientRoutes();
  const missing = checked.filter((r) => !available.get(shape(r.path))?.has(r.method));
  const problems = compareTypes(spec, opts.types ?? (await clientRequestTypes()));
  return { checked, missing, problems, spec };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const base = process.argv[2] ?? process.env.OTPGATE_URL;
  if (!base) {
    console.error('usage: node console/scripts/check-openapi.mjs <otpgate base URL>   (or set OTPGATE_URL)');
    process.exit(2);
  }
  try {
    const { checked, missing, problems } = await checkOpenapi(base);
    for (const r of checked) {
      const bad = missing.includes(r);
      console.log(`${bad ? 'MISSING' : 'ok     '} ${r.method} ${r.path}`);
    }
    for (const p of problems) console.log(`MISMATCH ${p}`);
    if (missing.length > 0 || problems.length > 0) {
      if (missing.length) console.error(`\n${missing.length} of ${checked.length} routes the console calls are not in ${base}/openapi.json`);
      if (problems.length) console.error(`${problems.length} query parameters or body fields of the console's types do not match the server's request schemas`);
      process.exit(1);
    }
    console.log(`\nall ${checked.length} routes the console calls are in the server's OpenAPI document, with the query parameters and body fields it takes`);
  } catch (err) {
    console.error(`check-openapi: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
}
