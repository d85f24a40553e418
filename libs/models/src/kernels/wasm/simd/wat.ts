/**
 * The source of the project's own WebAssembly module: element-wise loops that JS ran one float
 * at a time (2-20 ns an element), written with 128-bit SIMD. The module imports the wasm
 * backend's memory, so its functions work in place on the heap the tensors live in, given byte
 * offsets. `npx nx run models:generate-simd` assembles this text with wabt into binary.gen.ts
 * (committed; CI reassembles it and fails on a stale copy, as for the proto code).
 *
 * The text is built here rather than written as a .wat file so that exp, the sigmoid and tanh
 * are spelled once and expanded inline at every use: a wasm call per vector would cost about as
 * much as the arithmetic, and V8 11 (Node 20) does not inline wasm into wasm.
 *
 * Accuracy (float32 lanes; simd.spec.ts measures it against float64):
 * - exp: x clamped to [-87.3, 88.3], x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split), e^r by
 *   its Taylor polynomial to r^7 (truncation < 6e-9 relative), times 2^n put together in the
 *   exponent bits: under 3e-7 relative (2-3 float32 ulp).
 * - sigmoid(x) = 1 / (1 + e^-x): under 2e-7 absolute and 3e-7 relative; below x = -87.3 it
 *   returns ~6e-39 instead of the true value (absolute error below 1e-38).
 * - tanh(x) = (1 - e^-2x) / (1 + e^-2x), and by its odd polynomial to x^7 where |x| < 0.125,
 *   where the quotient would lose relative accuracy: absolute error < 2e-7 (1.3e-7 seen).
 */

/** How the memory import is declared: the threaded build's heap is a shared memory. */
export type MemoryKind = 'unshared' | 'shared';

/**
 * Vector constants in use by the function being built. V8 materialises a v128.const at every
 * use (a load or a few moves); each constant instead becomes a local set once on entry, which
 * the register allocator keeps in a register or a stack slot. Alone it changed nothing
 * measurable (the sigmoid stayed at ~3.2 ns an element: see `activate` for what did); it keeps
 * the code small.
 */
let constants: Map<string, string> | undefined;

const f32 = (v: number): string => {
  const text = String(Math.fround(v));
  if (constants === undefined) throw new Error('wat: a constant outside a function');
  let name = constants.get(text);
  if (name === undefined) {
    name = `$k${constants.size}`;
    constants.set(text, name);
  }
  return `(local.get ${name})`;
};

/** Builds one function's text, whose `(;constants;)` marker becomes the constant locals' declarations and settings. */
function withConstants(build: () => string): string {
  constants = new Map();
  try {
    const text = build();
    const declared = [...constants.values()].map((name) => `(local ${name} v128)`).join(' ');
    const set = [...constants.entries()].map(([value, name]) => `(local.set ${name} (v128.const f32x4 ${value} ${value} ${value} ${value}))`).join('\n    ');
    return text.replace('(;constants;)', `${declared}\n    ${set}`);
  } finally {
    constants = undefined;
  }
}
const get = (name: string): string => `(local.get ${name})`;
const mul = (a: string, b: string): string => `(f32x4.mul ${a} ${b})`;
const add = (a: string, b: string): string => `(f32x4.add ${a} ${b})`;
const sub = (a: string, b: string): string => `(f32x4.sub ${a} ${b})`;
const at = (base: string, offset?: string): string => (offset === undefined ? get(base) : `(i32.add ${get(base)} ${get(offset)})`);
const load = (base: string, offset?: string): string => `(v128.load ${at(base, offset)})`;
const store = (base: string, offset: string | undefined, value: string): string => `(v128.store ${at(base, offset)} ${value})`;
const one = (): string => f32(1);

/** c0 + x (c1 + x (c2 + ...)) */
function horner(x: string, coefficients: readonly number[]): string {
  const [c0, ...rest] = coefficients;
  if (c0 === undefined) throw new Error('horner: no coefficients');
  return rest.length === 0 ? f32(c0) : add(f32(c0), mul(x, horner(x, rest)));
}

const expTaylor = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];
/** tanh(x) = x - x^3/3 + 2x^5/15 - 17x^7/315: as x (1 + x^2 (...)), in x^2. */
const tanhOdd = [1, -1 / 3, 2 / 15, -17 / 315];
/** Cody-Waite: ln 2 = hi + lo with hi exact in few bits, so n * hi is exact for |n| <= 128. */
const ln2Hi = 0.693359375;
const ln2Lo = -2.1219444e-4;

