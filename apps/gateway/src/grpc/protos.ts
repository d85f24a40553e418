import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { PackageDefinition } from '@grpc/proto-loader';
import { loadSync } from '@grpc/proto-loader';
import { HEALTH_PROTO, healthProtoDir } from '@mitosis/service-kit';

/** The workspace's proto/ folder: the public mitosis.v1 API. */
export const apiProtoDir = path.resolve(__dirname, '..', '..', '..', '..', 'proto');

const loaderOptions = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true } as const;

/** The .proto files of the public API (mitosis/v1/*.proto), relative to proto/. */
export function publicProtoFiles(): string[] {
  return readdirSync(path.join(apiProtoDir, 'mitosis', 'v1'))
    .filter((name) => name.endsWith('.proto'))
    .sort()
    .map((name) => `mitosis/v1/${name}`);
}

/**
 * Everything the gateway serves, as one proto-loader package definition: the public API plus
 * health (service-kit's grpc.health.v1, which the stage workers serve too). Reflection describes exactly this, so `grpcurl list` shows what clients may call (the
 * internal stage events on NATS are not part of it).
 */
export function loadServedProtos(): PackageDefinition {
  return loadSync([...publicProtoFiles(), HEALTH_PROTO], { ...loaderOptions, includeDirs: [apiProtoDir, healthProtoDir] });
}
