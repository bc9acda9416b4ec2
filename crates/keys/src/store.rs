//! Where the city's keys live: behind [`KeyStore`], whose operations compute with a key and
//! never hand one out, so that a hardware security module (GM/T 0018's SDF interface) can
//! implement it; [`FileKeyStore`] is the file the operator keeps (mode 0600).

use crate::cipher::parse_hex;
use crate::{Diversifier, Key, Mac, disperse, mac};
use std::collections::BTreeMap;
use std::path::Path;
use zeroize::Zeroizing;

/// What a key is for (API.md "Keys and terminals").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// Card authentication: card keys are dispersed from it by the card's serial.
    Card,
    /// Terminals' secure access modules: PSAM keys are dispersed from it by the PSAM number.
    Psam,
    /// Electronic-card payment codes.
    Ecard,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [Purpose::Card, Purpose::Psam, Purpose::Ecard];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Card => "card",
            Purpose::Psam => "psam",
            Purpose::Ecard => "ecard",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why the keys cannot be used. No variant carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {message}")]
    File { path: String, message: String },
    #[error("key file line {line}: {message}")]
    Format { line: usize, message: String },
    #[error("no {0} key in the key store")]
    Missing(Purpose),
    #[error("no {0} key of version {1} in the key store")]
    NoVersion(Purpose, u32),
    #[error("the system random source failed: {0}")]
    Random(String),
    #[error(transparent)]
    Data(#[from] crate::DiversifierError),
}

/// The city's keys, used without being seen.
pub trait KeyStore: Send + Sync {
    /// The versions held for `purpose`, newest (current) first; empty when there is none.
    fn versions(&self, purpose: Purpose) -> Vec<u32>;

    /// The MAC of `message` under the key of `purpose` (`version`, or the current one),
    /// dispersed along `path` (e.g. `[Diversifier::psam(no)]` for a PSAM's key).
    fn mac(
        &self,
        purpose: Purpose,
        version: Option<u32>,
        path: &[Diversifier],
        message: &[u8],
    ) -> Result<Mac, KeyError>;

    /// Whether `claimed` is the MAC of `message` under any held version of `purpose`'s key
    /// dispersed along `path`, the current one first. Comparisons are constant time.
    fn verify(
        &self,
        purpose: Purpose,
        path: &[Diversifier],
        message: &[u8],
        claimed: &Mac,
    ) -> Result<bool, KeyError> {
        let versions = self.versions(purpose);
        if versions.is_empty() {
            return Err(KeyError::Missing(purpose));
        }
        for version in versions {
            if self.mac(purpose, Some(version), path, message)? == *claimed {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Keys from a file of `PURPOSE VERSION HEX32` lines (`#` starts a comment). The file must be
/// readable by its owner only.
pub struct FileKeyStore {
    keys: BTreeMap<(Purpose, u32), Key>,
}

impl std::fmt::Debug for FileKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held: Vec<String> = self.keys.keys().map(|(p, v)| format!("{p} v{v}")).collect();
        write!(f, "FileKeyStore({})", held.join(", "))
    }
}

impl FileKeyStore {
    /// Parses the file's text. Errors name the line, never the key.
    pub fn parse(text: &str) -> Result<FileKeyStore, KeyError> {
        let mut keys = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let format = |message: &str| KeyError::Format {
                line,
                message: message.to_owned(),
            };
            let mut fields = content.split_ascii_whitespace();
            let (Some(purpose), Some(version), Some(hex), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(format("expected PURPOSE VERSION HEX32"));
            };
            let purpose =
                Purpose::parse(purpose).ok_or_else(|| format("purpose is card, psam or ecard"))?;
            let version: u32 = version
                .parse()
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| format("version is a whole number from 1"))?;
            let bytes = Zeroizing::new(
                parse_hex::<16>(hex).ok_or_else(|| format("a key is 32 hex digits"))?,
            );
            if keys
                .insert((purpose, version), Key::from_bytes(*bytes))
                .is_some()
            {
                return Err(format("this purpose and version are already in the file"));
            }
        }
        Ok(FileKeyStore { keys })
    }