/** The most independent vectors one expansion interleaves (each has its own scratch locals). */
const maxStreams = 4;
/** Scratch locals of the inline expansions, `$ex0`..: each expansion is done with them before the next. */
const scratch = Array.from({ length: maxStreams }, (_, s) => ['$ex', '$en', '$ep', '$tx', '$tb'].map((name) => `${name}${s}`)).flat();

/**
 * Added to x log2 e, 1.5 * 2^23 + 127 rounds it to the nearest integer n, held plus 127 (the
 * exponent bias) in the low mantissa bits; subtracting it again gives n as a float.
 */
const roundingBias = 12582912 + 127;

type Activation = 'exp' | 'sigmoid' | 'tanh';
interface Stream {
  target: string;
  arg: string;
  kind: Activation;
}

/**
 * Statements setting each stream's target to its activation of its argument (read once). The
 * streams are independent and advance step by step together: one exp is a chain of ~25
 * dependent operations, and a single chain per loop iteration left the core waiting on latency
 * (timings in docs/history.md); four chains interleaved keep it busy. The formulas are in the
 * header; n = round(x log2 e) comes from adding the rounding bias, not from nearest + trunc.
 */
function activate(streams: readonly Stream[]): string[] {
  if (streams.length > maxStreams) throw new Error(`wat: at most ${maxStreams} streams, got ${streams.length}`);
  const each = (line: (s: number, stream: Stream) => string | undefined): string[] =>
    streams.flatMap((stream, s) => {
      const text = line(s, stream);
      return text === undefined ? [] : [text];
    });
  const v = (name: string, s: number): string => get(`$${name}${s}`);
  // The argument of exp: -x for the sigmoid, -2x for tanh (x kept in $tx).
  const expArg = (s: number, { arg, kind }: Stream): string => (kind === 'exp' ? arg : kind === 'sigmoid' ? `(f32x4.neg ${arg})` : mul(v('tx', s), f32(-2)));
  return [
    ...each((s, stream) => (stream.kind === 'tanh' ? `(local.set $tx${s} ${stream.arg})` : undefined)),
    // pmax/pmin (a < b ? b : a) are single instructions where min/max handle NaN and -0 in several;
    // with x first a NaN still comes through.
    ...each((s, stream) => `(local.set $ex${s} (f32x4.pmin (f32x4.pmax ${expArg(s, stream)} ${f32(-87.3)}) ${f32(88.3)}))`),
    ...each((s) => `(local.set $en${s} ${add(mul(v('ex', s), f32(Math.LOG2E)), f32(roundingBias))})`),
    ...each((s) => `(local.set $ep${s} ${sub(v('en', s), f32(roundingBias))})`),
    ...each((s) => `(local.set $ex${s} ${sub(sub(v('ex', s), mul(v('ep', s), f32(ln2Hi))), mul(v('ep', s), f32(ln2Lo)))})`),
    ...each((s) => `(local.set $ex${s} ${horner(v('ex', s), expTaylor)})`),
    // 2^n: the biased n shifted into the exponent field (the bias's own high bits shift out).
    ...each((s) => `(local.set $ex${s} ${mul(v('ex', s), `(i32x4.shl ${v('en', s)} (i32.const 23))`)})`),
    ...each((s, { target, kind }) => {
      const e = v('ex', s);
      if (kind === 'exp') return `(local.set ${target} ${e})`;
      if (kind === 'sigmoid') return `(local.set ${target} (f32x4.div ${one()} ${add(one(), e)}))`;
      return `(local.set $tb${s} (f32x4.div ${sub(one(), e)} ${add(one(), e)}))`;
    }),
    ...each((s, { target, kind }) => {
      if (kind !== 'tanh') return undefined;
      const x = v('tx', s);
      return `(local.set ${target} (v128.bitselect ${mul(x, horner(mul(x, x), tanhOdd))} ${v('tb', s)} (f32x4.lt (f32x4.abs ${x}) ${f32(0.125)})))`;
    }),
  ];
}

const locals = (type: string, names: readonly string[]): string => names.map((n) => `(local ${n} ${type})`).join(' ');
const body = (lines: readonly string[]): string => lines.map((l) => `      ${l}`).join('\n');

