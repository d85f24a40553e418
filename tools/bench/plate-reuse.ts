/**
 * What training M1 and M2 once per plate saves, against every well trained alone:
 *
 *   npm run bench:plate -- [--wells 4] [--size 160x128] [--frames 30] [--scale 1] [--k N] [--out DIR]
 *
 * Writes a synthetic plate (wells alternating between a high and a low mitosis hazard, one field
 * each, 10 min per frame, the first well of each condition annotated with its simulated mitoses
 * in the first half of the frames), then runs the CLI on it, one command after the other:
 * - reuse: `mitosis plate run` (M1 and M2 on the sample, inference on every field, M3 once);
 * - alone: `mitosis analyze` on every well with its own M1 and M2, the analysis as before plates
 *   (each timed with its process start, about a second).
 * Prints the analysis time per well both ways and their ratio, and each well's k both ways (the
 * k agreement). --scale multiplies every training's updates (0.25 for a quick look); --k gives
 * M3's k where so few updates leave M2 without events (the k agreement is then only the wells'). Embedded
 * mode only; the cluster's wells per hour need plates over gRPC (docs/plates.md).
 */
import { parseArgs } from 'node:util';
import { runBenchmark } from './entry';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      wells: { type: 'string', default: '4' },
      size: { type: 'string', default: '160x128' },
      frames: { type: 'string', default: '30' },
      scale: { type: 'string', default: '1' },
      k: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const { mkdir, mkdtemp, readFile, writeFile } = await import('node:fs/promises');
  const { cpus, tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { InvalidInputError } = await import('@mitosis/core');
  const { METHOD_DEFAULTS } = await import('@mitosis/stages');
  const { generateSyntheticVideo } = await import('@mitosis/synth');
  const { writeTiffStack } = await import('@mitosis/video');
  const { wellLabel } = await import('@mitosis/plate');
  const { spawnSync } = await import('node:child_process');
  const mitosis = (...args: string[]): { ok: boolean; output: string } => {
    const run = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'mitosis.js'), ...args], { encoding: 'utf8' });
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
  };

  const int = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`--${name} must be a whole number >= 1, got '${text}'`);
    return n;
  };
  const wells = int('wells', values.wells);
  const frames = int('frames', values.frames);
  const [width, height] = values.size.split('x').map((v) => int('size', v));
  const scale = Number(values.scale);
  if (!(scale > 0)) throw new InvalidInputError(`--scale must be a number > 0, got '${values.scale}'`);
  const iterations = {
    m1: String(Math.max(1, Math.round(METHOD_DEFAULTS.m1.iterations * scale))),
    m2: String(Math.max(1, Math.round(METHOD_DEFAULTS.m2.iterations * scale))),
    m3: String(Math.max(1, Math.round(METHOD_DEFAULTS.m3.iterations * scale))),
  };
  const out = values.out === undefined ? await mkdtemp(path.join(tmpdir(), 'bench-plate-')) : path.resolve(values.out);
  await mkdir(out, { recursive: true });
  console.log(
    `node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}); ${wells} wells of ${width}x${height}, ${frames} frames; updates M1 ${iterations.m1}, M2 ${iterations.m2} x ${METHOD_DEFAULTS.m2.runs} runs, M3 ${iterations.m3}; in ${out}`,
  );

  // The plate: wells A01, A02, ... alternating between the two conditions.
  const manifest = ['well,field,condition,path,frame_interval_min'];
  const annotations = ['well,field,frame,x,y'];
  const videos: { well: string; file: string }[] = [];
  for (let i = 0; i < wells; i++) {
    const well = wellLabel({ row: Math.floor(i / 12), column: (i % 12) + 1 });
    const high = i % 2 === 0;
    const video = generateSyntheticVideo({
      frames,
      width: width ?? 160,
      height: height ?? 128,
      seed: 100 + i,
      initialCells: 20,
      minCycleFrames: 4,
      mitosisRate: high ? 0.1 : 0.02,
    });
    const file = path.join(out, `${well}.tif`);
    await writeTiffStack(file, video.volume);
    manifest.push(`${well},1,${high ? 'high' : 'low'},${well}.tif,10`);
    if (i < 2) for (const m of video.mitoses.filter((m) => m.frame <= Math.ceil(frames / 2))) annotations.push(`${well},1,${m.frame},${m.x},${m.y}`);
    videos.push({ well, file });
  }
  await writeFile(path.join(out, 'plate.csv'), `${manifest.join('\n')}\n`);
  await writeFile(path.join(out, 'annotations.csv'), `${annotations.join('\n')}\n`);

  const reuseStart = performance.now();
  const reuse = mitosis(
    'plate',
    'run',
    path.join(out, 'plate.csv'),
    '--annotations',
    path.join(out, 'annotations.csv'),
    '--out',
    path.join(out, 'reuse'),
    '--m1-iterations',
    iterations.m1,
    '--m2-iterations',
    iterations.m2,
    '--m3-iterations',
    iterations.m3,
    ...(values.k === undefined ? [] : ['--k', values.k]),
    '--quiet',
  );
  if (!reuse.ok) throw new InvalidInputError(`mitosis plate run failed:\n${reuse.output}`);
  const reuseSeconds = (performance.now() - reuseStart) / 1000;
  const report = JSON.parse(await readFile(path.join(out, 'reuse', 'plate.json'), 'utf8')) as {
    seconds: { sample: number; fields: number; m3: number; detection: number };
    k: { plate: number; perField: { well: string; k: number | null }[] };
  };

  const alone: { well: string; k: number | null; seconds: number }[] = [];
  for (const { well, file } of videos) {
    const started = performance.now();
    const dir = path.join(out, 'alone', well);
    const done = mitosis('analyze', file, '--out', dir, '--m1-iterations', iterations.m1, '--m2-iterations', iterations.m2, '--quiet').ok;
    // No event predicted (exit 3) is a well without a k of its own, as in the plate.
    const k = done ? (JSON.parse(await readFile(path.join(dir, 'stats.json'), 'utf8')) as { recommendedK: number }).recommendedK : null;
    alone.push({ well, k, seconds: (performance.now() - started) / 1000 });
    console.log(`alone ${well}: k ${k ?? '-'} in ${alone.at(-1)?.seconds.toFixed(1)} s`);
  }

  const reusePerWell = (report.seconds.sample + report.seconds.fields) / wells;
  const alonePerWell = alone.reduce((n, a) => n + a.seconds, 0) / wells;
  console.log('');
  console.log('| analysis (M1 + M2) | seconds per well | |');
  console.log('| --- | --- | --- |');
  console.log(`| every well trained alone | ${alonePerWell.toFixed(1)} | |`);
  console.log(
    `| reuse: sample trained once (${report.seconds.sample.toFixed(1)} s) + inference on every field (${report.seconds.fields.toFixed(1)} s) | ${reusePerWell.toFixed(1)} | ${(alonePerWell / reusePerWell).toFixed(2)}x faster |`,
  );
  console.log('');
  console.log("| well | k alone | k with the sample's M1 and M2 |");
  console.log('| --- | --- | --- |');
  for (const a of alone) console.log(`| ${a.well} | ${a.k ?? '-'} | ${report.k.perField.find((f) => f.well === a.well)?.k ?? '-'} |`);
  const alongside = alone.filter((a) => a.k !== null);
  const ks = alongside.map((a) => a.k ?? 0).sort((x, y) => x - y);
  console.log('');
  console.log(
    `plate k ${report.k.plate} (pooled); median k alone ${ks.length === 0 ? '-' : ks[Math.floor((ks.length - 1) / 2)]}; whole plate run ${reuseSeconds.toFixed(1)} s (M3 ${report.seconds.m3.toFixed(1)} s, detection ${report.seconds.detection.toFixed(1)} s)`,
  );
}

runBenchmark(__filename, 'bench:plate', main);
