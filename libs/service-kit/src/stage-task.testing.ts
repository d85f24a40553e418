import { keys } from './keys';
import type { IngestTask } from './stage-task';

/** An ingest task for specs: the video's source and frames at their layout keys, factor 2 asked for. */
export function ingestTask(videoId: string, extra: Partial<IngestTask> = {}): IngestTask {
  return {
    stage: 'ingest',
    jobId: 'j1',
    videoId,
    framesKey: keys.videoFrames(videoId),
    sourceKey: keys.videoSource(videoId),
    factor: 2,
    factorChosen: true,
    hints: {},
    ...extra,
  };
}