/**
 * The loops both cell functions share: every pixel, and in it every vector of 4 of its `hidden`
 * state channels, with $e the byte offset into the state arrays, $j the byte offset of the
 * vector in a pixel's gate row ($hb, $hb2, $hb3: one, two, three gate blocks of it) and the
 * 4-gate row pointer `gates` moved on a pixel at a time. Needs the locals `loopLocals`.
 */
const loopLocals = '(local $hb i32) (local $hb2 i32) (local $hb3 i32) (local $e i32) (local $j i32) (local $p i32)';
function pixelLanes(gates: string, lane: readonly string[]): string {
  return `    (local.set $hb (i32.shl (local.get $hidden) (i32.const 2)))
    (local.set $hb2 (i32.shl (local.get $hb) (i32.const 1)))
    (local.set $hb3 (i32.add (local.get $hb2) (local.get $hb)))
    (block $pixelsDone (loop $pixel
      (br_if $pixelsDone (i32.ge_u (local.get $p) (local.get $pixels)))
      (local.set $j (i32.const 0))
      (block $rowDone (loop $lane
        (br_if $rowDone (i32.ge_u (local.get $j) (local.get $hb)))
${body([...lane, '(local.set $j (i32.add (local.get $j) (i32.const 16)))', '(local.set $e (i32.add (local.get $e) (i32.const 16)))', '(br $lane)))'])}
      (local.set ${gates} (i32.add (local.get ${gates}) (i32.shl (local.get $hb) (i32.const 2))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pixel)))`;
}

/**
 * cell_forward(z, c, h, cNext, keep, i, f, o, g, tanhC, pixels, hidden): the ConvLSTM step's
 * element-wise forward (conv-lstm-cell.ts). z holds [pixels, 4 hidden] gate pre-activations
 * (order i, f, o, g); c, h, cNext and the kept gates hold [pixels, hidden]; hidden % 4 == 0.
 *   i, f, o = sig(z_i), sig(z_f), sig(z_o)   g = tanh(z_g)   c' = f c + i g   h' = o tanh(c')
 * The gates and tanh(c') are written only when keep is non-zero.
 *
 * Two passes: the first gives the four gates of a vector of cells as four interleaved streams
 * and writes c' (and o into h); the second takes tanh(c') four vectors at a time and makes
 * h' = o tanh(c'). Done in one pass, tanh(c') was a lone chain after the gates and cost as much
 * as they did (docs/history.md).
 */
function cellForward(): string {
  /** Pass 2 over `streams` vectors from byte $e: h = o tanh(c'), tanh(c') kept if asked. */
  const finish = (streams: number): string[] => {
    const group = Array.from({ length: streams }, (_, s) => ({
      target: `$t${s}`,
      arg: `(v128.load offset=${16 * s} (i32.add (local.get $cn) (local.get $e)))`,
      kind: 'tanh' as const,
    }));
    const at = (base: string, s: number): string => `offset=${16 * s} (i32.add (local.get ${base}) (local.get $e))`;
    return [
      ...activate(group),
      ...group.map(({ target }, s) => `(v128.store ${at('$h', s)} ${mul(`(v128.load ${at('$h', s)})`, get(target))})`),
      `(if (local.get $keep) (then ${group.map(({ target }, s) => `(v128.store ${at('$gt', s)} ${get(target)})`).join(' ')}))`,
      `(local.set $e (i32.add (local.get $e) (i32.const ${16 * streams})))`,
    ];
  };
  return withConstants(
    () => `
  (func (export "cell_forward")
    (param $z i32) (param $c i32) (param $h i32) (param $cn i32) (param $keep i32)
    (param $gi i32) (param $gf i32) (param $go i32) (param $gg i32) (param $gt i32)
    (param $pixels i32) (param $hidden i32)
    ${loopLocals} (local $zq i32) (local $end i32)
    ${locals('v128', [...scratch, '$si', '$sf', '$so', '$tg', '$vc', ...Array.from({ length: maxStreams }, (_, s) => `$t${s}`)])}
    (;constants;)
${pixelLanes('$z', [
  '(local.set $zq (i32.add (local.get $z) (local.get $j)))',
  ...activate([
    { target: '$si', arg: load('$zq'), kind: 'sigmoid' },
    { target: '$sf', arg: load('$zq', '$hb'), kind: 'sigmoid' },
    { target: '$so', arg: load('$zq', '$hb2'), kind: 'sigmoid' },
    { target: '$tg', arg: load('$zq', '$hb3'), kind: 'tanh' },
  ]),
  `(local.set $vc ${add(mul(get('$sf'), load('$c', '$e')), mul(get('$si'), get('$tg')))})`,
  store('$cn', '$e', get('$vc')),
  store('$h', '$e', get('$so')),
  `(if (local.get $keep) (then
        ${store('$gi', '$e', get('$si'))}
        ${store('$gf', '$e', get('$sf'))}
        ${store('$go', '$e', get('$so'))}
        ${store('$gg', '$e', get('$tg'))}))`,
])}
    ;; Pass 2; $e now holds the state's size in bytes.
    (local.set $end (local.get $e))
    (local.set $e (i32.const 0))
    (block $groupsDone (loop $group
      (br_if $groupsDone (i32.gt_u (i32.add (local.get $e) (i32.const ${16 * maxStreams})) (local.get $end)))
${body([...finish(maxStreams), '(br $group)))'])}
    (block $vectorsDone (loop $vector
      (br_if $vectorsDone (i32.ge_u (local.get $e) (local.get $end)))
${body([...finish(1), '(br $vector)))'])}
  )`,
  );
}

