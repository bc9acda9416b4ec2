//! SM4 (GB/T 32907) from RustCrypto's `sm4`, the CBC-MAC from RustCrypto's `cbc-mac`.

use cbc_mac::{CbcMac, Mac as _};
use sm4::Sm4;
use sm4::cipher::{Array, BlockCipherEncrypt, KeyInit};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Diversifier;

/// An SM4 key. Zeroized when dropped; its `Debug` never shows the bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key([u8; 16]);

impl Key {
    pub const LEN: usize = 16;

    pub fn from_bytes(bytes: [u8; 16]) -> Key {
        Key(bytes)
    }

    /// 32 hex digits, either case.
    pub fn from_hex(hex: &str) -> Option<Key> {
        parse_hex::<16>(hex).map(Key)
    }

    /// Fresh random key from the operating system's source.
    pub fn random() -> Result<Key, getrandom::Error> {
        let mut out = [0u8; 16];
        getrandom::fill(&mut out)?;
        Ok(Key(out))
    }

    /// The key as 32 upper-case hex digits: for the operator's `keys derive` and `keys init`
    /// only, which write keys where the operator asked; nothing in the server calls it.
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(upper_hex(&self.0))
    }

    /// SM4-ECB encryption of one block.
    pub fn encrypt_block(&self, block: [u8; 16]) -> [u8; 16] {
        let cipher = Sm4::new(&Array::from(self.0));
        let mut block = Array::from(block);
        cipher.encrypt_block(&mut block);
        block.into()
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

/// Dispersion (分散, JR/T 0025): `SM4-ECB-Encrypt(parent, D ‖ NOT D)`.
pub fn disperse(parent: &Key, data: &Diversifier) -> Key {
    let d = data.bytes();
    let mut block = [0u8; 16];
    block[..8].copy_from_slice(&d);
    for (i, byte) in d.iter().enumerate() {
        block[8 + i] = !byte;
    }
    Key(parent.encrypt_block(block))
}

/// A 4-byte MAC, written as 8 upper-case hex digits. Equality is constant time.
#[derive(Clone, Copy)]
pub struct Mac(pub [u8; 4]);

impl Mac {
    /// 8 hex digits, either case.
    pub fn from_hex(hex: &str) -> Option<Mac> {
        parse_hex::<4>(hex).map(Mac)
    }
}

impl PartialEq for Mac {
    fn eq(&self, other: &Mac) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Mac {}

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&upper_hex(&self.0))
    }
}

impl std::fmt::Debug for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mac({self})")
    }
}

/// GB/T 15852.1 MAC algorithm 1 with SM4: the message padded with `80` and then `00` to a
/// multiple of 16 bytes, CBC-encrypted with a zero IV, the first 4 bytes of the last block.
pub fn mac(key: &Key, message: &[u8]) -> Mac {
    let mut cbc = <CbcMac<Sm4> as KeyInit>::new(&Array::from(key.0));
    cbc.update(message);
    // Padding method 2: one 80, then the crate's zero padding of the last block (it pads only
    // a partial block, so a message already ending on a boundary gets no extra block here —
    // the 80 byte always starts a partial one).
    cbc.update(&[0x80]);
    let last = cbc.finalize().into_bytes();
    Mac([last[0], last[1], last[2], last[3]])
}

/// Exactly `2N` hex digits, either case, as `N` bytes.
pub(crate) fn parse_hex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let hex = hex.as_bytes();
    if hex.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in hex.chunks(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(hex: &str) -> Key {
        Key::from_hex(hex).unwrap_or_else(|| Key([0; 16]))
    }

    /// R-KM-1, API.md check value: GB/T 32907's example.
    #[test]
    fn sm4_check_value() {
        let k = key("0123456789ABCDEFFEDCBA9876543210");
        let plain = k.0;
        assert_eq!(
            upper_hex(&k.encrypt_block(plain)),
            "681EDF34D206965E86B3E94F536E4246"
        );
    }

    /// The MAC composed by hand from the block cipher (no cbc-mac crate): pad 80 00…, XOR
    /// chain from a zero IV, first 4 bytes of the last block.
    fn mac_by_hand(k: &Key, message: &[u8]) -> [u8; 4] {
        let mut padded = message.to_vec();
        padded.push(0x80);
        while !padded.len().is_multiple_of(16) {
            padded.push(0);
        }
        let mut state = [0u8; 16];
        for block in padded.chunks(16) {
            for (s, b) in state.iter_mut().zip(block) {
                *s ^= b;
            }
            state = k.encrypt_block(state);
        }
        [state[0], state[1], state[2], state[3]]
    }

    #[test]
    fn mac_pads_a_full_block_with_a_whole_block() {
        let k = key("00112233445566778899AABBCCDDEEFF");
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 64] {
            let message = vec![0x5a; len];
            assert_eq!(mac(&k, &message).0, mac_by_hand(&k, &message), "len {len}");
        }
    }

    #[test]
    fn mac_hex_round_trips_and_compares() {
        let m = Mac([0xA5, 0x8F, 0x9B, 0x2C]);
        assert_eq!(m.to_string(), "A58F9B2C");
        assert_eq!(Mac::from_hex("a58f9b2c"), Some(m));
        assert_ne!(Mac::from_hex("A58F9B2D"), Some(m));
        assert_eq!(Mac::from_hex("A58F9B2"), None);
        assert_eq!(Mac::from_hex("A58F9B2G"), None);
        assert_eq!(Mac::from_hex("Ａ58F9B2C"), None);
    }

    #[test]
    fn keys_never_print() {
        let k = key("0123456789ABCDEFFEDCBA9876543210");
        assert_eq!(format!("{k:?}"), "Key(…)");
    }

    proptest! {
        #[test]
        fn mac_matches_the_hand_composition(k in any::<[u8; 16]>(), message in proptest::collection::vec(any::<u8>(), 0..100)) {
            let k = Key(k);
            prop_assert_eq!(mac(&k, &message).0, mac_by_hand(&k, &message));
        }

        #[test]
        fn dispersion_is_sm4_of_d_and_its_complement(k in any::<[u8; 16]>(), d in any::<[u8; 8]>()) {
            let k = Key(k);
            let mut block = [0u8; 16];
            for i in 0..8 {
                block[i] = d[i];
                block[8 + i] = d[i] ^ 0xff;
            }
            prop_assert_eq!(disperse(&k, &Diversifier::from_bytes(d)).0, k.encrypt_block(block));
        }

        #[test]
        fn hex_keys_round_trip(k in any::<[u8; 16]>()) {
            let hex = upper_hex(&k);
            prop_assert_eq!(Key::from_hex(&hex.to_lowercase()).map(|k| k.0), Some(k));
        }
    }
}
