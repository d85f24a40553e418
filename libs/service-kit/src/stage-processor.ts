import type { Span } from '@opentelemetry/api';
import { InvalidInputError } from '@mitosis/core';
import type { ProgressEvent, ProgressSink } from '@mitosis/core';
import type { StageContext } from '@mitosis/events';
import type { StageRequest } from '@mitosis/proto';
import { ATTR, SPAN, inSpan, mitosisInstruments, mitosisTracer } from '@mitosis/telemetry';
import type { StageDefaults } from './config';
import type { Logger } from './logger';
import type { ChainDeps } from './pipeline';
import { PRIMARY_OUTPUT, completeStage } from './pipeline';
import type { StageTask } from './stage-task';
import { resolveStageTask } from './task-resolution';
import type { StageRunner } from './stage-runner';
import { fromProtoStage } from './stage-codec';

export interface StageProcessorDeps extends ChainDeps {
  readonly runner: StageRunner;
  readonly defaults: StageDefaults;
  readonly log: Logger;
  /** The compute backend the stage threads run on (wasm, cpu, tensorflow): a span and metric attribute. */
  readonly backend?: string;
}

const tracer = mitosisTracer('@mitosis/service-kit');

/**
 * The `process` of a worker's stage consumer: resolveStageTask, the runner (executeStage in a thread or inline) + completeStage.
 * A stage whose outputs the job already records (a redelivery after a lost ack) is not run again,
 * only completed again, so the next stage is published without training twice.
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
    if (job.outputs[PRIMARY_OUTPUT[stage]] !== undefined) {
      deps.log.info('stage already done; completing it again', fields);
      await completeStage(deps, { jobId: request.jobId, stage, outputs: {}, deliveryCount: ctx.deliveryCount });
      return;
    }
    const task = resolveStageTask(request, { job, defaults: deps.defaults });
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
        const result = await completeStage(deps, { jobId: request.jobId, stage, outputs: outcome.outputs, deliveryCount: ctx.deliveryCount });
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
