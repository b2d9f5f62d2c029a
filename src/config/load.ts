import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { configSchema, envNames, type ParsedConfig } from './schema.js';

/** The validated, frozen configuration the process runs with. */
export type Config = Readonly<
  Omit<ParsedConfig, 'adminKey' | 'secretKey'> & {
    adminKey: string;
    secretKey: string;
    /** True when a key was generated into (or read back from) the data folder in development. */
    generatedAdminKey: boolean;
  }
>;

/** Thrown when the configuration is invalid; `problems` lists every bad setting at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
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

export function parseConfig(input: Record<string, unknown>): ParsedConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path[0] as keyof ParsedConfig | undefined;
        const name = key && key in envNames ? envNames[key] : String(key ?? 'config');
        return `${name}: ${issue.message}`;
      }),
    );
  }
  return result.data;
}

function readOrCreate(file: string, make: () => string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = make();
  writeFileSync(file, value + '\n', { mode: 0o600 });
  return value;
}

/**
 * Validates and freezes the configuration. In development a missing admin key or secret key
 * is generated once into the data folder and reused on later starts; in production both
 * are required and their absence is an error.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = parseConfig(configInputFromEnv(env));
  const problems: string[] = [];
  if (parsed.env === 'production') {
    if (!parsed.adminKey) problems.push(`${envNames.adminKey}: required in production`);
    if (!parsed.secretKey) problems.push(`${envNames.secretKey}: required in production`);
    if (parsed.defaultProvider === 'Inbox') problems.push(`${envNames.defaultProvider}: Inbox is for development only`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  let adminKey = parsed.adminKey;
  let secretKey = parsed.secretKey;
  let generatedAdminKey = false;
  if (!adminKey || !secretKey) {
    mkdirSync(parsed.dataDir, { recursive: true });
    if (!adminKey) {
      adminKey = readOrCreate(join(parsed.dataDir, 'admin-key'), () => `adm_${randomBytes(24).toString('base64url')}`);
      generatedAdminKey = true;
    }
    if (!secretKey) secretKey = readOrCreate(join(parsed.dataDir, 'secret-key'), () => randomBytes(32).toString('base64'));
  }
  return Object.freeze({ ...parsed, adminKey, secretKey, generatedAdminKey });
}
