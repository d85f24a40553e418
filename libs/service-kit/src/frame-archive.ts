import { InvalidInputError } from '@mitosis/core';
import { extract, pack } from 'tar-stream';

/** The containers an uploaded video may come in (VideoFormat of mitosis.v1). */
export type SourceFormat = 'tiff' | 'frame-archive';

/** One frame file of a tar archive. */
export interface ArchiveFrame {
  /** The file's base name (folders inside the archive are ignored). */
  readonly name: string;
  readonly data: Uint8Array;
}

const BLOCK = 512;
const FRAME_FILE = /\.(png|tif|tiff)$/i;

/**
 * Tells a multi-page TIFF (`II*\0`, `MM\0*`, BigTIFF) from a tar archive (`ustar` at byte 257)
 * by their magic bytes; anything else is an InvalidInputError naming `source`.
 */
export function detectSourceFormat(bytes: Uint8Array, source: string): SourceFormat {
  if (bytes.length === 0) throw new InvalidInputError(`${source}: empty file`);
  const b = bytes;
  const tiff = (b[0] === 0x49 && b[1] === 0x49 && (b[2] === 42 || b[2] === 43) && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && (b[3] === 42 || b[3] === 43));
  if (tiff) return 'tiff';
  if (bytes.length >= 263 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar') return 'frame-archive';
  const head = Array.from(bytes.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new InvalidInputError(`${source}: not a multi-page TIFF nor a tar archive of frames (starts with bytes ${head})`);
}

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/**
 * The PNG/TIFF frame files of a tar archive (parsed by tar-stream: ustar, GNU long names, pax), in
 * archive order; folders, links and other files are skipped. Malformed archives (bad header
 * checksum, a file running past the end, no end marker, two frames of one name) are
 * InvalidInputErrors naming `source` and the entry's byte offset.
 */
export async function readFrameArchive(bytes: Uint8Array, source: string): Promise<ArchiveFrame[]> {
  const frames: ArchiveFrame[] = [];
  const seen = new Set<string>();
  // Where the entry being read starts (its pax or long-name headers included) and where it ends.
  let start = 0;
  let end = 0;
  let size: number | undefined;
  const parser = extract();
  parser.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    for await (const entry of parser) {
      start = end;
      size = entry.header.size;
      end = entry.offset + BLOCK + padded(size);
      const chunks: Uint8Array[] = [];
      for await (const chunk of entry) chunks.push(chunk as Uint8Array);
      size = undefined;
      const base = entry.header.name.split('/').pop() ?? '';
      // Skip hidden files (macOS `._name` resource forks) and anything that is not a frame.
      if (entry.header.type !== 'file' || !FRAME_FILE.test(base) || base.startsWith('.')) continue;
      if (seen.has(base)) throw new InvalidInputError(`${source}: two frames named ${base} in the archive`);
      seen.add(base);
      frames.push({ name: base, data: Buffer.concat(chunks) });
    }
  } catch (error: unknown) {
    if (error instanceof InvalidInputError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const entry = `${source}: tar entry at byte ${size === undefined ? end : start}`;
    if (size !== undefined) throw new InvalidInputError(`${entry}: ${size} bytes of content run past the end of the archive (truncated upload?)`, { cause: error });
    if (message.startsWith('Invalid tar header. Maybe the tar is corrupted')) throw new InvalidInputError(`${entry}: header checksum mismatch (corrupt archive)`, { cause: error });
    if (message === 'Unexpected end of data') throw new InvalidInputError(`${entry}: the tar archive is cut inside a header (truncated upload?)`, { cause: error });
    throw new InvalidInputError(`${entry}: ${message}`, { cause: error });
  }
  // tar-stream accepts an archive cut right after an entry; a complete one has a zero block there.
  if (!(end + BLOCK <= bytes.length && bytes.subarray(end, end + BLOCK).every((x) => x === 0))) {
    throw new InvalidInputError(`${source}: the tar archive ends at byte ${bytes.length} without its end marker (truncated upload?)`);
  }
  if (frames.length === 0) throw new InvalidInputError(`${source}: the tar archive holds no PNG or TIFF frames`);
  return frames;
}

/** A tar archive of files (ustar, written by tar-stream): for tests and tools that make uploads. */
export async function writeFrameArchive(files: readonly ArchiveFrame[]): Promise<Uint8Array> {
  const packer = pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const chunk of packer) chunks.push(chunk as Uint8Array);
  })();
  for (const file of files) {
    await new Promise<void>((resolve, reject) =>
      packer.entry({ name: file.name, size: file.data.length, mode: 0o644, mtime: new Date(0) }, file.data, (error) => (error ? reject(error) : resolve())),
    );
  }
  packer.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}
