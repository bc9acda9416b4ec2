//! Secrets: the keyed verifier for 6-digit passwords, argon2id for query passwords, and
//! random tokens (STYLE 7).
//!
//! A 6-digit password has only 10^6 values, so any unkeyed hash falls to a table in seconds.
//! We store `HMAC-SM3(key, context ‖ 0x00 ‖ digits)` with the key's id; the key lives outside
//! the database (a file with owner-only permissions, or the environment). Comparison is
//! constant time. Rotation: add a new key as the current one; old verifiers still verify with
//! their own key id and are rewritten under the current key on the next right password.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use hmac::{Hmac, KeyInit, Mac};
use shebao_domain::{Pin, PinVerifier};
use sm3::{Digest, Sm3};
use std::collections::HashMap;
use std::path::Path;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

type HmacSm3 = Hmac<Sm3>;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {message}")]
    File { path: String, message: String },
    #[error("key list: {0}")]
    Format(String),
    #[error("the system random source failed: {0}")]
    Random(String),
}

/// What a 6-digit password protects; part of the MAC input so one verifier cannot stand in
/// for another.
#[derive(Debug, Clone, Copy)]
pub enum PinContext<'a> {
    /// The social-security account of the person with this ID number (it follows the person
    /// onto replacement cards, D-6).
    Social(&'a str),
    /// The financial account of this card.
    Financial(&'a str),
    /// The old medical card with this number (R-ACT-3).
    Legacy(&'a str),
}

impl PinContext<'_> {
    fn write_to(&self, mac: &mut HmacSm3) {
        let (tag, value) = match self {
            PinContext::Social(v) => ("ss", v),
            PinContext::Financial(v) => ("fin", v),
            PinContext::Legacy(v) => ("legacy", v),
        };
        mac.update(tag.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.update(&[0]);
    }
}

/// The PIN keys: one current key that new verifiers use, older ones kept for verification.
pub struct PinKeyring {
    current: String,
    keys: HashMap<String, Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for PinKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PinKeyring(current {}, {} keys)",
            self.current,
            self.keys.len()
        )
    }
}

impl PinKeyring {
    /// Parses `id hex` lines (or `id:hex` separated by commas); the last key is current.
    /// Keys are at least 32 bytes.
    pub fn parse(text: &str) -> Result<PinKeyring, KeyError> {
        let mut keys = HashMap::new();
        let mut current = None;
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .flat_map(|l| l.split(','));
        for entry in entries.map(str::trim).filter(|e| !e.is_empty()) {
            let (id, hex_key) = entry
                .split_once([' ', ':'])
                .ok_or_else(|| KeyError::Format("each key is `ID HEX`".into()))?;
            let (id, hex_key) = (id.trim(), hex_key.trim());
            if id.is_empty() || id.len() > 16 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(KeyError::Format(format!(
                    "key id {id:?} must be 1-16 letters or digits"
                )));
            }
            let bytes = Zeroizing::new(
                hex::decode(hex_key)
                    .map_err(|_| KeyError::Format(format!("key {id} is not hex")))?,
            );
            if bytes.len() < 32 {
                return Err(KeyError::Format(format!(
                    "key {id} is shorter than 32 bytes"
                )));
            }
            keys.insert(id.to_owned(), bytes);
            current = Some(id.to_owned());
        }
        let current = current.ok_or_else(|| KeyError::Format("no key found".into()))?;
        Ok(PinKeyring { current, keys })
    }

    /// Loads the keyring from `path`, creating it with one fresh key (owner-only permissions)
    /// if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<PinKeyring, KeyError> {
        let err = |message: String| KeyError::File {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => PinKeyring::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_bytes::<32>()?;
                let text = Zeroizing::new(format!(
                    "# shebao PIN verifier keys: `ID HEX`, the last line is the current key.\nk1 {}\n",
                    hex::encode(*key)
                ));
                write_private_file(path, text.as_bytes()).map_err(|e| err(e.to_string()))?;
                PinKeyring::parse(&text)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    fn mac(&self, key_id: &str, context: PinContext<'_>, pin: &Pin) -> Option<HmacSm3> {
        let key = self.keys.get(key_id)?;
        let mut mac = HmacSm3::new_from_slice(key).ok()?;
        context.write_to(&mut mac);
        mac.update(pin.expose_digits());
        Some(mac)
    }

    /// A verifier under the current key.
    pub fn seal(&self, context: PinContext<'_>, pin: &Pin) -> PinVerifier {
        let mac = self
            .mac(&self.current, context, pin)
            .map(|m| m.finalize().into_bytes().to_vec())
            .unwrap_or_default();
        PinVerifier {
            key_id: self.current.clone(),
            mac,
        }
    }

    /// Constant-time check of `pin` against a stored verifier. An unknown key id never
    /// verifies.
    pub fn verify(&self, verifier: &PinVerifier, context: PinContext<'_>, pin: &Pin) -> bool {
        match self.mac(&verifier.key_id, context, pin) {
            Some(mac) => mac.verify_slice(&verifier.mac).is_ok(),
            None => {
                tracing::error!(key_id = %verifier.key_id, "a PIN verifier names a key that is not loaded");
                false
            }
        }
    }

    /// Whether this server holds the key a verifier was sealed under. A password is never
    /// compared, and never counted, against a verifier whose key is missing: during a
    /// rotation over several servers, one that has not loaded the new key yet would otherwise
    /// count the holder's right password as a wrong try.
    pub fn holds(&self, verifier: &PinVerifier) -> bool {
        self.keys.contains_key(&verifier.key_id)
    }

    /// Whether a verifier should be rewritten under the current key.
    pub fn is_stale(&self, verifier: &PinVerifier) -> bool {
        verifier.key_id != self.current
    }
}

