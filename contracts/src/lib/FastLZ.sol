// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Length in bytes of `data` after FastLZ level-1 compression, as the OP Stack's Fjord
///         L1-fee rule defines it (op-revm `flz_compress_len`, op-geth `FlzCompressLen`).
///         Only the length is computed; no output is produced.
/// @dev    File-level function: it is inlined into every contract that calls it, so it leaves no
///         artifact of its own. Memory: a 8192-entry hash table of u32 positions (32 KiB) is
///         placed at the free memory pointer and zeroed first; the free memory pointer is not
///         moved because nothing is allocated while the table is in use.
///         Algorithm (positions are byte indices into `data`, n = data.length):
///           limit = n < 13 ? 0 : n - 13; idx = 2; anchor = 0; size = 0
///           while idx < limit:
///             repeat: seq = le24(idx); r = table[hash(seq)]; table[hash(seq)] = idx; d = idx - r;
///                     stop if idx >= limit; idx++; stop if d < 8192 and seq == le24(r)
///             (idx - 1 is the match start)
///             size += literals(start - anchor); len = match length bound by limit + 6 - start
///             size += matchCost(len); hash positions start+len and start+len+1; anchor = start+len+2
///           size += literals(n - anchor)
function flzCompressLen(bytes memory data) pure returns (uint256 size) {
    assembly ("memory-safe") {
        // Little-endian 24-bit value of the three bytes at memory address `p`.
        function le24(p) -> v {
            let w := shr(232, mload(p))
            v := or(or(shr(16, w), and(w, 0xff00)), shl(16, and(w, 0xff)))
        }
        function hash13(v) -> h {
            h := and(shr(19, mul(v, 2654435769)), 0x1fff)
        }
        // Cost of `r` literal bytes: a 1-byte header per run of up to 32 literals.
        function literalCost(r, s) -> out {
            out := add(s, mul(0x21, div(r, 0x20)))
            let rest := mod(r, 0x20)
            if rest { out := add(out, add(rest, 1)) }
        }
        // Cost of a back-reference whose comparison length is `l`.
        function matchCost(l, s) -> out {
            l := sub(l, 1)
            out := add(s, mul(3, div(l, 262)))
            switch lt(mod(l, 262), 6)
            case 1 { out := add(out, 2) }
            default { out := add(out, 3) }
        }
        function tableSet(t, h, v) {
            let p := add(t, shl(2, h))
            mstore(p, or(shl(224, v), and(mload(p), 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffff)))
        }

        let n := mload(data)
        let src := add(data, 0x20)
        let table := mload(0x40)
        // Zero the table (copying from beyond the end of calldata yields zeros).
        calldatacopy(table, calldatasize(), 0x8000)

        let limit := 0
        if gt(n, 12) { limit := sub(n, 13) }
        let idx := 2
        let anchor := 0

        for {} lt(idx, limit) {} {
            let ref := 0
            // Hot loop, written out inline (legacy codegen does not inline Yul functions).
            for {} 1 {} {
                let w := shr(232, mload(add(src, idx))) // big-endian 24 bits at idx
                let seq := or(or(shr(16, w), and(w, 0xff00)), shl(16, and(w, 0xff)))
                let tp := add(table, shl(2, and(shr(19, mul(seq, 2654435769)), 0x1fff)))
                let entry := mload(tp)
                ref := shr(224, entry)
                mstore(tp, or(shl(224, idx), and(entry, 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffff)))
                let distance := sub(idx, ref)
                if iszero(lt(idx, limit)) { break }
                idx := add(idx, 1)
                if lt(distance, 8192) {
                    // Same three bytes (compared big-endian; equality does not depend on order).
                    if eq(w, shr(232, mload(add(src, ref)))) { break }
                }
            }
            if iszero(lt(idx, limit)) { break }
            idx := sub(idx, 1)
            if gt(idx, anchor) { size := literalCost(sub(idx, anchor), size) }

            // Compare data[ref+3..] with data[idx+3..] up to maxLen bytes. The result counts the
            // first differing byte too (or is maxLen when no byte differs).
            let p := add(src, add(ref, 3))
            let q := add(src, add(idx, 3))
            let maxLen := sub(add(limit, 6), idx)
            let l := 0
            for {} 1 {} {
                if iszero(lt(l, maxLen)) {
                    l := maxLen
                    break
                }
                let x := xor(mload(add(p, l)), mload(add(q, l)))
                if iszero(x) {
                    l := add(l, 32)
                    continue
                }
                let b := 0
                for {} iszero(byte(b, x)) {} { b := add(b, 1) }
                l := add(l, b)
                switch lt(l, maxLen)
                case 1 { l := add(l, 1) }
                default { l := maxLen }
                break
            }
            size := matchCost(l, size)

            idx := add(idx, l)
            tableSet(table, hash13(le24(add(src, idx))), idx)
            idx := add(idx, 1)
            tableSet(table, hash13(le24(add(src, idx))), idx)
            idx := add(idx, 1)
            anchor := idx
        }
        size := literalCost(sub(n, anchor), size)
    }
}
