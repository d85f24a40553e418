import type { RegisterVideoRequest, RegisterVideoResponse, UploadVideoRequest, UploadVideoResponse, VideoInfo, VideoServiceServer } from '@mitosis/proto';
import { Video } from '@mitosis/proto';
import type { CallContext } from '../grpc/calls';
import { checkAlive, clientStreaming, unary } from '../grpc/calls';
import type { VideoRecord } from '../storage/records';
import { readVideoRecord } from '../storage/records';
import { probeUpload } from '../upload/probe-upload';
import { receiveUpload } from '../upload/receive-upload';
import { probeOmeZarrReference } from '../upload/register-video';
import { findStoredVideo, oncePerContent, stagedSource, storeVideo } from '../upload/store-video';
import type { ServiceContext } from './context';

/** VideoInfo of a stored video: its size from the probe, and physical sizes where the file gave them. */
export function videoInfoOf(record: VideoRecord): VideoInfo {
  const { physical } = record;
  return {
    frameCount: record.frameCount,
    width: record.width,
    height: record.height,
    bitDepth: record.bitDepth,
    ...(physical?.pixelSizeUm === undefined ? {} : { pixelSizeXUm: physical.pixelSizeUm.x, pixelSizeYUm: physical.pixelSizeUm.y }),
    ...(physical?.frameIntervalS === undefined ? {} : { frameIntervalS: physical.frameIntervalS }),
    channels: record.channels ?? [],
    ...(record.channel ? { channel: record.channel } : {}),
  };
}

export function videoToProto(record: VideoRecord): Video {
  return Video.fromPartial({
    videoId: record.videoId,
    filename: record.filename,
    sizeBytes: record.sizeBytes,
    sha256: record.sha256,
    info: videoInfoOf(record),
    createTime: new Date(record.createdAt),
  });
}

const uploadResponse = (record: VideoRecord, alreadyStored: boolean): UploadVideoResponse => ({
  videoId: record.videoId,
  info: videoInfoOf(record),
  alreadyStored,
});

/**
 * Receive (size limit, byte count, SHA-256), probe and decode, and only then store: the store
 * sees nothing of an upload that fails any check, and a call that ends before its video is
 * committed stores nothing either. Bytes already stored (same SHA-256) give that video again,
 * once they passed the same checks.
 */
export async function uploadVideo(ctx: ServiceContext, messages: AsyncIterable<UploadVideoRequest>, call: CallContext): Promise<UploadVideoResponse> {
  const staged = await receiveUpload(messages, ctx.limits, call.signal);
  try {
    const probed = await probeUpload(staged, call.signal);
    checkAlive(call.signal);
    return await oncePerContent(staged.header.sha256, probed.channel ?? 0, async () => {
      const existing = await findStoredVideo(ctx.store, staged.header.sha256, probed.channel);
      if (existing !== undefined) {
        ctx.log.info('video already stored', { videoId: existing.videoId, sha256: existing.sha256, filename: staged.header.filename });
        return uploadResponse(existing, true);
      }
      const record = await storeVideo(ctx.store, stagedSource(staged), probed, call.signal, ctx.log);
      ctx.log.info('video stored', { ...record });
      return uploadResponse(record, false);
    });
  } finally {
    await staged.cleanup();
  }
}

/** An OME-Zarr already in the bucket becomes a video without a copy, checked as an upload is. */
export async function registerVideo(ctx: ServiceContext, request: RegisterVideoRequest, call: CallContext): Promise<RegisterVideoResponse> {
  const { source, probed } = await probeOmeZarrReference(ctx.store, request, call.signal);
  checkAlive(call.signal);
  return oncePerContent(source.header.sha256, probed.channel ?? 0, async () => {
    const existing = await findStoredVideo(ctx.store, source.header.sha256, probed.channel);
    if (existing !== undefined) return uploadResponse(existing, true);
    const record = await storeVideo(ctx.store, source, probed, call.signal, ctx.log);
    ctx.log.info('video registered', { ...record, prefix: request.omeZarrPrefix });
    return uploadResponse(record, false);
  });
}

export function videoService(ctx: ServiceContext): VideoServiceServer {
  return {
    registerVideo: unary(ctx.log, (request: RegisterVideoRequest, call) => registerVideo(ctx, request, call)),
    uploadVideo: clientStreaming(ctx.log, (messages: AsyncIterable<UploadVideoRequest>, call) => uploadVideo(ctx, messages, call)),
    getVideo: unary(ctx.log, async (request) => ({ video: videoToProto(await readVideoRecord(ctx.store, request.videoId)) })),
  };
}
