#!/usr/bin/env bash
# Regenerates libtiff-fixtures.json: small TIFFs compressed by libtiff's own tiffcp (Debian
# package libtiff-tools), so the reader is checked against an independent encoder. The source
# images are laid out by hand below (uncompressed, no code from libs/video), with the pixel
# formulas that tiff-reader.spec.ts recomputes:
#   8-bit page p:  (7x + 13y + 29p + (x*y mod 5)) mod 256
#   16-bit page p: (2003x + 4001y + 30011p + 17xy) mod 65536
#   noise16 (64x64, one page): xorshift32 from 2463534242, low 16 bits of each state; too
#   random for LZW to compress, so its codes grow to 12 bits and the table is cleared
#   float32 page p (IEEE single, SampleFormat 3): (x - 9)/4 + 1.5y - 3.125p + (xy mod 3)/8,
#   every value exact in 32 bits; the reader rescales it to 16-bit over both pages
# tiffcp writes BigTIFF (-8), big-endian (-B), tiles (-t -w -l) and zstd (-c zstd) from these
# too; ":2" after a codec is the horizontal predictor, ":3" the floating-point one.
# Usage: bash libs/video/src/__fixtures__/make-libtiff-fixtures.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

node - <<'JS'
const fs = require('node:fs');
const W = 24, H = 20;
// One uncompressed strip per page, little endian; entries: [tag, type(3 short|4 long), values].
// `format` 3 writes IEEE float samples (32-bit) and a SampleFormat tag.
function tiff(pages, spp, bits, W = 24, H = 20, format = 1) {
  const parts = [];
  let pos = 8;
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1'); header.writeUInt16LE(42, 2);
  parts.push(header);
  const ifdPatches = [];
  pages.forEach((pixels) => {
    const data = Buffer.alloc(pixels.length * bits / 8);
    pixels.forEach((v, i) => (format === 3 ? data.writeFloatLE(v, i * 4) : bits === 16 ? data.writeUInt16LE(v, i * 2) : data.writeUInt8(v, i)));
    const dataAt = pos; parts.push(data); pos += data.length + (data.length % 2);
    if (data.length % 2) parts.push(Buffer.alloc(1));
    const bitsAt = pos; const bitsBuf = Buffer.alloc(8); for (let s = 0; s < spp; s++) bitsBuf.writeUInt16LE(bits, s * 2);
    parts.push(bitsBuf); pos += 8;
    const entries = [[256, 4, W], [257, 4, H], [258, 3, spp === 1 ? bits : null], [259, 3, 1], [262, 3, spp === 1 ? 1 : 2],
      [273, 4, dataAt], [277, 3, spp], [278, 4, H], [279, 4, data.length], [284, 3, 1], ...(format === 3 ? [[339, 3, 3]] : [])];
    const ifd = Buffer.alloc(2 + entries.length * 12 + 4);
    ifd.writeUInt16LE(entries.length, 0);
    entries.forEach(([tag, type, value], k) => {
      const at = 2 + k * 12;
      ifd.writeUInt16LE(tag, at); ifd.writeUInt16LE(type, at + 2);
      ifd.writeUInt32LE(tag === 258 ? spp : 1, at + 4);
      if (tag === 258 && spp > 1) ifd.writeUInt32LE(bitsAt, at + 8);
      else if (type === 3) ifd.writeUInt16LE(value, at + 8); else ifd.writeUInt32LE(value, at + 8);
    });
    ifdPatches.push({ ifd, at: pos });
    parts.push(ifd); pos += ifd.length;
  });
  header.writeUInt32LE(ifdPatches[0].at, 4);
  ifdPatches.forEach(({ ifd }, k) => ifd.writeUInt32LE(k + 1 < ifdPatches.length ? ifdPatches[k + 1].at : 0, ifd.length - 4));
  return Buffer.concat(parts);
}
const grey8 = (p) => Array.from({ length: W * H }, (_, i) => { const x = i % W, y = (i - x) / W; return (7 * x + 13 * y + 29 * p + ((x * y) % 5)) % 256; });
const grey16 = (p) => Array.from({ length: W * H }, (_, i) => { const x = i % W, y = (i - x) / W; return (2003 * x + 4001 * y + 30011 * p + 17 * x * y) % 65536; });
const rgb = (pixels) => pixels.flatMap((v) => [v, v, v]);
fs.writeFileSync('src8.tif', tiff([grey8(0), grey8(1)], 1, 8));
fs.writeFileSync('src16.tif', tiff([grey16(0), grey16(1)], 1, 16));
fs.writeFileSync('rgb8.tif', tiff([rgb(grey8(0))], 3, 8));
let state = 2463534242;
const noise = Array.from({ length: 64 * 64 }, () => {
  state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
  return state & 0xffff;
});
fs.writeFileSync('noise16.tif', tiff([noise], 1, 16, 64, 64));
const float32 = (p) => Array.from({ length: W * H }, (_, i) => { const x = i % W, y = (i - x) / W; return (x - 9) / 4 + 1.5 * y - 3.125 * p + ((x * y) % 3) / 8; });
fs.writeFileSync('float32.tif', tiff([float32(0), float32(1)], 1, 32, W, H, 3));
JS

declare -A made
make() { # name, source, tiffcp options...
  local name="$1" src="$2"; shift 2
  tiffcp "$@" "$src" "$name.tif"
  made[$name]="$(base64 -w0 "$name.tif")"
}
make lzw8-le src8.tif -c lzw -r 7
make lzw8-be-predictor src8.tif -B -c lzw:2 -r 6
make packbits8-be src8.tif -B -c packbits -r 5
make zip8-tiled src8.tif -c zip:2 -t -w 16 -l 16
make lzw16-be-predictor src16.tif -B -c lzw:2 -r 8
make packbits16-le src16.tif -c packbits
make zip16-be-tiled src16.tif -B -c zip -t -w 16 -l 16
make lzw16-noise-be noise16.tif -B -c lzw
make rgb8-lzw-predictor rgb8.tif -c lzw:2
make rgb8-be-separate-lzw rgb8.tif -B -p separate -c lzw -r 4
make bigtiff8-lzw src8.tif -8 -c lzw:2 -r 7
make bigtiff16-be-zip-tiled src16.tif -8 -B -c zip:2 -t -w 16 -l 16
make zstd8 src8.tif -c zstd -r 6
make zstd16-be-predictor src16.tif -B -c zstd:2 -r 5
make zstd16-tiled src16.tif -c zstd -t -w 16 -l 16
make bigtiff-zstd16-be-tiled src16.tif -8 -B -c zstd:2 -t -w 16 -l 16
make float32-none float32.tif -c none
make float32-zip-fp float32.tif -c zip:3 -r 7
# Not -B with :3: libtiff 4.5 does not read back its own big-endian floating-point predictor.
make float32-be-lzw float32.tif -B -c lzw
make float32-bigtiff-zstd-tiled float32.tif -8 -c zstd:3 -t -w 16 -l 16

{
  echo '{'
  echo '  "about": "Generated by make-libtiff-fixtures.sh with libtiff tiffcp; do not edit by hand.",'
  first=1
  for name in $(printf '%s\n' "${!made[@]}" | sort); do
    [ $first -eq 1 ] || echo ','
    first=0
    printf '  "%s": "%s"' "$name" "${made[$name]}"
  done
  echo
  echo '}'
} > "$here/libtiff-fixtures.json"
echo "wrote $here/libtiff-fixtures.json"