    /// Reads the key file, refusing one that others than its owner may read.
    pub fn load(path: &Path) -> Result<FileKeyStore, KeyError> {
        let file_error = |message: String| KeyError::File {
            path: path.display().to_string(),
            message,
        };
        check_owner_only(path).map_err(file_error)?;
        let text =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?);
        FileKeyStore::parse(&text)
    }

    /// Reads the key file, or first writes one of fresh local keys if there is none; says
    /// whether it did.
    pub fn load_or_create(path: &Path) -> Result<(FileKeyStore, bool), KeyError> {
        if path.exists() {
            return Ok((FileKeyStore::load(path)?, false));
        }
        write_new(path, &generate_key_file()?)?;
        Ok((FileKeyStore::load(path)?, true))
    }

    /// Appends a fresh random key as the next version of `purpose` (a local key's rotation);
    /// answers the new version.
    pub fn rotate(path: &Path, purpose: Purpose) -> Result<u32, KeyError> {
        let store = FileKeyStore::load(path)?;
        let version = store.versions(purpose).first().copied().unwrap_or(0) + 1;
        let key = Key::random().map_err(|e| KeyError::Random(e.to_string()))?;
        let line = Zeroizing::new(format!("{purpose} {version} {}\n", &*key.to_hex()));
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .and_then(|mut f| {
                f.write_all(line.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map(|()| f)
            });
        file.as_mut().map_err(|e| KeyError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(version)
    }

    fn key(&self, purpose: Purpose, version: Option<u32>) -> Result<&Key, KeyError> {
        match version {
            Some(v) => self
                .keys
                .get(&(purpose, v))
                .ok_or(KeyError::NoVersion(purpose, v)),
            None => self
                .keys
                .range((purpose, 0)..=(purpose, u32::MAX))
                .next_back()
                .map(|(_, k)| k)
                .ok_or(KeyError::Missing(purpose)),
        }
    }
}

impl KeyStore for FileKeyStore {
    fn versions(&self, purpose: Purpose) -> Vec<u32> {
        self.keys
            .range((purpose, 0)..=(purpose, u32::MAX))
            .rev()
            .map(|((_, v), _)| *v)
            .collect()
    }

    fn mac(
        &self,
        purpose: Purpose,
        version: Option<u32>,
        path: &[Diversifier],
        message: &[u8],
    ) -> Result<Mac, KeyError> {
        let mut key = self.key(purpose, version)?.clone();
        for data in path {
            key = disperse(&key, data);
        }
        Ok(mac(&key, message))
    }
}

/// A key file's text with one fresh random key (version 1) of each purpose.
pub fn generate_key_file() -> Result<Zeroizing<String>, KeyError> {
    let mut text = Zeroizing::new(String::from(
        "# shebao city keys: PURPOSE VERSION HEX32 (API.md \"Keys and terminals\").\n\
         # Generated locally: cards and PSAMs personalised with the province's keys will not\n\
         # verify until these lines are replaced by the city keys the province dispersed.\n",
    ));
    for purpose in Purpose::ALL {
        let key = Key::random().map_err(|e| KeyError::Random(e.to_string()))?;
        text.push_str(&format!("{purpose} 1 {}\n", &*key.to_hex()));
    }
    Ok(text)
}

/// Creates `path` (which must not exist) with owner-only permissions and writes `text`.
pub fn write_new(path: &Path, text: &str) -> Result<(), KeyError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .map_err(|e| KeyError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })
}

