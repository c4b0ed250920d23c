// Reference FastLZ compressed-length function for the tests: a direct JavaScript transcription of
// op-revm 20.0.0 `flz_compress_len` (src/fast_lz.rs), the function the node charges Fjord L1 fees
// with. Kept structurally identical to that Rust code (u32 arithmetic, 8192-entry table of
// positions initialised to 0) so the Solidity implementation can be checked against it.
'use strict';

function flzCompressLen(input) {
  const n = input.length;
  const htab = new Uint32Array(8192);
  const u24 = (i) => input[i] | (input[i + 1] << 8) | (input[i + 2] << 16);
  // (v * 2654435769) >> 19, then & 0x1fff, computed exactly with BigInt.
  const hash = (v) => Number((BigInt(v) * 2654435769n) >> 19n) & 0x1fff;
  const literals = (r, size) => {
    size += 0x21 * Math.floor(r / 0x20);
    r %= 0x20;
    return r !== 0 ? size + r + 1 : size;
  };
  const cmp = (p, q, r) => {
    let l = 0;
    r -= q;
    while (l < r) {
      if (input[p + l] !== input[q + l]) r = 0;
      l += 1;
    }
    return l;
  };
  const match = (l, size) => {
    l -= 1;
    size += 3 * Math.floor(l / 262);
    return l % 262 >= 6 ? size + 3 : size + 2;
  };
  const setNextHash = (idx) => {
    htab[hash(u24(idx))] = idx;
    return idx + 1;
  };

  let idx = 2;
  const idxLimit = n < 13 ? 0 : n - 13;
  let anchor = 0;
  let size = 0;
  while (idx < idxLimit) {
    let r;
    for (;;) {
      const seq = u24(idx);
      const h = hash(seq);
      r = htab[h];
      htab[h] = idx;
      const distance = idx - r;
      if (idx >= idxLimit) break;
      idx += 1;
      if (distance < 8192 && seq === u24(r)) break;
    }
    if (idx >= idxLimit) break;
    idx -= 1;
    if (idx > anchor) size = literals(idx - anchor, size);
    const len = cmp(r + 3, idx + 3, idxLimit + 9);
    size = match(len, size);
    idx = setNextHash(idx + len);
    idx = setNextHash(idx);
    anchor = idx;
  }
  return literals(n - anchor, size);
}

module.exports = { flzCompressLen };
