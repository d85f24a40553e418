import type { UploadVideoRequest, UploadVideoResponse, VideoServiceServer } from '@mitosis/proto';
import { Video } from '@mitosis/proto';
import type { CallContext } from '../grpc/calls';
import { checkAlive, clientStreaming, unary } from '../grpc/calls';
import type { VideoRecord } from '../storage/records';
import { readVideoRecord } from '../storage/records';
import { probeUpload } from '../upload/probe-upload';
import { receiveUpload } from '../upload/receive-upload';
import { storeVideo } from '../upload/store-video';
import type { ServiceContext } from './context';

export function videoToProto(record: VideoRecord): Video {
  return Video.fromPartial({
    videoId: record.videoId,
    filename: record.filename,
    sizeBytes: record.sizeBytes,
    sha256: record.sha256,
    info: { frameCount: record.frameCount, width: record.width, height: record.height, bitDepth: record.bitDepth },
    createTime: new Date(record.createdAt),
  });
}

/**
 * Receive (size limit, byte count, SHA-256), probe and decode, and only then store: the store
 * sees nothing of an upload that fails any check, and a cancelled call stores nothing either.
 */
export async function uploadVideo(ctx: ServiceContext, messages: AsyncIterable<UploadVideoRequest>, call: CallContext): Promise<UploadVideoResponse> {
  const staged = await receiveUpload(messages, ctx.limits, call.signal);
  try {
    const probed = await probeUpload(staged, call.signal);
    checkAlive(call.signal);
    const record = await storeVideo(ctx.store, staged, probed, ctx.log);
    ctx.log.info('video stored', { ...record });
    return { videoId: record.videoId, info: { frameCount: record.frameCount, width: record.width, height: record.height, bitDepth: record.bitDepth } };
  } finally {
    await staged.cleanup();
  }
}

export function videoService(ctx: ServiceContext): VideoServiceServer {
  return {
    uploadVideo: clientStreaming(ctx.log, (messages: AsyncIterable<UploadVideoRequest>, call) => uploadVideo(ctx, messages, call)),
    getVideo: unary(ctx.log, async (request) => ({ video: videoToProto(await readVideoRecord(ctx.store, request.videoId)) })),
  };
}
