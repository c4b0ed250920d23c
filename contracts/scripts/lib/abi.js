// Minimal Solidity ABI encoder/decoder for the tests (no external dependency).
// Supports uintN, intN, address, bool, bytesN, bytes, string, T[], T[k] and tuples, using the
// parameter objects of solc's ABI JSON ({ type, components }).
'use strict';

const { keccak_256 } = require('@noble/hashes/sha3.js');

const WORD = 32;

function keccak(bytes) {
  return Buffer.from(keccak_256(bytes));
}

function signature(fn) {
  const typeOf = (p) => {
    if (p.type.startsWith('tuple')) return `(${p.components.map(typeOf).join(',')})${p.type.slice(5)}`;
    return p.type;
  };
  return `${fn.name}(${fn.inputs.map(typeOf).join(',')})`;
}

function selector(sig) {
  return keccak(Buffer.from(sig)).subarray(0, 4);
}

function arrayParts(type) {
  const m = type.match(/^(.*)\[(\d*)\]$/);
  if (!m) return null;
  return { inner: m[1], length: m[2] === '' ? null : Number(m[2]) };
}

function isDynamic(p) {
  if (p.type === 'bytes' || p.type === 'string') return true;
  const arr = arrayParts(p.type);
  if (arr) return arr.length === null || isDynamic({ ...p, type: arr.inner });
  if (p.type === 'tuple') return p.components.some(isDynamic);
  return false;
}

function staticSize(p) {
  const arr = arrayParts(p.type);
  if (arr) return arr.length * staticSize({ ...p, type: arr.inner });
  if (p.type === 'tuple') return p.components.reduce((n, c) => n + staticSize(c), 0);
  return WORD;
}

function uintWord(v) {
  let n = BigInt(v);
  if (n < 0n) n += 1n << 256n;
  if (n < 0n || n >= 1n << 256n) throw new Error(`value out of range: ${v}`);
  return Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
}

function toBytes(v) {
  if (typeof v === 'string') return Buffer.from(v.replace(/^0x/, ''), 'hex');
  return Buffer.from(v);
}

function padRight(buf) {
  const len = Math.ceil(buf.length / WORD) * WORD;
  const out = Buffer.alloc(len);
  buf.copy(out);
  return out;
}

function encodeOne(p, v) {
  const arr = arrayParts(p.type);
  if (arr) {
    const inner = { ...p, type: arr.inner };
    const body = encodeParams(v.map(() => inner), v);
    return arr.length === null ? Buffer.concat([uintWord(v.length), body]) : body;
  }
  if (p.type === 'tuple') {
    const values = Array.isArray(v) ? v : p.components.map((c) => v[c.name]);
    return encodeParams(p.components, values);
  }
  if (p.type === 'bytes') {
    const b = toBytes(v);
    return Buffer.concat([uintWord(b.length), padRight(b)]);
  }
  if (p.type === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([uintWord(b.length), padRight(b)]);
  }
  if (p.type === 'address') return uintWord(BigInt(v));
  if (p.type === 'bool') return uintWord(v ? 1 : 0);
  if (/^u?int\d*$/.test(p.type)) return uintWord(v);
  if (/^bytes\d+$/.test(p.type)) return padRight(toBytes(v)).subarray(0, WORD);
  throw new Error(`unsupported ABI type ${p.type}`);
}

function encodeParams(params, values) {
  if (params.length !== values.length) throw new Error('ABI encode: wrong number of values');
  const heads = [];
  const tails = [];
  let headSize = 0;
  for (const p of params) headSize += isDynamic(p) ? WORD : staticSize(p);
  let tailOffset = headSize;
  params.forEach((p, i) => {
    const enc = encodeOne(p, values[i]);
    if (isDynamic(p)) {
      heads.push(uintWord(tailOffset));
      tails.push(enc);
      tailOffset += enc.length;
    } else {
      heads.push(enc);
    }
  });
  return Buffer.concat([...heads, ...tails]);
}

function readWord(buf, off) {
  if (off + WORD > buf.length) throw new Error('ABI decode: out of bounds');
  return BigInt('0x' + buf.subarray(off, off + WORD).toString('hex'));
}

function decodeOne(p, buf, off) {
  // `buf` is the enclosing encoding; `off` the start of this value's own encoding.
  const arr = arrayParts(p.type);
  if (arr) {
    const inner = { ...p, type: arr.inner };
    let len = arr.length;
    let start = off;
    if (len === null) {
      len = Number(readWord(buf, off));
      start = off + WORD;
    }
    return decodeParams(Array(len).fill(inner), buf.subarray(start));
  }
  if (p.type === 'tuple') return decodeParams(p.components, buf.subarray(off));
  if (p.type === 'bytes' || p.type === 'string') {
    const len = Number(readWord(buf, off));
    const b = Buffer.from(buf.subarray(off + WORD, off + WORD + len));
    return p.type === 'string' ? b.toString('utf8') : '0x' + b.toString('hex');
  }
  const w = readWord(buf, off);
  if (p.type === 'address') return '0x' + w.toString(16).padStart(40, '0');
  if (p.type === 'bool') return w !== 0n;
  if (/^uint\d*$/.test(p.type)) return w;
  if (/^int\d*$/.test(p.type)) return w >= 1n << 255n ? w - (1n << 256n) : w;
  if (/^bytes\d+$/.test(p.type)) {
    const n = Number(p.type.slice(5));
    return '0x' + buf.subarray(off, off + n).toString('hex');
  }
  throw new Error(`unsupported ABI type ${p.type}`);
}

function decodeParams(params, buf) {
  const out = [];
  let head = 0;
  for (const p of params) {
    if (isDynamic(p)) {
      out.push(decodeOne(p, buf, Number(readWord(buf, head))));
      head += WORD;
    } else {
      out.push(decodeOne(p, buf, head));
      head += staticSize(p);
    }
  }
  return out;
}

// Interface over an artifact's ABI: encode calls, decode results/reverts/events by name.
class Interface {
  constructor(abi) {
    this.abi = abi;
    this.functions = new Map();
    for (const item of abi) {
      if (item.type === 'function') this.functions.set(item.name, item);
    }
  }

  fn(name) {
    const f = this.functions.get(name);
    if (!f) throw new Error(`no function ${name} in ABI`);
    return f;
  }

  encode(name, args = []) {
    const f = this.fn(name);
    return Buffer.concat([selector(signature(f)), encodeParams(f.inputs, args)]);
  }

  decode(name, returnData) {
    return decodeParams(this.fn(name).outputs, Buffer.from(returnData));
  }

  event(name) {
    const e = this.abi.find((i) => i.type === 'event' && i.name === name);
    if (!e) throw new Error(`no event ${name} in ABI`);
    return { topic: keccak(Buffer.from(signature(e))), item: e };
  }
}

// Decodes Error(string) revert data; returns null for anything else.
function revertReason(data) {
  const b = Buffer.from(data);
  if (b.length < 4 || b.subarray(0, 4).toString('hex') !== '08c379a0') return null;
  return decodeParams([{ type: 'string' }], b.subarray(4))[0];
}

module.exports = {
  Interface,
  encodeParams,
  decodeParams,
  keccak,
  selector,
  signature,
  uintWord,
  revertReason,
};