/**
 * cell_backward(dh, dcIn, c, i, f, o, g, tanhC, dz, dcPrev, sums, pixels, hidden): the step's
 * element-wise backward (conv-lstm-cell-grad.ts). State-shaped arrays are [pixels, hidden], dz is
 * [pixels, 4 hidden]; sums is 4 hidden float64 to which every dz is added in float64 (the gate
 * bias gradient; the caller zeroes it). With h' = o tanh(c'), c' = f c + i g:
 *   dc = dcIn + dh o (1 - tanh^2 c')   dz_i = dc g i (1 - i)   dz_f = dc c f (1 - f)
 *   dz_o = dh tanh(c') o (1 - o)       dz_g = dc i (1 - g^2)   dcPrev = dc f
 */
function cellBackward(): string {
  const gates = ['$zi', '$zf', '$zo', '$zg'];
  const offsets = [undefined, '$hb', '$hb2', '$hb3'];
  // The high pair of float32 lanes moved to the low pair, for the second f64x2.promote.
  const high = (v: string): string => `(i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v})`;
  const accumulate = (k: number): string[] => {
    const gate = gates[k] as string;
    const base = `(i32.add (local.get $sums) (i32.shl (i32.add (local.get $j) ${k === 0 ? '(i32.const 0)' : `(local.get ${offsets[k]})`}) (i32.const 1)))`;
    return [
      `(local.set $q ${base})`,
      `(v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (f64x2.promote_low_f32x4 ${get(gate)})))`,
      `(v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q)) (f64x2.promote_low_f32x4 ${high(get(gate))})))`,
    ];
  };
  return withConstants(
    () => `
  (func (export "cell_backward")
    (param $dh i32) (param $dci i32) (param $c i32) (param $gi i32) (param $gf i32) (param $go i32)
    (param $gg i32) (param $gt i32) (param $dz i32) (param $dcp i32) (param $sums i32)
    (param $pixels i32) (param $hidden i32)
    ${loopLocals} (local $zq i32) (local $q i32)
    ${locals('v128', ['$vh', '$vi', '$vf', '$vo', '$vg', '$vt', '$dc', ...gates])}
    (;constants;)
${pixelLanes('$dz', [
  `(local.set $vh ${load('$dh', '$e')})`,
  `(local.set $vi ${load('$gi', '$e')})`,
  `(local.set $vf ${load('$gf', '$e')})`,
  `(local.set $vo ${load('$go', '$e')})`,
  `(local.set $vg ${load('$gg', '$e')})`,
  `(local.set $vt ${load('$gt', '$e')})`,
  `(local.set $dc ${add(load('$dci', '$e'), mul(mul(get('$vh'), get('$vo')), sub(one(), mul(get('$vt'), get('$vt')))))})`,
  `(local.set $zi ${mul(mul(get('$dc'), get('$vg')), mul(get('$vi'), sub(one(), get('$vi'))))})`,
  `(local.set $zf ${mul(mul(get('$dc'), load('$c', '$e')), mul(get('$vf'), sub(one(), get('$vf'))))})`,
  `(local.set $zo ${mul(mul(get('$vh'), get('$vt')), mul(get('$vo'), sub(one(), get('$vo'))))})`,
  `(local.set $zg ${mul(mul(get('$dc'), get('$vi')), sub(one(), mul(get('$vg'), get('$vg'))))})`,
  '(local.set $zq (i32.add (local.get $dz) (local.get $j)))',
  ...gates.map((gate, k) => store('$zq', offsets[k], get(gate))),
  store('$dcp', '$e', mul(get('$dc'), get('$vf'))),
  ...[0, 1, 2, 3].flatMap(accumulate),
])}
  )`,
  );
}

