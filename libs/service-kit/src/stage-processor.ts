import type { Span } from '@opentelemetry/api';
import { InvalidInputError } from '@mitosis/core';
import type { BlobStore, ProgressEvent, ProgressSink } from '@mitosis/core';
import type { StageContext } from '@mitosis/events';
import { isNatsOutage } from '@mitosis/events';
import type { StageRequest } from '@mitosis/proto';
import { ATTR, SPAN, inSpan, mitosisInstruments, mitosisTracer } from '@mitosis/telemetry';
import type { StageDefaults } from './config';
import type { Logger } from './logger';
import type { ChainDeps, CompleteStageInput, CompleteStageResult } from './pipeline';
import { PRIMARY_OUTPUT, completeStage } from './pipeline';
import { storedStage } from './stage-manifest';
import type { StageTask } from './stage-task';
import { resolveStageTask } from './task-resolution';
import type { StageRunner } from './stage-runner';
import { fromProtoStage } from './stage-codec';
import type { TransientRetryOptions } from './transient-retry';
import { retryTransient } from './transient-retry';

export interface StageProcessorDeps extends ChainDeps {
  readonly runner: StageRunner;
  /** Where the stages' outputs and manifests are: a stage complete there is not run again. */
  readonly store: BlobStore;
  readonly defaults: StageDefaults;
  readonly log: Logger;
  /** Tries of recording a completion through a NATS outage; default 6 tries, 500 ms doubling up to 8 s. */
  readonly completionRetry?: Omit<TransientRetryOptions, 'log'>;
  /** The compute backend the stage threads run on (wasm, cpu, tensorflow): a span and metric attribute. */
  readonly backend?: string;
}

const tracer = mitosisTracer('@mitosis/service-kit');

/**
 * The `process` of a worker's stage consumer: resolveStageTask, the runner (executeStage in a thread or inline) + completeStage.
 * A stage whose outputs the job already records (a redelivery after a lost ack), or whose outputs
 * are stored complete by its manifest (a redelivery after a lost completion), is not run again,
 * only completed, so the next stage is published without training twice. Recording a completion
 * is retried through a NATS outage before the delivery is given up.
 * The run is the span `stage <stage>` (video id, frame count, backend, the outcome's numbers as
 * `mitosis.result.*`) and feeds the stage duration, frames, frame rate and training loss metrics.
 */
