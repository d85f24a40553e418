import { InvalidInputError } from '@mitosis/core';

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
  if (bytes.length >= 263 && ascii(bytes.subarray(257, 262)) === 'ustar') return 'frame-archive';
  const head = Array.from(bytes.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new InvalidInputError(`${source}: not a multi-page TIFF nor a tar archive of frames (starts with bytes ${head})`);
}

/**
 * The PNG/TIFF frame files of a tar archive (ustar, with GNU long names and pax `path` records),
 * in archive order; folders, links and other files are skipped. Malformed archives (bad header
 * checksum, a file running past the end, two frames of one name) are InvalidInputErrors naming
 * `source` and the entry.
 */
export function readFrameArchive(bytes: Uint8Array, source: string): ArchiveFrame[] {
  const frames: ArchiveFrame[] = [];
  const seen = new Set<string>();
  let offset = 0;
  let longName: string | undefined;
  let ended = false;
  while (offset + BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((x) => x === 0)) {
      ended = true; // end-of-archive marker
      break;
    }
    const entry = `${source}: tar entry at byte ${offset}`;
    if (octal(header.subarray(148, 156)) !== checksum(header)) throw new InvalidInputError(`${entry}: header checksum mismatch (corrupt archive)`);
    const size = octal(header.subarray(124, 136));
    if (size === undefined) throw new InvalidInputError(`${entry}: unreadable size field`);
    const start = offset + BLOCK;
    if (start + size > bytes.length) throw new InvalidInputError(`${entry}: ${size} bytes of content run past the end of the archive (truncated upload?)`);
    const data = bytes.subarray(start, start + size);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = ascii(header.subarray(345, 500));
    const name = longName ?? (prefix !== '' ? `${prefix}/${ascii(header.subarray(0, 100))}` : ascii(header.subarray(0, 100)));
    longName = undefined;
    if (type === 'L') {
      longName = ascii(data);
    } else if (type === 'x') {
      longName = paxPath(data);
    } else if (type === '0' || type === '\0') {
      const base = name.split('/').pop() ?? '';
      // Skip hidden files (macOS `._name` resource forks) and anything that is not a frame.
      if (FRAME_FILE.test(base) && !base.startsWith('.')) {
        if (seen.has(base)) throw new InvalidInputError(`${source}: two frames named ${base} in the archive`);
        seen.add(base);
        frames.push({ name: base, data });
      }
    }
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (!ended) throw new InvalidInputError(`${source}: the tar archive ends at byte ${bytes.length} without its end marker (truncated upload?)`);
  if (frames.length === 0) throw new InvalidInputError(`${source}: the tar archive holds no PNG or TIFF frames`);
  return frames;
}

/** A tar archive of files (ustar, regular files only): for tests and tools that make uploads. */
export function writeFrameArchive(files: readonly ArchiveFrame[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const file of files) {
    if (file.name.length > 99) throw new InvalidInputError(`tar entry name ${file.name} is longer than 99 characters`);
    const header = new Uint8Array(BLOCK);
    const put = (text: string, at: number): void => header.set(new TextEncoder().encode(text), at);
    put(file.name, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(`${file.data.length.toString(8).padStart(11, '0')}\0`, 124);
    put('00000000000\0', 136);
    put('0', 156);
    put('ustar\0', 257);
    put('00', 263);
    put(`${checksum(header).toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(header, file.data, new Uint8Array((BLOCK - (file.data.length % BLOCK)) % BLOCK));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function ascii(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function octal(bytes: Uint8Array): number | undefined {
  const text = ascii(bytes).trim();
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

/** Sum of the header bytes with the checksum field read as spaces. */
function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] ?? 0);
  return sum;
}

/** The `path` record of a pax extended header (`<len> path=<name>\n` lines), if any. */
function paxPath(data: Uint8Array): string | undefined {
  for (const line of new TextDecoder().decode(data).split('\n')) {
    const match = /^\d+ path=(.*)$/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}