/**
 * copy_rows32(dst, dstStride, src, srcStride, rows, run): `rows` runs of `run` 4-byte elements,
 * rows `srcStride` / `dstStride` elements apart (Concat interleaving an input into its output).
 * Four elements at a time, then one at a time; the regions must not overlap.
 */
function copyRows32(): string {
  return `
  (func (export "copy_rows32")
    (param $dst i32) (param $dstStride i32) (param $src i32) (param $srcStride i32) (param $rows i32) (param $run i32)
    (local $d i32) (local $s i32) (local $left i32)
    (local.set $dstStride (i32.shl (local.get $dstStride) (i32.const 2)))
    (local.set $srcStride (i32.shl (local.get $srcStride) (i32.const 2)))
    (block $rowsDone (loop $row
      (br_if $rowsDone (i32.eqz (local.get $rows)))
      (local.set $d (local.get $dst))
      (local.set $s (local.get $src))
      (local.set $left (local.get $run))
      (block $vectorsDone (loop $vector
        (br_if $vectorsDone (i32.lt_u (local.get $left) (i32.const 4)))
        (v128.store (local.get $d) (v128.load (local.get $s)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))
        (br $vector)))
      (block $scalarsDone (loop $scalar
        (br_if $scalarsDone (i32.eqz (local.get $left)))
        (i32.store (local.get $d) (i32.load (local.get $s)))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (local.set $left (i32.sub (local.get $left) (i32.const 1)))
        (br $scalar)))
      (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
      (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $row)))
  )`;
}

/**
 * filter_grad(x, dy, dw, batch, height, width, cin, cout, kh, kw, padTop, padLeft, outH, outW,
 * ci0, ci1), for the input channels ci0 <= ci < ci1 (disjoint ranges write disjoint parts of dW,
 * so two threads may share the work):
 * dW[fh, fw, ci, co] += sum over b, oy, ox of x[b, oy + fh - padTop, ox + fw - padLeft, ci] *
 * dy[b, oy, ox, co], the filter gradient of a stride-1 NHWC convolution, read in place: no
 * im2col, no packing. cout % 4 == 0; the caller zeroes dw; x and dy must not overlap dw. Per output row, filter tap (fh, fw)
 * and pair of input channels, 16 output channels at a time (8 accumulators: 2 taps x 4 vectors)
 * run along the row; a last odd channel and cout % 16 go 1 tap / 1 vector at a time.
 */
