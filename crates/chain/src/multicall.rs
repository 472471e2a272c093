//! Many one-word calls in one `eth_call`, with no contract to deploy: the request has no `to`, so
//! the node runs its data as a contract's creation code, and what that code returns is the answer.
//! The code (assembled below, about 80 bytes) walks the call list appended to it, makes each call
//! with `STATICCALL`, and returns the 32-byte word each one returned, in order. If any call fails
//! or returns anything but exactly one word, the whole request reverts (the caller then makes the
//! calls one by one, which names the failing call).
//!
//! The call list after the code: per call, the target (20 bytes), the calldata's length (2 bytes,
//! big-endian) and the calldata. The answer: 32 bytes per call.
//!
//! Sizes: the creation code is at most 49,152 bytes (EIP-3860) and what a creation returns at
//! most 24,576 (EIP-170), so a request holds at most [`MAX_CALLS`] calls and [`MAX_LIST_BYTES`]
//! of call list.

use alloy_primitives::Address;

/// Calls per request: 700 words = 22,400 bytes returned, under EIP-170's 24,576.
pub const MAX_CALLS: usize = 700;
/// Call-list bytes per request, the code included under EIP-3860's 49,152.
pub const MAX_LIST_BYTES: usize = 40_000;

/// One instruction or a jump target of the program.
enum Item {
    Op(u8),
    Push1(u8),
    /// `PUSH2` of a label's offset.
    Push2(&'static str),
    /// `PUSH2` of the program's length (where the call list starts).
    Push2End,
    Label(&'static str),
}

// The opcodes used.
const STOP: u8 = 0x00;
const ADD: u8 = 0x01;
const GT: u8 = 0x11;
const EQ: u8 = 0x14;
const ISZERO: u8 = 0x15;
const AND: u8 = 0x16;
const SHR: u8 = 0x1c;
const CODESIZE: u8 = 0x38;
const CODECOPY: u8 = 0x39;
const RETURNDATASIZE: u8 = 0x3d;
const POP: u8 = 0x50;
const MLOAD: u8 = 0x51;
const JUMP: u8 = 0x56;
const JUMPI: u8 = 0x57;
const GAS: u8 = 0x5a;
const JUMPDEST: u8 = 0x5b;
const PUSH1: u8 = 0x60;
const PUSH2: u8 = 0x61;
const DUP1: u8 = 0x80;
const DUP2: u8 = 0x81;
const DUP3: u8 = 0x82;
const DUP4: u8 = 0x83;
const DUP5: u8 = 0x84;
const DUP6: u8 = 0x85;
const SWAP1: u8 = 0x90;
const SWAP3: u8 = 0x92;
const RETURN: u8 = 0xf3;
const STATICCALL: u8 = 0xfa;
const REVERT: u8 = 0xfd;

/// The program. The stack is written bottom → top after each line: `c` is the offset in the code
/// of the next call's record, `p` the offset in memory of the next answer word.
fn items() -> Vec<Item> {
    use Item::*;
    vec![
        Push2End,
        Push1(0), // c p
        Label("loop"),
        Op(JUMPDEST),
        // while c < CODESIZE
        Op(DUP2), // c p c
        Op(CODESIZE),
        Op(GT), // c p (codesize > c)
        Op(ISZERO),
        Push2("end"),
        Op(JUMPI), // c p
        // mem[p..p+32] = the record's first 32 bytes
        Push1(32),
        Op(DUP3),
        Op(DUP3),
        Op(CODECOPY),
        Op(DUP1),
        Op(MLOAD), // c p w
        Op(DUP1),
        Push1(96),
        Op(SHR), // c p w a
        Op(SWAP1),
        Push1(80),
        Op(SHR),
        Push2("0xffff"),
        Op(AND), // c p a L
        // mem[p..p+L] = the calldata
        Op(DUP1),
        Op(DUP5),
        Push1(22),
        Op(ADD),
        Op(DUP5),
        Op(CODECOPY), // c p a L
        // staticcall(gas, a, p, L, p, 32): the answer word lands at p
        Push1(32),
        Op(DUP4),
        Op(DUP3),
        Op(DUP6),
        Op(DUP6),
        Op(GAS),
        Op(STATICCALL), // c p a L ok
        Op(RETURNDATASIZE),
        Push1(32),
        Op(EQ),
        Op(AND),
        Push2("next"),
        Op(JUMPI), // c p a L
        Push1(0),
        Op(DUP1),
        Op(REVERT),
        Label("next"),
        Op(JUMPDEST),
        Push1(22),
        Op(ADD),
        Op(DUP4),
        Op(ADD), // c p a c'
        Op(SWAP3),
        Op(POP),
        Op(POP), // c' p
        Push1(32),
        Op(ADD), // c' p'
        Push2("loop"),
        Op(JUMP),
        Label("end"),
        Op(JUMPDEST), // c p
        Push1(0),
        Op(RETURN), // mem[0..p]
        Op(STOP),
    ]
}

/// The assembled program.
pub fn program() -> Vec<u8> {
    let items = items();
    let size = |i: &Item| match i {
        Item::Op(_) => 1,
        Item::Push1(_) => 2,
        Item::Push2(_) | Item::Push2End => 3,
        Item::Label(_) => 0,
    };
    let len: usize = items.iter().map(size).sum();
    let mut labels = std::collections::HashMap::new();
    let mut at = 0usize;
    for i in &items {
        if let Item::Label(l) = i {
            labels.insert(*l, at);
        }
        at += size(i);
    }
    let mut out = Vec::with_capacity(len);
    for i in &items {
        match i {
            Item::Op(op) => out.push(*op),
            Item::Push1(v) => out.extend([PUSH1, *v]),
            Item::Push2(l) => {
                let v = match *l {
                    "0xffff" => 0xffff,
                    l => labels[l],
                };
                out.extend([PUSH2, (v >> 8) as u8, v as u8]);
            }
            Item::Push2End => out.extend([PUSH2, (len >> 8) as u8, len as u8]),
            Item::Label(_) => {}
        }
    }
    out
}

/// The bytes of one call's record.
pub fn record_len(data: &[u8]) -> usize {
    22 + data.len()
}

/// The creation code that makes `calls` (target, calldata); each calldata under 65,536 bytes.
pub fn encode<'a>(program: &[u8], calls: impl IntoIterator<Item = (Address, &'a [u8])>) -> Vec<u8> {
    let mut out = program.to_vec();
    for (to, data) in calls {
        out.extend_from_slice(to.as_slice());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_assembles_with_its_jump_targets_on_jumpdests() {
        let p = program();
        assert_eq!(p[0], PUSH2);
        assert_eq!(usize::from(p[1]) << 8 | usize::from(p[2]), p.len());
        // Every PUSH2 of a label points at a JUMPDEST.
        let mut i = 0;
        let mut targets = 0;
        while i < p.len() {
            match p[i] {
                PUSH1 => i += 2,
                PUSH2 => {
                    let v = usize::from(p[i + 1]) << 8 | usize::from(p[i + 2]);
                    if i > 0 && v != 0xffff {
                        assert_eq!(p[v], JUMPDEST, "PUSH2 {v} at {i}");
                        targets += 1;
                    }
                    i += 3;
                }
                _ => i += 1,
            }
        }
        assert_eq!(targets, 3);
        assert!(p.len() < 100);
    }

    #[test]
    fn records_are_target_length_calldata() {
        let a = Address::repeat_byte(0x11);
        let code = encode(&[0xaa], [(a, &[1u8, 2, 3][..]), (a, &[][..])]);
        assert_eq!(code.len(), 1 + record_len(&[1, 2, 3]) + record_len(&[]));
        assert_eq!(&code[1..21], a.as_slice());
        assert_eq!(&code[21..26], &[0, 3, 1, 2, 3]);
        assert_eq!(&code[46..48], &[0, 0]);
    }
}
