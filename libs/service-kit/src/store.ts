import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, createLocalBlobStore } from '@mitosis/core';
import type { S3StoreConfig } from '@mitosis/s3-store';
import { createS3BlobStore, describeS3Location, parseS3Url } from '@mitosis/s3-store';
import { withTransientRetries } from './transient-retry';

/**
 * Where the services keep their tensors and files, as parsed from MITOSIS_STORE: an S3/MinIO
 * bucket (`s3://key:secret@host:port/bucket/prefix?ssl=false`) or a local folder
 * (`file:///absolute/dir`, for one machine). Plain data, so it can be handed to a stage thread.
 */
export type StoreLocation =
  { readonly kind: 's3'; readonly s3: S3StoreConfig; readonly location: string } | { readonly kind: 'file'; readonly root: string; readonly location: string };

/** A BlobStore that also says where it is, without credentials (for logs). */
export type ServiceStore = BlobStore & { readonly location: string };

/**
 * Parses a store URL. Errors are InvalidInputErrors naming `variable` and never showing the
 * secret of an s3 URL.
 */
export function parseStoreUrl(text: string, variable = 'MITOSIS_STORE'): StoreLocation {
  const value = text.trim();
  if (value.startsWith('s3://')) {
    let s3: S3StoreConfig;
    try {
      s3 = parseS3Url(value);
    } catch (error: unknown) {
      throw new InvalidInputError(`${variable}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return { kind: 's3', s3, location: describeS3Location(s3) };
  }
  if (value.startsWith('file:')) {
    let root: string;
    try {
      root = fileURLToPath(value);
    } catch (error: unknown) {
      throw new InvalidInputError(`${variable} "${value}" is not a file URL of an absolute folder (file:///absolute/dir)`, { cause: error });
    }
    if (!path.isAbsolute(root)) throw new InvalidInputError(`${variable} "${value}" must name an absolute folder (file:///absolute/dir)`);
    return { kind: 'file', root, location: `file://${root}` };
  }
  // Show the scheme only: whatever follows may hold credentials.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(value)?.[0] ?? '(none)';
  throw new InvalidInputError(`${variable} has scheme ${scheme}; expected s3://key:secret@host:port/bucket/prefix or file:///absolute/dir`);
}

/**
 * The store of a service: S3 (the bucket is created when missing, safe when replicas race;
 * operations retried after a dropped connection, see withTransientRetries) or a local folder.
 * Takes the parsed location or a config holding one.
 */
export async function createStore(
  config: StoreLocation | { readonly store: StoreLocation },
  options: { readonly log?: { warn(message: string, fields?: Record<string, unknown>): void } } = {},
): Promise<ServiceStore> {
  const location = 'kind' in config ? config : config.store;
  if (location.kind === 's3') {
    const store = withTransientRetries(createS3BlobStore(location.s3), options.log ? { log: options.log } : {});
    await store.ensureBucket();
    return store;
  }
  return Object.assign(createLocalBlobStore(location.root), { location: location.location });
}
