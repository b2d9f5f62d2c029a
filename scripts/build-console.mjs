#!/usr/bin/env node
// Builds the admin console (console/, its own Vite project) into console/dist, which otpgate
// serves at /admin. Runs as part of `npm install` (prepare → build), so `npm start` has it.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

if (!existsSync('console/package.json')) process.exit(0);
const run = (args) => {
  const r = spawnSync('npm', args, { cwd: 'console', stdio: 'inherit', shell: false });
  if (r.status !== 0) {
    console.error(`console: npm ${args.join(' ')} failed; the API works without the console (/admin will be missing)`);
    process.exit(r.status ?? 1);
  }
};
if (!existsSync('console/node_modules')) run(['install', '--no-audit', '--no-fund']);
run(['run', 'build']);
