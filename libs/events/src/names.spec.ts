import { InvalidInputError } from '@mitosis/core';
import { STAGES, checkJobId, eventNames, isStage } from './names';

describe('eventNames', () => {
  it('derives every subject and name from the prefix', () => {
    const names = eventNames('t_1');
    expect(names.workStream).toBe('t_1_WORK');
    expect(names.deadStream).toBe('t_1_DEAD');
    expect(names.eventsStream).toBe('t_1_JOB_EVENTS');
    expect(names.jobsBucket).toBe('t_1_jobs');
    expect(names.workSubject('m3-train')).toBe('t_1.work.m3-train');
    expect(names.deadSubject('ingest')).toBe('t_1.dead.ingest');
    expect(names.jobEventsSubject('job-7')).toBe('t_1.jobs.job-7.events');
    expect(names.stageConsumer('m2')).toBe('t_1_m2');
  });

  it("defaults to the production prefix 'mitosis'", () => {
    expect(eventNames().workSubject('m1')).toBe('mitosis.work.m1');
  });

  it('gives each stage a distinct work subject and consumer (work-queue filters may not overlap)', () => {
    const names = eventNames('p');
    expect(new Set(STAGES.map((s) => names.workSubject(s))).size).toBe(STAGES.length);
    expect(new Set(STAGES.map((s) => names.stageConsumer(s))).size).toBe(STAGES.length);
  });

  it.each(['', 'a.b', 'a b', 'a*', 'a>', 'x'.repeat(65)])('rejects the prefix %j', (prefix) => {
    expect(() => eventNames(prefix)).toThrow(InvalidInputError);
  });

  it('rejects an unknown stage and a job id that would break a subject', () => {
    const names = eventNames('p');
    expect(() => names.workSubject('m4' as never)).toThrow(/unknown stage "m4"/);
    expect(() => names.jobEventsSubject('a.b')).toThrow(InvalidInputError);
    expect(() => checkJobId('*')).toThrow(InvalidInputError);
    expect(checkJobId('job_1-A')).toBe('job_1-A');
  });

  it('recognises stages', () => {
    expect(isStage('m3-detect')).toBe(true);
    expect(isStage('m3')).toBe(false);
    expect(isStage(3)).toBe(false);
  });
});
