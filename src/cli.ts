#!/usr/bin/env node
// The rest of otpgate is imported once the command line is read: a usage error (or `help`)
// answers at once, without loading the providers, the stores and their drivers.

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

/** A command line that names no command, an unknown one, or lacks or adds an argument: exit 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

type Command =
  | { cmd: 'help' }
  | { cmd: 'serve' }
  | { cmd: 'migrate' }
  | { cmd: 'tenant create'; name: string; settings: unknown }
  | { cmd: 'tenant list' }
  | { cmd: 'key create'; tenantId: string; name: string | null; scopes: string[] | undefined }
  | { cmd: 'operator create'; email: string; role: string; tenants: string[] | undefined }
  | { cmd: 'operator password'; email: string }
  | { cmd: 'operator list' }
  | { cmd: 'send-test'; tenantId: string; phone: string }
  | { cmd: 'phone export' | 'phone erase'; tenantId: string; phone: string };

const SUBCOMMANDS: Record<string, string[]> = { tenant: ['create', 'list'], key: ['create'], operator: ['create', 'password', 'list'], phone: ['export', 'erase'] };
const COMMANDS = ['serve', 'migrate', 'tenant', 'key', 'operator', 'send-test', 'phone', 'help'];

/**
 * Takes the `--name value` / `--name=value` options of `known` out of `args`; what is left is
 * positional (an unknown option is then refused by positionals()).
 */
function options(command: string, args: string[], known: string[]): { values: Record<string, string>; rest: string[] } {
  const values: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = known.find((k) => a === `--${k}` || a.startsWith(`--${k}=`));
    if (name === undefined) {
      rest.push(a);
      continue;
    }
    const value = a === `--${name}` ? args[++i] : a.slice(name.length + 3);
    if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError(`${command}: --${name} needs a value`);
    values[name] = value;
  }
  return { values, rest };
}

/** `want` positional arguments named `names` (the optional ones in brackets), from `args`; every flag there is unknown. */
function positionals(command: string, args: string[], names: string[]): (string | undefined)[] {
  const flag = args.find((a) => a.startsWith('-'));
  if (flag !== undefined) throw new UsageError(`${command}: unknown option ${flag}`);
  const required = names.filter((n) => !n.startsWith('['));
  if (args.length < required.length) {
    const missing = required.slice(args.length).map((n) => `<${n}>`);
    throw new UsageError(`${command}: missing ${missing.join(' and ')}`);
  }
  if (args.length > names.length) throw new UsageError(`${command}: unexpected argument${args.length - names.length > 1 ? 's' : ''} ${args.slice(names.length).map((a) => JSON.stringify(a)).join(' ')}`);
  return names.map((_, i) => args[i]);
}

