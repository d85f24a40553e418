import { InvalidInputError } from '@mitosis/core';
import { arrayMetadataKey, keys } from './keys';

describe('keys', () => {
  it('lays out videos, analyses, annotations, models and detections as services.md says', () => {
    expect(keys.upload('u1')).toBe('uploads/u1');
    expect(keys.videoSource('v1')).toBe('videos/v1/source');
    expect(keys.videoInfo('v1')).toBe('videos/v1/video.json');
    expect(keys.videoFrames('v1')).toBe('videos/v1/frames');
    expect(keys.analysisPrefix('j1')).toBe('analyses/j1');
    expect(keys.analysis('j1')).toEqual({
      m1: 'analyses/j1/m1',
      featureMaps: 'analyses/j1/feature-maps',
      normalCellMap: 'analyses/j1/normal-cell-map',
      mapChoice: 'analyses/j1/normal-cell-map.json',
      m2: 'analyses/j1/m2',
      eventProbability: 'analyses/j1/event-probability',
      stats: 'analyses/j1/stats.json',
    });
    expect(keys.annotationSet('s1')).toBe('annotations/s1.json');
    expect(keys.model('m-1')).toBe('models/m-1');
    expect(keys.modelTraining('m-1')).toBe('models/m-1/training.json');
    expect(keys.detections('j2')).toBe('detections/j2/detections.json');
    expect(keys.detectionProbability('j2')).toBe('detections/j2/probability');
    expect(keys.stageManifest('j2', 'm3-detect')).toBe('manifests/j2/m3-detect.json');
    expect(arrayMetadataKey(keys.videoFrames('v1'))).toBe('videos/v1/frames/zarr.json');
  });

  it.each(['', '..', 'a/b', 'a.b', 'x'.repeat(129), 'white space'])('refuses the id %j, naming what it is', (id) => {
    expect(() => keys.videoSource(id)).toThrow(InvalidInputError);
    expect(() => keys.model(id)).toThrow(`model id "${id}"`);
  });
});
