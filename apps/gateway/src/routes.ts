import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { AnalysisServiceService, AnnotationServiceService, DetectionServiceService, JobServiceService, ModelServiceService, VideoServiceService } from '@mitosis/proto';
import { analysisService } from './services/analysis-service';
import { annotationService } from './services/annotation-service';
import type { ServiceContext } from './services/context';
import { detectionService } from './services/detection-service';
import { jobService } from './services/job-service';
import { modelService } from './services/model-service';
import { videoService } from './services/video-service';

/** One public service: its full name (health, reflection), definition and implementation. */
export interface Route {
  readonly name: string;
  readonly definition: ServiceDefinition;
  readonly implement: (ctx: ServiceContext) => UntypedServiceImplementation;
}

/** Every service of mitosis.v1, each implemented in its own file over the shared context. */
export const routes: readonly Route[] = [
  { name: 'mitosis.v1.VideoService', definition: VideoServiceService, implement: videoService },
  { name: 'mitosis.v1.JobService', definition: JobServiceService, implement: jobService },
  { name: 'mitosis.v1.AnalysisService', definition: AnalysisServiceService, implement: analysisService },
  { name: 'mitosis.v1.AnnotationService', definition: AnnotationServiceService, implement: annotationService },
  { name: 'mitosis.v1.ModelService', definition: ModelServiceService, implement: modelService },
  { name: 'mitosis.v1.DetectionService', definition: DetectionServiceService, implement: detectionService },
];