/** Reads the command line without touching the configuration or the database. */
function parseCommand(argv: string[]): Command {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new UsageError('no command given');
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') return { cmd: 'help' };
  if (!COMMANDS.includes(cmd)) throw new UsageError(cmd.startsWith('-') ? `unknown option ${cmd}` : `unknown command "${cmd}"`);
  if (cmd === 'serve' || cmd === 'migrate') {
    positionals(cmd, args, []);
    return { cmd };
  }
  if (cmd === 'send-test') {
    const [tenantId, phone] = positionals(cmd, args, ['tenant-id', 'phone']);
    return { cmd, tenantId: tenantId!, phone: phone! };
  }
  const subs = SUBCOMMANDS[cmd]!;
  const [sub, ...rest] = args;
  if (sub === undefined) throw new UsageError(`${cmd}: missing the subcommand (${subs.join(' or ')})`);
  if (!subs.includes(sub)) throw new UsageError(`${cmd}: unknown subcommand "${sub}" (${subs.join(' or ')})`);
  const command = `${cmd} ${sub}`;
  switch (command) {
    case 'tenant create': {
      const [name, json] = positionals(command, rest, ['name', '[settings-json]']);
      let settings: unknown;
      if (json !== undefined) {
        try {
          settings = JSON.parse(json);
        } catch (err) {
          throw new UsageError(`${command}: settings-json is not valid JSON (${(err as Error).message})`);
        }
      }
      return { cmd: command, name: name!, settings };
    }
    case 'tenant list':
      positionals(command, rest, []);
      return { cmd: command };
    case 'key create': {
      const args2 = [...rest];
      let scopes: string[] | undefined;
      const at = args2.findIndex((a) => a === '--scopes' || a.startsWith('--scopes='));
      if (at >= 0) {
        const flag = args2.splice(at, args2[at] === '--scopes' ? 2 : 1);
        const list = flag[0] === '--scopes' ? flag[1] : flag[0]!.slice('--scopes='.length);
        if (list === undefined || list === '' || list.startsWith('-')) throw new UsageError(`${command}: --scopes needs a comma-separated list of scopes (docs/api-keys.md)`);
        scopes = list.split(',').map((x) => x.trim());
      }
      const [tenantId, name] = positionals(command, args2, ['tenant-id', '[name]']);
      return { cmd: command, tenantId: tenantId!, name: name ?? null, scopes };
    }
    case 'operator create': {
      const { values, rest: left } = options(command, rest, ['email', 'role', 'tenants']);
      positionals(command, left, []);
      const missing = ['email', 'role'].filter((k) => values[k] === undefined).map((k) => `--${k}`);
      if (missing.length > 0) throw new UsageError(`${command}: missing ${missing.join(' and ')}`);
      return { cmd: command, email: values.email!, role: values.role!, tenants: values.tenants?.split(',').map((x) => x.trim()) };
    }
    case 'operator password': {
      const { values, rest: left } = options(command, rest, ['email']);
      positionals(command, left, []);
      if (values.email === undefined) throw new UsageError(`${command}: missing --email`);
      return { cmd: command, email: values.email };
    }
    case 'operator list':
      positionals(command, rest, []);
      return { cmd: command };
    default: {
      // phone export | phone erase (docs/data-lifecycle.md)
      const [tenantId, phone] = positionals(command, rest, ['tenant-id', 'phone']);
      return { cmd: command as 'phone export' | 'phone erase', tenantId: tenantId!, phone: phone! };
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const command = parseCommand(argv);
  if (command.cmd === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (command.cmd === 'serve') {
    await import('./main.js');
    return -1;
  }
  const [{ loadConfig }, { createDeps }, { default: pino }, { describeUnknownVariable }, { createLogger }, { parseScopes }, { migrateToLatest }, { DatabaseStartupError }] = await Promise.all([
    import('./config/load.js'),
    import('./deps.js'),
    import('pino'),
    import('./config/unknown-variables.js'),
    import('./observability/logger.js'),
    import('./services/api-key-service.js'),
    import('./store/db.js'),
    import('./startup-errors.js'),
  ]);
  const config = loadConfig();
  // Logs go to stderr: stdout carries the command's result alone, for jq and scripts.
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, destination: pino.destination({ fd: 2, sync: true }) });
  for (const v of config.unknownVariables) logger.warn({ variable: v.name, did_you_mean: v.nearest }, describeUnknownVariable(v));
  const deps = createDeps(config, logger);
  try {
    // Worded as the server's start-up errors: which database refused, and why.
    await migrateToLatest(deps.store).catch((err: unknown) => {
      throw new DatabaseStartupError(deps.store.description, err);
    });
    switch (command.cmd) {
      case 'migrate':
        process.stdout.write(`migrations applied (${deps.store.description})\n`);
        return 0;
      case 'tenant create':
        out(await deps.tenants.create({ name: command.name, settings: command.settings }, 'cli'));
        return 0;
      case 'tenant list':
        out((await deps.tenants.list(100)).items.map((t) => ({ id: t.id, name: t.name, created_at: t.created_at })));
        return 0;
      case 'key create':
        out(await deps.apiKeys.create(command.tenantId, command.name, 'cli', parseScopes(command.scopes)));
        return 0;
      // docs/operators.md; the same service and audit entries as the API.
      case 'operator list':
        out((await deps.operators.list(100)).items);
        return 0;
      case 'operator create': {
        const password = await readNewPassword();
        out(await deps.operators.create({ email: command.email, role: command.role, password, ...(command.tenants ? { tenant_ids: command.tenants } : {}) }, 'cli'));
        return 0;
      }
      case 'operator password': {
        const found = await deps.operators.getByEmail(command.email);
        out(await deps.operators.update(found.id, { password: await readNewPassword() }, 'cli'));
        return 0;
      }
      case 'phone export':
      case 'phone erase': {
        // docs/data-lifecycle.md; the same service and audit entries as the API.
        const tenant = await deps.tenants.getActive(command.tenantId);
        out(command.cmd === 'phone export' ? await deps.phones.export(tenant, command.phone, 'cli') : await deps.phones.erase(tenant, command.phone, 'cli'));
        return 0;
      }
      case 'send-test': {
        const tenant = await deps.tenants.getActive(command.tenantId);
        const r = await deps.providers.sendTest(tenant, { phone_number: command.phone });
        out(r);
        return r.status === 'accepted' ? 0 : 1;
      }
    }
  } finally {
    deps.drain.abort();
    await deps.store.close();
  }
}

main(process.argv.slice(2))
  .then((code) => {
    if (code >= 0) process.exit(code);
  })
  .catch(async (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`otpgate: ${err.message}\n\n${usage}\n`);
      process.exit(2);
    }
    const [{ CONFIG_ERROR_EXIT_CODE, ConfigError }, { describeStartupError }] = await Promise.all([import('./config/load.js'), import('./startup-errors.js')]);
    const e = err as { code?: string; detail?: string; message?: string };
    if (err instanceof ConfigError) {
      process.stderr.write(`otpgate: ${err.message}\n`);
      process.exit(CONFIG_ERROR_EXIT_CODE);
    }
    if (e?.code && typeof e.code === 'string' && e.code.includes('.')) process.stderr.write(`otpgate: ${e.code}: ${e.detail ?? e.message}\n`);
    else process.stderr.write(`otpgate: ${describeStartupError(err)}\n`);
    process.exit(1);
  });