/// argon2id with the crate's defaults (RFC 9106 second recommendation: m=19 MiB, t=2, p=1).
pub fn hash_query_password(password: &str) -> Result<String, KeyError> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(hash.to_string())
}

pub fn verify_query_password(hash: &str, password: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// An argon2id hash of a random password nobody knows, made once: logins for an ID number
/// with no query-password hash (unknown, or still on the initial password) verify against it,
/// so every login costs the same (D-4).
pub fn dummy_query_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let secret = random_bytes::<16>()
            .map(|b| hex::encode(*b))
            .unwrap_or_else(|_| "shebao-dummy-query-password".into());
        // Hashing with the crate's defaults cannot fail for a short ASCII password; should it,
        // the fallback is still a well-formed PHC string that verifies nothing.
        hash_query_password(&secret).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c2hlYmFvZHVtbXlzYWx0$\
             AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                .into()
        })
    })
}

/// Constant-time equality of two strings (for the initial query password).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

pub fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, KeyError> {
    let mut buf = Zeroizing::new([0u8; N]);
    getrandom::fill(&mut *buf).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(buf)
}

/// A new bearer token: `shb_` and 64 hex characters (256 bits).
pub fn new_token() -> Result<Zeroizing<String>, KeyError> {
    Ok(Zeroizing::new(format!(
        "shb_{}",
        hex::encode(*random_bytes::<32>()?)
    )))
}

/// Tokens are stored as their SM3 digest: a leaked table gives no usable token. Tokens carry
/// 256 random bits, so no salt or slow hash is needed.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sm3::digest(token.as_bytes()))
}

/// Writes a file readable and writable by its owner only.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(text: &str) -> PinKeyring {
        PinKeyring::parse(text).unwrap()
    }
    const K1: &str = "k1 0101010101010101010101010101010101010101010101010101010101010101";
    const K2: &str = "k2 0202020202020202020202020202020202020202020202020202020202020202";

    // R-PW-10, STYLE 7: keyed, context-bound, rotatable.
    #[test]
    fn verifiers_are_keyed_bound_and_rotatable() {
        let old = ring(K1);
        let pin = Pin::parse("902113").unwrap();
        let v = old.seal(PinContext::Social("11010519491231002X"), &pin);
        assert!(old.verify(&v, PinContext::Social("11010519491231002X"), &pin));
        assert!(!old.verify(&v, PinContext::Social("110105198001010016"), &pin));
        assert!(!old.verify(&v, PinContext::Financial("11010519491231002X"), &pin));
        assert!(!old.verify(
            &v,
            PinContext::Social("11010519491231002X"),
            &Pin::parse("902114").unwrap()
        ));
        let rotated = ring(&format!("{K1}\n{K2}"));
        assert!(rotated.verify(&v, PinContext::Social("11010519491231002X"), &pin));
        assert!(rotated.is_stale(&v));
        let v2 = rotated.seal(PinContext::Social("11010519491231002X"), &pin);
        assert_eq!(v2.key_id, "k2");
        assert_ne!(v2.mac, v.mac);
        assert!(
            !old.verify(&v2, PinContext::Social("11010519491231002X"), &pin),
            "unknown key never verifies"
        );
    }

    #[test]
    fn comments_and_comma_lists_parse() {
        let text = format!("# keys, one a line\n{K1}\n");
        assert_eq!(ring(&text).current, "k1");
        let list = format!("{},{}", K1.replace(' ', ":"), K2.replace(' ', ":"));
        assert_eq!(ring(&list).current, "k2");
    }

    #[test]
    fn short_or_malformed_keys_are_refused() {
        assert!(PinKeyring::parse("k1 0101").is_err());
        assert!(PinKeyring::parse("").is_err());
        assert!(
            PinKeyring::parse(
                "k-1 0101010101010101010101010101010101010101010101010101010101010101"
            )
            .is_err()
        );
    }

    // R-PW-8: query passwords are argon2id hashes.
    #[test]
    fn query_passwords_hash_with_argon2id() {
        let h = hash_query_password("correct horse 42").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_query_password(&h, "correct horse 42"));
        assert!(!verify_query_password(&h, "correct horse 43"));
    }
}
