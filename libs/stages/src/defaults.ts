/**
 * The method's defaults, in one place: the CLI's option defaults, the services' stage defaults
 * (MITOSIS_* overrides start from these) and the defaults the proto documents all read this
 * table, so `mitosis analyze/train/detect` and a gRPC job that leaves an option at 0 or absent
 * compute the same thing. Where a value departs from the paper, the field says why.
 */
export const METHOD_DEFAULTS = {
  /**
   * Spatial downscaling of ingest (paper: 4, 1040x1392 -> 260x348): 'auto' measures the cells'
   * radius on the raw frames and takes the factor up to 4 that brings it closest to 1.5 px (the paper's factor 4 on CeTReS.B).
   */
  factor: 'auto' as 'auto' | number,
  /** Flat-field correction of uneven illumination before the rescale (the paper rescales only). */
  flatField: true,
  /** Seed of every random choice. */
  seed: 1,
  m1: {
    /** M1 training updates. */
    iterations: 400,
    /** Side of the square M1 training crops, downscaled pixels. */
    crop: 96,
    /** Number n of feature maps (paper III.C: 6). */
    featureMaps: 6,
  },
  /** Cleaning of the binarised normal-cell map before M2 learns on it. */
  cleaning: {
    /** Erosions (paper III.C: 1): 'auto' is the paper's 1, and none when y_t so made gives M2 too few events. */
    erosions: 'auto' as 'auto' | number,
    /** Components under this many pixels dropped: 'auto' keeps all (paper), and drops specks under 3 px without erosion. */
    minArea: 'auto' as 'auto' | number,
    /** Trajectories present in fewer frames dropped; 0 keeps all, as the paper. */
    minFrames: 0,
  },
  m2: {
    /** M2 training updates. */
    iterations: 300,
    /** Side of the M2 training crops; the M1 crop unless set. */
    crop: 96,
    /** Sequences per M2 update. */
    batch: 2,
    /** Weight of event voxels in M2's loss (paper eqs. 11-12: 1). */
    positiveWeight: 1,
    /** Pixels along each crop edge left out of the loss (paper: 0, whole frames). */
    lossMargin: 0,
    /** Frames per M2 training sequence. */
    sequenceLength: 16,
    /** M2 trainings from successive seeds; k is the median of their k (the paper trains once). */
    runs: 3,
  },
  m3: {
    /** M3 training updates (paper III.H: 6000; fewer, with weighted positives, train in minutes). */
    iterations: 800,
    /** Side of the square M3 training crops (paper: whole frames). */
    crop: 32,
    /** Windows per M3 update. */
    batch: 4,
    /** Weight of mitosis voxels in the loss (paper: 1, with 6000 updates; a few hundred need the rare positives weighted). */
    positiveWeight: 20,
    /** Detection threshold stored with the model: 'auto' picks the best F1 on the annotated frames (paper: 0.5). */
    threshold: 'auto' as 'auto' | number,
    /** Temporal step between detection windows (paper III.G: 2). */
    windowStep: 2,
    /** Detections within this many downscaled pixels and 3 frames are merged (paper: 0). */
    mergeDistance: 6,
  },
} as const;

export type MethodDefaults = typeof METHOD_DEFAULTS;
