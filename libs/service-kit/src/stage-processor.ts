import { InvalidInputError } from '@mitosis/core';
import type { StageContext } from '@mitosis/events';
import type { StageRequest } from '@mitosis/proto';
import type { StageDefaults } from './config';
import type { Logger } from './logger';
import type { ChainDeps } from './pipeline';
import { PRIMARY_OUTPUT, completeStage } from './pipeline';
import { resolveStageTask } from './run-stage';
import type { StageRunner } from './stage-runner';
import { fromProtoStage } from './stage-codec';

export interface StageProcessorDeps extends ChainDeps {
  readonly runner: StageRunner;
  readonly defaults: StageDefaults;
  readonly log: Logger;
}

/**
 * The `process` of a worker's stage consumer: runStage (through the runner) + completeStage.
 * A stage whose outputs the job already records (a redelivery after a lost ack) is not run again,
 * only completed again, so the next stage is published without training twice.
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
    const started = Date.now();
    deps.log.info('stage started', fields);
    try {
      const outcome = await deps.runner.run(task, { progress: ctx.progress, signal: ctx.signal });
      const result = await completeStage(deps, { jobId: request.jobId, stage, outputs: outcome.outputs, deliveryCount: ctx.deliveryCount });
      deps.log.info('stage finished', {
        ...fields,
        durationMs: Date.now() - started,
        metrics: outcome.metrics,
        next: result.next ?? null,
        jobState: result.job.state,
      });
    } catch (error: unknown) {
      deps.log.warn('stage failed', { ...fields, durationMs: Date.now() - started, error });
      throw error;
    }
  };
}
