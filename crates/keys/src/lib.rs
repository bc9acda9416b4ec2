//! The national key system (R-KM-1) in the form a city's platform runs it, exactly as API.md
//! "Keys and terminals" specifies, so that a terminal vendor can compute the same values:
//!
//! - every key an SM4 key ([`Key`], 16 bytes, zeroized on drop, never printed);
//! - dispersion `disperse(parent, D) = SM4-ECB(parent, D ‖ NOT D)` with 8-byte data
//!   ([`Diversifier`]: a division code, a PSAM number, a card serial);
//! - the MAC of GB/T 15852.1 algorithm 1 with SM4 and padding `80 00…` ([`mac`], [`Mac`]);
//! - the messages a terminal and a card chip authenticate ([`terminal_message`],
//!   [`card_message`]);
//! - a [`KeyStore`] whose operations never hand a key out, so that an HSM (GM/T 0018) can
//!   stand in for the [`FileKeyStore`].
//!
//! No I/O but the key file's; no clock; nothing here logs.

mod cipher;
mod message;
pub mod sim;
mod store;

pub use cipher::{Key, Mac, disperse, mac};
pub use message::{
    CardOperation, Diversifier, DiversifierError, card_message, derive_city_key, terminal_message,
};
pub use store::{FileKeyStore, KeyError, KeyStore, Purpose, generate_key_file, write_new};
