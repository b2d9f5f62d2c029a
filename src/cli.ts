#!/usr/bin/env node
import { CONFIG_ERROR_EXIT_CODE, ConfigError, loadConfig } from './config/load.js';
import { createDeps } from './deps.js';
import { createLogger } from './observability/logger.js';
import { parseScopes } from './services/api-key-service.js';
import { migrateToLatest } from './store/db.js';
import { DatabaseStartupError, describeStartupError } from './startup-errors.js';

const usage = `otpgate — self-hosted SMS one-time passcodes

usage:
  otpgate serve                              start the API, console and dispatcher (same as npm start)
  otpgate migrate                            apply pending database migrations and exit
  otpgate tenant create <name> [settings-json]
  otpgate tenant list
  otpgate key create <tenant-id> [name] [--scopes otp,messages:read,…]
                                             prints the new API key once; without
                                             --scopes it has every scope (docs/api-keys.md)
  otpgate operator create --email <email> --role owner|admin|tenant_admin|viewer [--tenants <id,…>]
                                             creates a console account (the first owner of a fresh
                                             install); the password is read from OTPGATE_OPERATOR_PASSWORD,
                                             else from stdin when piped, else asked for (never a flag)
  otpgate operator password --email <email>  sets a new password the same way (ends its sessions)
  otpgate operator list
  otpgate send-test <tenant-id> <phone>      sends a test SMS through the tenant's provider now
  otpgate phone export <tenant-id> <phone>   prints everything stored about the number (access request)
  otpgate phone erase <tenant-id> <phone>    deletes or anonymises every row about the number

Configuration comes from the environment (see docs/configuration.md).`;

/** `--name value` or `--name=value` from `args` (undefined when absent). */
function flag(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}`) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  let input = '';
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(input);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('canceled'));
        if (ch === '\u007f' || ch === '\b') input = input.slice(0, -1);
        else input += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * The new password of `otpgate operator …`: never a command-line flag (other users see those
 * in `ps`): the OTPGATE_OPERATOR_PASSWORD variable, else stdin when piped, else a hidden prompt asked twice.
 */
async function readNewPassword(): Promise<string> {
  const fromEnv = process.env.OTPGATE_OPERATOR_PASSWORD;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  const first = await promptHidden('new password (at least 12 characters): ');
  const second = await promptHidden('again: ');
  if (first !== second) throw new Error('the two passwords differ');
  return first;
}

function out(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(`${usage}\n`);
    return cmd ? 0 : 2;
  }
  if (cmd === 'serve') {
    await import('./main.js');
    return -1;
  }
  const config = loadConfig();
  const deps = createDeps(config, createLogger({ level: 'warn' }));
  try {
    // Worded as the server's start-up errors: which database refused, and why.
    await migrateToLatest(deps.store).catch((err: unknown) => {
      throw new DatabaseStartupError(deps.store.description, err);
    });
    switch (cmd) {
      case 'migrate':
        process.stdout.write(`migrations applied (${deps.store.description})\n`);
        return 0;
      case 'tenant':
        if (sub === 'create' && rest[0]) {
          out(await deps.tenants.create({ name: rest[0], settings: rest[1] ? JSON.parse(rest[1]) : undefined }, 'cli'));
          return 0;
        }
        if (sub === 'list') {
          out((await deps.tenants.list(100)).items.map((t) => ({ id: t.id, name: t.name, created_at: t.created_at })));
          return 0;
        }
        break;
      case 'key':
        if (sub === 'create' && rest[0]) {
          const at = rest.findIndex((a) => a === '--scopes' || a.startsWith('--scopes='));
          let scopes: string[] | undefined;
          const args = [...rest];
          if (at >= 0) {
            const flag = args.splice(at, args[at] === '--scopes' ? 2 : 1);
            const list = flag[0] === '--scopes' ? flag[1] : flag[0]!.slice('--scopes='.length);
            if (list === undefined) break;
            scopes = list.split(',').map((x) => x.trim());
          }
          if (args.length > 2) break;
          out(await deps.apiKeys.create(args[0]!, args[1] ?? null, 'cli', parseScopes(scopes)));
          return 0;
        }
        break;
      case 'operator': {
        // docs/operators.md; the same service and audit entries as the API.
        if (sub === 'list') {
          out((await deps.operators.list(100)).items);
          return 0;
        }
        const email = flag(rest, 'email');
        if (sub === 'create' && email) {
          const role = flag(rest, 'role') ?? '';
          const tenants = flag(rest, 'tenants');
          const password = await readNewPassword();
          out(await deps.operators.create({ email, role, password, ...(tenants ? { tenant_ids: tenants.split(',').map((x) => x.trim()) } : {}) }, 'cli'));
          return 0;
        }
        if (sub === 'password' && email) {
          const found = await deps.operators.getByEmail(email);
          out(await deps.operators.update(found.id, { password: await readNewPassword() }, 'cli'));
          return 0;
        }
        break;
      }
      case 'phone': {
        // docs/data-lifecycle.md; the same service and audit entries as the API.
        const [tenantId, phone] = rest;
        if ((sub !== 'export' && sub !== 'erase') || !tenantId || phone === undefined) break;
        const tenant = await deps.tenants.getActive(tenantId);
        out(sub === 'export' ? await deps.phones.export(tenant, phone, 'cli') : await deps.phones.erase(tenant, phone, 'cli'));
        return 0;
      }
      case 'send-test': {
        const tenantId = sub;
        const phone = rest[0];
        if (!tenantId || !phone) break;
        const tenant = await deps.tenants.getActive(tenantId);
        const r = await deps.providers.sendTest(tenant, { phone_number: phone });
        out(r);
        return r.status === 'accepted' ? 0 : 1;
      }
    }
    process.stderr.write(`${usage}\n`);
    return 2;
  } finally {
    deps.drain.abort();
    await deps.store.close();
  }
}

main(process.argv.slice(2))
  .then((code) => {
    if (code >= 0) process.exit(code);
  })
  .catch((err: unknown) => {
    const e = err as { code?: string; detail?: string; message?: string };
    if (err instanceof ConfigError) {
      process.stderr.write(`otpgate: ${err.message}\n`);
      process.exit(CONFIG_ERROR_EXIT_CODE);
    }
    if (e?.code && typeof e.code === 'string' && e.code.includes('.')) process.stderr.write(`otpgate: ${e.code}: ${e.detail ?? e.message}\n`);
    else process.stderr.write(`otpgate: ${describeStartupError(err)}\n`);
    process.exit(1);
  });
