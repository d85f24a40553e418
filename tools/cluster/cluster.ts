/**
 * The distributed mode on one machine: nats-server (JetStream), an S3 server, the gateway and the
 * stage workers, each a process of its own, wired by their MITOSIS_* variables.
 *
 *   npx tsx tools/cluster/cluster.ts up [--m1 2 --m2 2 --m3 2 --ingest 1] [--dir tmp/cluster] [--grpc 127.0.0.1:50051]
 *   npx tsx tools/cluster/cluster.ts status [--dir tmp/cluster]
 *   npx tsx tools/cluster/cluster.ts down [--dir tmp/cluster]
 *
 * The command line only: `startCluster(options)` (supervisor.ts) is the same start and stop logic
 * for tests (tools/cluster/*.int.spec.ts). See tools/cluster/README.md.
 */
import { Command, InvalidArgumentError } from 'commander';
import { InvalidInputError, MitosisError, exitCodeFor } from '@mitosis/core';
import { isRunning } from './process';
import { describeProcesses, readClusterFile } from './state';
import { DEFAULT_DIR, startCluster, stopClusterInDir } from './supervisor';

function count(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 16) throw new InvalidArgumentError(`"${value}" is not a replica count in 0..16`);
  return Number(value);
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new InvalidArgumentError(`"${value}" is not a port in 1..65535`);
  return Number(value);
}

function milliseconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 3_600_000) throw new InvalidArgumentError(`"${value}" is not a duration in ms (0..3600000)`);
  return Number(value);
}

function envPair(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${value}" is not KEY=VALUE`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

export function buildProgram(): Command {
  const program = new Command('cluster').description('the gateway and the stage workers as separate processes, with nats-server and an S3 server').showHelpAfterError();
  program
    .command('up')
    .description('start NATS, S3, the gateway and the workers; runs until Ctrl-C or SIGTERM, then stops them all')
    .option('--dir <dir>', 'folder for logs, JetStream and object data, cluster.json', DEFAULT_DIR)
    .option('--grpc <host:port>', "the gateway's address (port 0: a free one)", '127.0.0.1:50051')
    .option('--nats-port <port>', 'NATS client port (default: a free one)', port)
    .option('--ingest <n>', 'ingest replicas', count, 1)
    .option('--m1 <n>', 'm1 replicas', count, 1)
    .option('--m2 <n>', 'm2 replicas', count, 1)
    .option('--m3 <n>', 'm3 replicas', count, 1)
    .option('--backend <name>', 'MITOSIS_BACKEND of the workers: wasm, cpu or tensorflow')
    .option('--prefix <prefix>', 'MITOSIS_PREFIX', 'mitosis')
    .option('--env <KEY=VALUE>', 'another variable for every service (repeatable), e.g. MITOSIS_M1_ITERATIONS=50', envPair, {})
    .option('--no-install', 'do not install nats-server with apt-get when it is missing')
    .action(
      async (opts: {
        dir: string;
        grpc: string;
        natsPort?: number;
        ingest: number;
        m1: number;
        m2: number;
        m3: number;
        backend?: string;
        prefix: string;
        env: Record<string, string>;
        install: boolean;
      }) => {
        if (opts.backend !== undefined && !['wasm', 'cpu', 'tensorflow'].includes(opts.backend)) {
          throw new InvalidInputError(`--backend "${opts.backend}" is not wasm, cpu or tensorflow`);
        }
        const started = Date.now();
        const cluster = await startCluster({
          dir: opts.dir,
          grpcAddr: opts.grpc,
          ...(opts.natsPort !== undefined ? { natsPort: opts.natsPort } : {}),
          replicas: { ingest: opts.ingest, m1: opts.m1, m2: opts.m2, m3: opts.m3 },
          ...(opts.backend !== undefined ? { backend: opts.backend as 'wasm' | 'cpu' | 'tensorflow' } : {}),
          prefix: opts.prefix,
          env: opts.env,
          installNats: opts.install,
          log: (line) => console.log(`cluster: ${line}`),
        });
        console.log(`\ncluster up in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n${cluster.describe()}\n\nCtrl-C (or: cluster.ts down --dir ${opts.dir}) stops it.`);
        // Listeners stay installed: a second Ctrl-C must not kill the supervisor halfway through
        // the ordered stop (its children have their own process group and would be left running).
        await new Promise<void>((resolve) => {
          let first = 0;
          const onSignal = (signal: NodeJS.Signals): void => {
            if (first === 0) {
              first = Date.now();
              resolve();
            } else if (Date.now() - first > 2_000) {
              // (npx and tsx relay the terminal's Ctrl-C too: repeats within 2 s are that echo)
              console.log(`cluster: ${signal} again; still stopping (down --dir ${opts.dir} from another shell forces it)`);
            }
          };
          process.on('SIGINT', onSignal);
          process.on('SIGTERM', onSignal);
        });
        console.log('cluster: stopping (workers, then the gateway, then S3 and NATS)');
        await cluster.stop();
      },
    );
  program
    .command('down')
    .description('stop the cluster recorded in <dir>/cluster.json (started by `up` in another terminal)')
    .option('--dir <dir>', 'the cluster folder', DEFAULT_DIR)
    .option('--timeout <ms>', 'SIGKILL a process still running this long after SIGTERM', milliseconds, 20_000)
    .action(async (opts: { dir: string; timeout: number }) => {
      await stopClusterInDir(opts.dir, { timeoutMs: opts.timeout, log: (line) => console.log(`cluster: ${line}`) });
      console.log('cluster: down');
    });
  program
    .command('status')
    .description('the processes of <dir>/cluster.json and whether they run')
    .option('--dir <dir>', 'the cluster folder', DEFAULT_DIR)
    .action(async (opts: { dir: string }) => {
      const file = await readClusterFile(opts.dir);
      const rows = file.processes.map((p) => ({ id: p.id, pid: p.pid, endpoint: p.endpoint, state: isRunning(p.pid, p.command) ? 'running' : 'stopped', log: p.log }));
      console.log(describeProcesses(file, rows));
    });
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(error instanceof MitosisError ? exitCodeFor(error) : 1);
      },
    );
}
