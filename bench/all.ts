/**
 * `npm run bench`: every part in turn (each `npm run bench:<part>`, so each in its own processes),
 * then bench/results/summary.md: every part's verdicts in one table, with the run's machine.
 * A part that fails does not stop the others; the exit code is non-zero if any failed.
 * BENCH_PARTS=getroute,fanout runs a subset.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, machine, note, RAW_DIR, RESULTS_DIR, ROOT, runMain, table } from './lib/common';

const PARTS = ['getroute', 'fanout', 'registration', 'failover', 'subscribers', 'rocketmq-routes', 'rocketmq-registration', 'rocketmq-failover', 'capacity'];

function runPart(part: string): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('npm', ['run', '--silent', `bench:${part}`], { cwd: ROOT, stdio: 'inherit' });
    p.on('exit', (code) => resolve(code ?? 1));
  });
}

interface VerdictRow {
  check: string;
  value: string;
  target: string;
  verdict: string;
}

/** The verdicts a part wrote in this run. */
function verdicts(part: string, since: number): VerdictRow[] {
  const file = path.join(RAW_DIR, `${part}.verdicts.json`);
  if (!existsSync(file) || statSync(file).mtimeMs < since) return [];
  return JSON.parse(readFileSync(file, 'utf8')) as VerdictRow[];
}

async function main(): Promise<void> {
  const m = machine();
  const only = process.env.BENCH_PARTS?.split(',').map((s) => s.trim()).filter(Boolean);
  const parts = only ?? PARTS;
  const outcomes: { part: string; code: number; seconds: number; started: number }[] = [];
  const t0 = Date.now();
  for (const part of parts) {
    note(`=== ${part} ===`);
    const t = Date.now();
    const code = await runPart(part);
    outcomes.push({ part, code, seconds: (Date.now() - t) / 1000, started: t });
  }
  const total = (Date.now() - t0) / 1000;
  const lines = [
    '# Benchmark summary',
    '',
    `- command: \`npm run bench\` (${fmt(total)} s in all)`,
    `- date: ${m.date}`,
    `- code: ${m.code}`,
    `- machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpu}, ${m.memGiB} GiB; node ${m.node}`,
    '',
    table(
      ['part', 'report', 'seconds', 'exit code'],
      outcomes.map((o) => [o.part, `[${o.part}.md](${o.part}.md)`, fmt(o.seconds), o.code]),
    ),
    '',
    'Every checked target (details, per-round figures, profiles and notes in each part\'s report):',
    '',
    table(
      ['part', 'check', 'value', 'target', 'verdict'],
      outcomes.flatMap((o) => verdicts(o.part, o.started).map((v) => [o.part, v.check, v.value, v.target, v.verdict])),
    ),
    '',
  ];
  const md = lines.join('\n');
  writeFileSync(path.join(RESULTS_DIR, 'summary.md'), md);
  // The same, minus the title and with links into results/, in bench/README.md's results block.
  const readme = path.join(ROOT, 'bench', 'README.md');
  const block = md
    .replace(/^# .*\n\n/, '')
    .replace(/\]\(([\w-]+)\.md\)/g, '](results/$1.md)')
    .replace("each part's report):", "each part's report; [summary](results/summary.md)):");
  const text = readFileSync(readme, 'utf8');
  const updated = text.replace(/<!-- results:start -->[\s\S]*<!-- results:end -->/, `<!-- results:start -->\n${block.trim()}\n<!-- results:end -->`);
  if (updated !== text) writeFileSync(readme, updated);
  process.stdout.write(`\n${md}\n`);
  const failed = outcomes.filter((o) => o.code !== 0);
  if (failed.length) throw new Error(`parts failed: ${failed.map((o) => o.part).join(', ')}`);
}

runMain(main);
