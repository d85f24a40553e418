export { createS3BlobStore } from './s3-blob-store';
export type { S3BlobStore } from './s3-blob-store';
export { parseS3Url, normalizeS3Config, describeS3Location, MIN_PART_SIZE, MAX_PART_SIZE, DEFAULT_PART_SIZE } from './config';
export type { S3StoreConfig } from './config';
