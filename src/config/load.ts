import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { parseSecretKeys } from '../crypto/secret-box.js';
import { resolveDefaultProvider } from './default-provider.js';
import { configSchema, envNames, type ParsedConfig } from './schema.js';
import { describeUnknownVariable, unknownVariables, type UnknownVariable } from './unknown-variables.js';

/** The validated, frozen configuration the process runs with. */
export type Config = Readonly<
  Omit<ParsedConfig, 'adminKey' | 'secretKey'> & {
    adminKey: string;
    secretKey: string;
    /** True when a key was generated into (or read back from) the data folder in development. */
    generatedAdminKey: boolean;
    /**
     * `OTPGATE_*` variables set in the environment that are no setting (a typo, most likely):
     * refused in production, a warning at start otherwise.
     */
    unknownVariables: readonly UnknownVariable[];
  }
>;

/** Exit status of `otpgate serve`, `npm start` and every CLI command when the configuration is invalid. */
export const CONFIG_ERROR_EXIT_CODE = 2;

/**
 * Thrown when the configuration is invalid; `problems` lists every bad setting at once, each
 * as `<variable or file>: <what is wrong>`. No problem quotes a secret value.
 */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    problems = [...new Set(problems)];
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n(every setting: docs/configuration.md)`);
    this.problems = problems;
    this.name = 'ConfigError';
  }
}

/** Reads the environment into the schema's shape; empty strings count as unset. */
export function configInputFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const input: Record<string, string> = {};
  for (const [key, name] of Object.entries(envNames)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[key] = value;
  }
  return input;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path[0] as keyof ParsedConfig | undefined;
  const name = key && key in envNames ? envNames[key] : String(key ?? 'config');
  return `${name}: ${issue.message}`;
}

type Settings = { [K in keyof ParsedConfig]?: ParsedConfig[K] };

/**
 * The schema's problems, plus the value of every setting that is valid on its own, so that
 * the checks across settings still run (and report) when some other setting is bad.
 */
function parseSettings(input: Record<string, unknown>): { parsed?: ParsedConfig; settings: Settings; invalid: Set<PropertyKey>; problems: string[] } {
  const result = configSchema.safeParse(input);
  if (result.success) return { parsed: result.data, settings: result.data, invalid: new Set(), problems: [] };
  const settings: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const one = (schema as z.ZodType).safeParse(input[key]);
    if (one.success) settings[key] = one.data;
  }
  return {
    settings: settings as Settings,
    invalid: new Set(result.error.issues.map((i) => i.path[0]).filter((k) => k !== undefined)),
    problems: result.error.issues.map(describeIssue),
  };
}

/** What is wrong with a secret key spec, without the variable name parseSecretKeys starts with; never the key. */
function secretKeyProblem(spec: string): string | undefined {
  try {
    parseSecretKeys(spec);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^OTPGATE_SECRET_KEY:? /, '');
  }
}

/** A key file's trimmed content; undefined when it does not exist (or cannot be read: then a problem says so). */
function readKeyFile(file: string, problems: string[]): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.push(`${file}: cannot be read (${code ?? (err as Error).message})`);
    return undefined;
  }
}

/**
 * Writes a new key file unless one exists; `wx` so that two processes starting at once on
 * one data folder end up with the same key (the loser reads the winner's).
 */
function createKeyFile(file: string, make: () => string): string {
  const value = make();
  try {
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
}

/** How much longer than one provider call a dispatch lease must last (recording the attempt), ms. */
export const LEASE_MARGIN_MS = 500;

/**
 * Validates and freezes the configuration: the schema of every setting, the secret key's
 * format, the `Default` provider and its JSON, the production requirements and the key files
 * of the data folder, all in one pass, so that one ConfigError lists every problem.
 *
 * In development a missing admin key or secret key is read from the data folder
 * (`admin-key`, `secret-key`), or generated there once and reused on every later start; in
 * production both are required and the data folder is not consulted.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const { parsed, settings: s, invalid, problems } = parseSettings(configInputFromEnv(env));
  const given = (key: keyof ParsedConfig) => s[key] !== undefined || invalid.has(key);
  // A misspelt variable silently leaves its setting at the default: in production that default
  // (a port, a pool size, a retention) can be wrong in ways found only later, so it is refused.
  const unknown = unknownVariables(env);
  if (s.env === 'production') {
    for (const v of unknown) problems.push(`${v.name}: ${describeUnknownVariable(v).slice(v.name.length + 1)} (unknown variables are refused in production)`);
  }

  let adminKey = s.adminKey;
  let secretKey = s.secretKey;
  let secretKeySource: string = envNames.secretKey;
  const adminFile = s.dataDir !== undefined ? join(s.dataDir, 'admin-key') : undefined;
  const secretFile = s.dataDir !== undefined ? join(s.dataDir, 'secret-key') : undefined;
  if (s.env === 'production') {
    if (!given('adminKey') && !s.adminKeyDisabled) problems.push(`${envNames.adminKey}: required in production`);
    if (!given('secretKey')) problems.push(`${envNames.secretKey}: required in production`);
  } else if (s.env === 'development') {
    if (!given('adminKey') && adminFile && !s.adminKeyDisabled) {
      adminKey = readKeyFile(adminFile, problems);
      if (adminKey !== undefined && !configSchema.shape.adminKey.safeParse(adminKey).success) {
        problems.push(`${adminFile}: the admin key there is shorter than 24 characters (delete the file to have one generated, or set ${envNames.adminKey})`);
      }
    }
    if (!given('secretKey') && secretFile) {
      secretKey = readKeyFile(secretFile, problems);
      secretKeySource = secretFile;
    }
  }
  if (secretKey !== undefined) {
    const problem = secretKeyProblem(secretKey);
    if (problem) problems.push(`${secretKeySource}: ${problem}`);
  }
  // A claim is leased for one provider call: a lease that can run out during the call lets
  // another dispatcher send the same message again while this one is still waiting.
  if (!invalid.has('dispatchLeaseMs') && !invalid.has('providerTimeoutMs')) {
    const lease = s.dispatchLeaseMs ?? configSchema.shape.dispatchLeaseMs.parse(undefined);
    const timeout = s.providerTimeoutMs ?? configSchema.shape.providerTimeoutMs.parse(undefined);
    if (lease < timeout + LEASE_MARGIN_MS) {
      problems.push(`${envNames.dispatchLeaseMs}: must be at least ${envNames.providerTimeoutMs} + ${LEASE_MARGIN_MS} ms (${timeout + LEASE_MARGIN_MS}), else a lease can run out during a provider call and the message be sent twice`);
    }
  }
  // Single sign-on needs the issuer, the client and a public URL for its callback, or none of them.
  const oidc = (['oidcIssuer', 'oidcClientId', 'oidcClientSecret'] as const).filter((k) => given(k));
  if (oidc.length > 0) {
    for (const k of ['oidcIssuer', 'oidcClientId', 'oidcClientSecret'] as const) if (!given(k)) problems.push(`${envNames[k]}: required with ${oidc.map((o) => envNames[o]).join(' and ')} (single sign-on)`);
    if (!given('publicUrl')) problems.push(`${envNames.publicUrl}: required for single sign-on (the provider sends the user back to <public URL>/v1/auth/oidc/callback)`);
    if (!given('oidcAllowedDomains') && !given('oidcRoleMap')) problems.push(`${envNames.oidcAllowedDomains} or ${envNames.oidcRoleMap}: single sign-on needs one, else nobody new may sign in`);
    if (s.env === 'production' && typeof s.oidcIssuer === 'string' && !s.oidcIssuer.startsWith('https://')) problems.push(`${envNames.oidcIssuer}: must be https in production`);
  } else {
    for (const k of ['oidcAllowedDomains', 'oidcRoleMap', 'oidcDefaultRole'] as const) if (given(k)) problems.push(`${envNames[k]}: only with ${envNames.oidcIssuer} (single sign-on)`);
  }
  // With OTPGATE_ENV itself bad, the provider is still checked (the production-only rule is not).
  problems.push(...resolveDefaultProvider({ ...s, env: s.env ?? 'development' }).problems);
  if (problems.length > 0 || !parsed) throw new ConfigError(problems);

  try {
    // A turned-off admin key is never accepted: an unknowable random value stands in for it.
    if (!adminKey && parsed.adminKeyDisabled) adminKey = `adm_off_${randomBytes(24).toString('base64url')}`;
    if (!adminKey || !secretKey) mkdirSync(parsed.dataDir, { recursive: true });
    if (!adminKey && adminFile) adminKey = createKeyFile(adminFile, () => `adm_${randomBytes(24).toString('base64url')}`);
    if (!secretKey && secretFile) secretKey = createKeyFile(secretFile, () => randomBytes(32).toString('base64'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError([`${envNames.dataDir}: cannot write the generated keys into ${parsed.dataDir} (${e.code ?? e.message})`]);
  }
  if (!adminKey || !secretKey) throw new ConfigError(['the admin key or the secret key is missing']); // unreachable: production requires both
  return Object.freeze({ ...parsed, adminKey, secretKey, generatedAdminKey: parsed.adminKey === undefined && !parsed.adminKeyDisabled, unknownVariables: Object.freeze(unknown) });
}