function filterGrad(): string {
  /** The accumulation over a row for `taps` input channels and `vectors` x 4 output channels. */
  const tapLoop = (taps: 1 | 2, vectors: 1 | 4): string => {
    const acc = (t: number, v: number): string => `$a${t}${v}`;
    const lines: string[] = [];
    // Each row's sum starts from zero and is added to dW after it: 'sum of row sums' keeps the
    // float32 rounding to that of ~outW terms plus ~outH row sums, not of every pixel in turn.
    for (let t = 0; t < taps; t++) {
      for (let v = 0; v < vectors; v++) lines.push(`(local.set ${acc(t, v)} (v128.const i32x4 0 0 0 0))`);
    }
    lines.push('(local.set $xp (i32.add (local.get $xs) (i32.shl (local.get $ci) (i32.const 2))))');
    lines.push('(local.set $dp (i32.add (local.get $ds) (local.get $co)))');
    lines.push('(local.set $i (local.get $n))');
    lines.push('(loop $pixel');
    for (let t = 0; t < taps; t++) lines.push(`  (local.set $s${t} (v128.load32_splat offset=${4 * t} (local.get $xp)))`);
    for (let v = 0; v < vectors; v++) lines.push(`  (local.set $d${v} (v128.load offset=${16 * v} (local.get $dp)))`);
    for (let t = 0; t < taps; t++) {
      for (let v = 0; v < vectors; v++) lines.push(`  (local.set ${acc(t, v)} ${add(get(acc(t, v)), mul(get(`$s${t}`), get(`$d${v}`)))})`);
    }
    lines.push('  (local.set $xp (i32.add (local.get $xp) (local.get $xPix)))');
    lines.push('  (local.set $dp (i32.add (local.get $dp) (local.get $coutB)))');
    lines.push('  (local.set $i (i32.sub (local.get $i) (i32.const 1)))');
    lines.push('  (br_if $pixel (local.get $i)))');
    for (let t = 0; t < taps; t++) {
      for (let v = 0; v < vectors; v++) {
        const where = `offset=${16 * v} (i32.add (local.get $wp) (i32.mul (i32.const ${t}) (local.get $coutB)))`;
        lines.push(`(v128.store ${where} ${add(`(v128.load ${where})`, get(acc(t, v)))})`);
      }
    }
    return lines.map((l) => `              ${l}`).join('\n');
  };
  /** Output-channel blocks for `taps` input channels from $ci: 16 at a time, then 4 at a time. */
  const channels = (taps: 1 | 2): string => `
            (local.set $co (i32.const 0))
            (block $wideDone (loop $wide
              (br_if $wideDone (i32.gt_u (i32.add (local.get $co) (i32.const 64)) (local.get $coutB)))
              (local.set $wp (i32.add (i32.add (local.get $tap) (i32.mul (local.get $ci) (local.get $coutB))) (local.get $co)))
${tapLoop(taps, 4)}
              (local.set $co (i32.add (local.get $co) (i32.const 64)))
              (br $wide)))
            (block $narrowDone (loop $narrow
              (br_if $narrowDone (i32.ge_u (local.get $co) (local.get $coutB)))
              (local.set $wp (i32.add (i32.add (local.get $tap) (i32.mul (local.get $ci) (local.get $coutB))) (local.get $co)))
${tapLoop(taps, 1)}
              (local.set $co (i32.add (local.get $co) (i32.const 16)))
              (br $narrow)))`;
  const accumulators = [0, 1].flatMap((t) => [0, 1, 2, 3].map((v) => `$a${t}${v}`));
  return `
  (func (export "filter_grad")
    (param $x i32) (param $dy i32) (param $dw i32) (param $batch i32) (param $height i32) (param $width i32)
    (param $cin i32) (param $cout i32) (param $kh i32) (param $kw i32) (param $padTop i32) (param $padLeft i32)
    (param $outH i32) (param $outW i32) (param $ci0 i32) (param $ci1 i32)
    (local $b i32) (local $oy i32) (local $fh i32) (local $fw i32) (local $iy i32) (local $ox0 i32) (local $ox1 i32) (local $n i32)
    (local $xPix i32) (local $coutB i32) (local $xRowB i32) (local $dyRowB i32) (local $xImg i32) (local $dyRow i32)
    (local $xs i32) (local $ds i32) (local $tap i32) (local $ci i32) (local $co i32) (local $wp i32) (local $xp i32) (local $dp i32) (local $i i32)
    ${locals('v128', [...accumulators, '$s0', '$s1', '$d0', '$d1', '$d2', '$d3'])}
    (local.set $xPix (i32.shl (local.get $cin) (i32.const 2)))
    (local.set $coutB (i32.shl (local.get $cout) (i32.const 2)))
    (local.set $xRowB (i32.mul (local.get $width) (local.get $xPix)))
    (local.set $dyRowB (i32.mul (local.get $outW) (local.get $coutB)))
    (block $imagesDone (loop $image
      (br_if $imagesDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $xImg (i32.add (local.get $x) (i32.mul (i32.mul (local.get $b) (local.get $height)) (local.get $xRowB))))
      (local.set $oy (i32.const 0))
      (block $rowsDone (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $oy) (local.get $outH)))
        (local.set $dyRow (i32.add (local.get $dy) (i32.mul (i32.add (i32.mul (local.get $b) (local.get $outH)) (local.get $oy)) (local.get $dyRowB))))
        (local.set $fh (i32.const 0))
        (block $fhDone (loop $filterRow
          (br_if $fhDone (i32.ge_u (local.get $fh) (local.get $kh)))
          (local.set $iy (i32.sub (i32.add (local.get $oy) (local.get $fh)) (local.get $padTop)))
          (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $height))) (then
          (local.set $fw (i32.const 0))
          (block $fwDone (loop $filterColumn
            (br_if $fwDone (i32.ge_u (local.get $fw) (local.get $kw)))
            ;; Output columns whose input column ox + fw - padLeft is inside the image.
            (local.set $ox0 (i32.sub (local.get $padLeft) (local.get $fw)))
            (if (i32.lt_s (local.get $ox0) (i32.const 0)) (then (local.set $ox0 (i32.const 0))))
            (local.set $ox1 (i32.sub (i32.add (local.get $width) (local.get $padLeft)) (local.get $fw)))
            (if (i32.gt_s (local.get $ox1) (local.get $outW)) (then (local.set $ox1 (local.get $outW))))
            (local.set $n (i32.sub (local.get $ox1) (local.get $ox0)))
            (if (i32.gt_s (local.get $n) (i32.const 0)) (then
            (local.set $xs (i32.add (i32.add (local.get $xImg) (i32.mul (local.get $iy) (local.get $xRowB)))
              (i32.mul (i32.sub (i32.add (local.get $ox0) (local.get $fw)) (local.get $padLeft)) (local.get $xPix))))
            (local.set $ds (i32.add (local.get $dyRow) (i32.mul (local.get $ox0) (local.get $coutB))))
            (local.set $tap (i32.add (local.get $dw) (i32.mul (i32.add (i32.mul (local.get $fh) (local.get $kw)) (local.get $fw)) (i32.mul (local.get $cin) (local.get $coutB)))))
            (local.set $ci (local.get $ci0))
            (block $pairsDone (loop $pair
              (br_if $pairsDone (i32.gt_u (i32.add (local.get $ci) (i32.const 2)) (local.get $ci1)))
${channels(2)}
              (local.set $ci (i32.add (local.get $ci) (i32.const 2)))
              (br $pair)))
            (if (i32.lt_u (local.get $ci) (local.get $ci1)) (then
${channels(1)}
            ))))
            (local.set $fw (i32.add (local.get $fw) (i32.const 1)))
            (br $filterColumn)))))
          (local.set $fh (i32.add (local.get $fh) (i32.const 1)))
          (br $filterRow)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $row)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $image)))
  )`;
}

