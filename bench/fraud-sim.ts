// The fraud guard against simulated traffic: 30 days (14 warm-up, 16 scored) of a tenant's
// legitimate sign-ins plus one attack per scenario, through the real send and verify services
// with a manual clock, under the guard's defaults and under today's caps only (fraud_guard
// off). docs/fraud-guard.md describes the method and holds the results.
// Usage: npx tsx bench/fraud-sim.ts [--seeds 5] [--scenario a[,b…]|all] [--config both|guard|caps]
//   [--volume 400] [--jobs 2] [--fraud-guard '{"thresholds":{…}}'] [--warmup record_only|enforce]
//   [--json out.json] [--first-seed 1]
//   npx tsx bench/fraud-sim.ts --report out.json   (the report of a saved run)
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { scenarioIds, type ScenarioId } from './fraud-sim/attacks.js';
import { runJob, type Configuration, type JobInput, type JobResult } from './fraud-sim/engine.js';
import { report } from './fraud-sim/report.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function worker(input: JobInput): Promise<void> {
  const result = await runJob(input);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs one job in a child process (the same loader), answering its result. */
function spawnJob(input: JobInput): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--worker', JSON.stringify(input)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`seed ${input.seed} (${input.configuration}) exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as JobResult);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

async function main(): Promise<void> {
  const workerInput = arg('worker');
  if (workerInput) return worker(JSON.parse(workerInput) as JobInput);
  // Renders the report of a saved run again (--json output), without running anything.
  const saved = arg('report');
  if (saved) {
    const r = JSON.parse(readFileSync(saved, 'utf8')) as { volume: number; fraudGuard: Record<string, unknown>; minutes?: number; results: JobResult[] };
    process.stdout.write(report(r.results, { volume: r.volume, minutes: r.minutes ?? NaN, fraudGuard: r.fraudGuard }));
    return;
  }

  const seeds = Number(arg('seeds') ?? 5);
  const firstSeed = Number(arg('first-seed') ?? 1);
  const volume = Number(arg('volume') ?? 400);
  const jobs = Math.max(1, Number(arg('jobs') ?? 2));
  const scenarioArg = arg('scenario') ?? 'all';
  const scenarios = (scenarioArg === 'all' ? [...scenarioIds] : scenarioArg.split(',')) as ScenarioId[];
  for (const s of scenarios) if (!scenarioIds.includes(s)) throw new Error(`unknown scenario ${s} (one of ${scenarioIds.join(', ')})`);
  const configArg = arg('config') ?? 'both';
  const configurations: Configuration[] = configArg === 'both' ? ['guard', 'caps'] : [configArg as Configuration];
  const fraudGuard = JSON.parse(arg('fraud-guard') ?? '{}') as Record<string, unknown>;
  const warmupMode = (arg('warmup') ?? 'record_only') as JobInput['warmupMode'];
  if (warmupMode !== 'record_only' && warmupMode !== 'enforce') throw new Error('--warmup is record_only or enforce');

  const inputs: JobInput[] = [];
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    for (const configuration of configurations) inputs.push({ seed, configuration, volume, scenarios, fraudGuard, warmupMode });
  }
  const started = performance.now();
  const results: JobResult[] = [];
  let nextJob = 0;
  async function lane(): Promise<void> {
    while (nextJob < inputs.length) {
      const input = inputs[nextJob++]!;
      const r = await spawnJob(input);
      results.push(r);
      const secs = r.warmup.seconds + r.scenarios.reduce((s, x) => s + x.seconds, 0);
      process.stderr.write(`seed ${r.seed} ${r.configuration}: ${secs.toFixed(0)} s\n`);
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, inputs.length) }, lane));
  const minutes = (performance.now() - started) / 60_000;
  const json = arg('json');
  if (json) writeFileSync(json, JSON.stringify({ volume, fraudGuard, minutes, warmupMode, results }, null, 1));
  process.stdout.write(report(results, { volume, minutes, fraudGuard }));
}

await main();