#[cfg(unix)]
fn check_owner_only(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {:o} lets others read it; make it 0600 (chmod 600)",
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive_city_key;

    const CITY_PSAM_450600: &str = "AB884711C5437A68BFD552EE67F15BB0";

    fn temp_path(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("shebao-keys-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::create_dir_all(&dir);
        dir.join("city-keys")
    }

    #[test]
    fn a_store_macs_along_a_dispersion_path_without_showing_the_key() {
        let store = FileKeyStore::parse(&format!("psam 1 {CITY_PSAM_450600}\n")).ok();
        let store = store.as_ref();
        let path = Diversifier::psam("4506000000000001").ok();
        let mac = store.zip(path).map(|(s, p)| {
            s.mac(Purpose::Psam, None, &[p], b"POST\n/api/v1/purchases\n1\n{}")
                .map(|m| m.to_string())
                .unwrap_or_default()
        });
        assert_eq!(mac.as_deref(), Some("A58F9B2C"));
        assert_eq!(
            store.map(|s| format!("{s:?}")).as_deref(),
            Some("FileKeyStore(psam v1)")
        );
    }

    #[test]
    fn the_highest_version_is_current_and_older_ones_still_verify() {
        let text = format!(
            "# comment\n\npsam 2 {}\npsam 1 {CITY_PSAM_450600}  # the province's\ncard 1 {}\n",
            "11".repeat(16),
            "22".repeat(16)
        );
        let Ok(store) = FileKeyStore::parse(&text) else {
            panic!("parses");
        };
        assert_eq!(store.versions(Purpose::Psam), vec![2, 1]);
        assert_eq!(store.versions(Purpose::Ecard), Vec::<u32>::new());
        let old = crate::Mac::from_hex("A58F9B2C").unwrap_or(crate::Mac([0; 4]));
        let path =
            [Diversifier::psam("4506000000000001").unwrap_or(Diversifier::from_bytes([0; 8]))];
        let message = b"POST\n/api/v1/purchases\n1\n{}";
        assert!(
            store
                .verify(Purpose::Psam, &path, message, &old)
                .unwrap_or(false)
        );
        let current = store.mac(Purpose::Psam, None, &path, message).ok();
        let v2 = store.mac(Purpose::Psam, Some(2), &path, message).ok();
        assert_eq!(current, v2);
        assert_ne!(current, Some(old));
        assert!(
            !store
                .verify(Purpose::Psam, &path, b"other", &old)
                .unwrap_or(true)
        );
        assert!(matches!(
            store.verify(Purpose::Ecard, &[], message, &old),
            Err(KeyError::Missing(Purpose::Ecard))
        ));
    }

    #[test]
    fn bad_lines_are_refused_without_echoing_the_key() {
        let secret = "ZZ".repeat(16);
        for text in [
            format!("psam 1 {secret}"),
            format!("psam 0 {}", "11".repeat(16)),
            format!("pin 1 {}", "11".repeat(16)),
            format!("psam 1 {} extra", "11".repeat(16)),
            format!("psam 1 {}\npsam 1 {}", "11".repeat(16), "22".repeat(16)),
        ] {
            match FileKeyStore::parse(&text) {
                Err(e) => {
                    let shown = e.to_string();
                    assert!(
                        !shown.contains(&secret) && !shown.contains(&"11".repeat(16)),
                        "{shown}"
                    );
                }
                Ok(_) => panic!("accepted {text:?}"),
            }
        }
    }

    #[test]
    fn the_file_is_created_owner_only_and_refused_when_others_can_read_it() {
        let path = temp_path("create");
        let (store, created) =
            FileKeyStore::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(created);
        for purpose in Purpose::ALL {
            assert_eq!(store.versions(purpose), vec![1]);
        }
        let (_, created) = FileKeyStore::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!created);
        assert_eq!(FileKeyStore::rotate(&path, Purpose::Ecard).ok(), Some(2));
        let store = FileKeyStore::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.versions(Purpose::Ecard), vec![2, 1]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
            assert!(matches!(
                FileKeyStore::load(&path),
                Err(KeyError::File { .. })
            ));
        }
    }

    #[test]
    fn a_derived_city_key_in_a_file_gives_the_contracts_psam_mac() {
        let root = Key::from_hex("00112233445566778899AABBCCDDEEFF")
            .unwrap_or_else(|| Key::from_bytes([0; 16]));
        let city = derive_city_key(&root, "450600")
            .map(|(_, c)| c.to_hex().to_string())
            .ok();
        assert_eq!(city.as_deref(), Some(CITY_PSAM_450600));
    }
}