export function createStageProcessor(deps: StageProcessorDeps): (request: StageRequest, ctx: StageContext) => Promise<void> {
  return async (request, ctx) => {
    const stage = fromProtoStage(request.stage);
    if (stage !== ctx.stage) throw new InvalidInputError(`work for stage ${stage} arrived on the ${ctx.stage} queue (job ${request.jobId})`);
    if (ctx.jobId !== undefined && ctx.jobId !== request.jobId) {
      throw new InvalidInputError(`work message of job ${ctx.jobId} carries a request for job ${request.jobId}`);
    }
    const fields = { jobId: request.jobId, videoId: request.videoId, stage, delivery: ctx.deliveryCount };
    const job = await deps.jobs.get(request.jobId);
    const record = (outputs: Record<string, string>): Promise<CompleteStageResult> =>
      recordCompletion(deps, { jobId: request.jobId, stage, outputs, deliveryCount: ctx.deliveryCount }, ctx.signal);
    if (job.outputs[PRIMARY_OUTPUT[stage]] !== undefined) {
      deps.log.info('stage already done; completing it again', fields);
      await record({});
      return;
    }
    const task = resolveStageTask(request, { job, defaults: deps.defaults });
    const stored = await storedStage(deps.store, task);
    if (stored.state === 'complete') {
      deps.log.info('stage outputs already stored; recording its completion only', fields);
      const result = await record(stored.outcome.outputs);
      deps.log.info('stage finished', { ...fields, reused: true, metrics: stored.outcome.metrics, next: result.next ?? null, jobState: result.job.state });
      return;
    }
    if (stored.state === 'mismatch') deps.log.warn('stored outputs incomplete; running the stage again', { ...fields, reason: stored.reason });
    const backend = deps.backend ?? 'default';
    const attributes = {
      [ATTR.stage]: stage,
      [ATTR.jobId]: request.jobId,
      [ATTR.jobKind]: job.kind,
      [ATTR.videoId]: request.videoId,
      [ATTR.backend]: backend,
      [ATTR.delivery]: ctx.deliveryCount,
      ...('range' in task && task.range !== undefined ? { [ATTR.frameCount]: task.range.last - task.range.first + 1 } : {}),
    };
    await inSpan(tracer, SPAN.stage(stage), { attributes }, async (span) => {
      const started = Date.now();
      deps.log.info('stage started', fields);
      const instruments = mitosisInstruments();
      try {
        const outcome = await deps.runner.run(task, { progress: observedProgress(ctx.progress, task, span), signal: ctx.signal });
        const seconds = (Date.now() - started) / 1000;
        const frames = outcome.metrics['frames'];
        for (const [name, value] of Object.entries(outcome.metrics)) span.setAttribute(`mitosis.result.${name}`, value);
        if (frames !== undefined) span.setAttribute(ATTR.frameCount, frames);
        instruments.stageDuration.record(seconds, { [ATTR.stage]: stage, [ATTR.backend]: backend, [ATTR.outcome]: 'succeeded' });
        if (frames !== undefined && frames > 0) {
          instruments.stageFrames.add(frames, { [ATTR.stage]: stage, [ATTR.backend]: backend });
          if (seconds > 0) instruments.stageFrameRate.record(frames / seconds, { [ATTR.stage]: stage, [ATTR.backend]: backend });
        }
        const result = await record(outcome.outputs);
        deps.log.info('stage finished', {
          ...fields,
          durationMs: Date.now() - started,
          metrics: outcome.metrics,
          next: result.next ?? null,
          jobState: result.job.state,
        });
      } catch (error: unknown) {
        const kind = (error as { kind?: unknown } | null)?.kind;
        instruments.stageDuration.record((Date.now() - started) / 1000, {
          [ATTR.stage]: stage,
          [ATTR.backend]: backend,
          [ATTR.outcome]: kind === 'CANCELLED' ? 'cancelled' : 'failed',
        });
        deps.log.warn('stage failed', { ...fields, durationMs: Date.now() - started, error });
        throw error;
      }
    });
  };
}

/**
 * completeStage, tried again while NATS is away (a timed-out or disconnected request): the
 * outputs are stored, so giving up here would throw the finished stage back to the queue.
 * completeStage may be repeated: the record is a compare-and-set and the next stage's msg id
 * drops a second publish.
 */
function recordCompletion(deps: StageProcessorDeps, input: CompleteStageInput, signal: AbortSignal): Promise<CompleteStageResult> {
  return retryTransient(() => completeStage(deps, input), {
    attempts: 6,
    delayMs: 500,
    maxDelayMs: 8_000,
    ...deps.completionRetry,
    isTransient: isNatsOutage,
    message: 'stage completion not recorded (NATS unreachable); retrying',
    fields: { jobId: input.jobId, stage: input.stage, delivery: input.deliveryCount },
    log: deps.log,
    signal,
  });
}

/** `loss 0.1234` in the detail of a training step's progress (M1, M2 and M3 report it so). */
export function lossOf(event: ProgressEvent): number | undefined {
  const match = /^loss\s+(\S+)/.exec(event.detail ?? '');
  if (match === null) return undefined;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The consumer's progress sink, seeing each event first: training losses go to the loss
 * histogram and gauge (every iteration, before the job-record throttle), and each new step
 * (m1.train -> m1.maps) is an event on the stage span.
 */
function observedProgress(progress: ProgressSink, task: StageTask, span: Span): ProgressSink {
  const instruments = mitosisInstruments();
  let step: string | undefined;
  return (event) => {
    if (event.step !== step) {
      step = event.step;
      span.addEvent('step', { [ATTR.step]: event.step, total: event.total });
    }
    const loss = lossOf(event);
    if (loss !== undefined) {
      const attributes = { [ATTR.stage]: task.stage, [ATTR.step]: event.step };
      instruments.trainingLoss.record(loss, attributes);
      instruments.trainingLastLoss.record(loss, attributes);
      span.setAttribute('mitosis.training.last_loss', loss);
    }
    progress(event);
  };
}