/**
 * exp_f32(x, y, n), sigmoid_f32 and tanh_f32: `activate` alone over n floats (n % 16 == 0, four
 * vectors an iteration), so that simd.spec.ts can measure its accuracy on its own.
 */
function probe(name: string, kind: Activation): string {
  const streams = Array.from({ length: maxStreams }, (_, s) => ({ target: `$v${s}`, arg: `(v128.load offset=${16 * s} (local.get $x))`, kind }));
  return withConstants(
    () => `
  (func (export "${name}") (param $x i32) (param $y i32) (param $n i32)
    ${locals('v128', [...scratch, ...streams.map((stream) => stream.target)])}
    (;constants;)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
${body([
  ...activate(streams),
  ...streams.map((stream, s) => `(v128.store offset=${16 * s} (local.get $y) ${get(stream.target)})`),
  `(local.set $x (i32.add (local.get $x) (i32.const ${16 * maxStreams})))`,
  `(local.set $y (i32.add (local.get $y) (i32.const ${16 * maxStreams})))`,
  `(local.set $n (i32.sub (local.get $n) (i32.const ${4 * maxStreams})))`,
  '(br $next)))',
])}
  )`,
  );
}

/** The module's text; only the memory import differs between the two kinds. */
export function simdKernelsWat(memory: MemoryKind): string {
  // The threaded build's memory is shared, and a shared import must declare a maximum: the
  // largest there is (the heap's own maximum may be any size up to it).
  const limits = memory === 'shared' ? '1 65536 shared' : '1';
  return `;; Generated by libs/models/src/kernels/wasm/simd/wat.ts (${memory} memory).
(module
  (import "env" "memory" (memory ${limits}))
${cellForward()}
${cellBackward()}
${copyRows32()}
${filterGrad()}
${probe('exp_f32', 'exp')}
${probe('sigmoid_f32', 'sigmoid')}
${probe('tanh_f32', 'tanh')}
)
`;
}
