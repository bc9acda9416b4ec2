//! The operator's key commands and the terminal and card simulator (`shebao keys …`,
//! `shebao terminal sign`, `shebao card cryptogram`). Keys are printed only where the
//! operator asked for them (`keys derive`, which is for test roots) and written only to a new
//! owner-only file (`keys init`).

use anyhow::{Context, bail};
use shebao_keys::{
    CardOperation, FileKeyStore, Key, KeyStore, Purpose, derive_city_key, generate_key_file, sim,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the city keys are: `SHEBAO_KEY_FILE`, else `DATA_DIR/city-keys`.
pub fn key_file(data_dir: &Path, key_file: Option<PathBuf>) -> PathBuf {
    key_file.unwrap_or_else(|| data_dir.join("city-keys"))
}

/// `shebao keys derive`: the ministry's (test) root dispersed to the province and the city,
/// each level printed; the city lines form a key file.
pub fn derive(root_hex: &str, region: &str, version: u32) -> anyhow::Result<String> {
    let root = Key::from_hex(root_hex).context("--root is 32 hex digits")?;
    if region.len() != 6 || !region.bytes().all(|b| b.is_ascii_digit()) || region.ends_with("0000")
    {
        bail!("--region is a city's 6-digit division code (e.g. 450600), not a province's");
    }
    let (province, city) = derive_city_key(&root, region)?;
    let province_code = format!("{}0000", &region[..2]);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# ministry root → province {province_code} → city {region} (API.md \"Keys and terminals\")"
    );
    for purpose in Purpose::ALL {
        let _ = writeln!(
            out,
            "# province {province_code} {purpose:<5} {}",
            &*province.to_hex()
        );
    }
    let _ = writeln!(
        out,
        "# city {region} (a key file's lines; the same root serves every purpose here):"
    );
    for purpose in Purpose::ALL {
        let _ = writeln!(out, "{purpose} {version} {}", &*city.to_hex());
    }
    Ok(out)
}

/// `shebao keys init`: a new key file of fresh local keys (never over an existing one).
pub fn init(path: &Path) -> anyhow::Result<String> {
    if path.exists() {
        bail!(
            "{} exists; keys are never overwritten (rotate with `shebao keys rotate PURPOSE`)",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    shebao_keys::write_new(path, &generate_key_file()?)?;
    Ok(format!(
        "wrote fresh local keys (card, psam, ecard; version 1) to {} (mode 0600)",
        path.display()
    ))
}

/// `shebao keys rotate PURPOSE`: a fresh local key as the purpose's next version.
pub fn rotate(path: &Path, purpose: &str) -> anyhow::Result<String> {
    let purpose = parse_purpose(purpose)?;
    let version = FileKeyStore::rotate(path, purpose)?;
    Ok(format!(
        "{purpose} key version {version} added to {} and now current; older versions still verify until their lines are removed; restart the servers to use it",
        path.display()
    ))
}

/// `shebao keys show`: which purposes and versions the file holds (never the keys).
pub fn show(path: &Path) -> anyhow::Result<String> {
    let store = FileKeyStore::load(path)?;
    let mut out = String::new();
    for purpose in Purpose::ALL {
        let versions: Vec<String> = store.versions(purpose).iter().map(u32::to_string).collect();
        let _ = writeln!(
            out,
            "{purpose:<5} {}",
            if versions.is_empty() {
                "none".to_owned()
            } else {
                format!("versions {} (current first)", versions.join(", "))
            }
        );
    }
    Ok(out)
}

/// `shebao terminal sign`: the headers a PSAM terminal sends with this request.
pub fn sign(
    path: &Path,
    psam_no: &str,
    counter: u64,
    method: &str,
    request_path: &str,
    body: &[u8],
) -> anyhow::Result<String> {
    let store = FileKeyStore::load(path)?;
    let request_path = request_path.split('?').next().unwrap_or(request_path);
    let mac = sim::request_mac(&store, psam_no, method, request_path, counter, body)?;
    Ok(format!(
        "X-Terminal-Counter: {counter}\nX-Terminal-MAC: {mac}\n"
    ))
}

/// What `shebao card cryptogram` is told about one use of a card.
pub struct CardUse<'a> {
    pub serial: &'a str,
    pub card_no: &'a str,
    pub counter: u64,
    pub operation: &'a str,
    pub client_txn_id: Option<&'a str>,
    pub amount_fen: Option<i64>,
}

/// `shebao card cryptogram`: the chip's `card_auth` object, as JSON.
pub fn cryptogram(path: &Path, card: &CardUse<'_>) -> anyhow::Result<String> {
    let store = FileKeyStore::load(path)?;
    let operation = CardOperation::parse(card.operation)
        .context("--operation is purchase, visit, activation or ss_password")?;
    let mac = sim::card_cryptogram(
        &store,
        card.serial,
        card.card_no,
        card.counter,
        operation,
        card.client_txn_id,
        card.amount_fen,
    )?;
    Ok(format!(
        "{{\"counter\": {}, \"cryptogram\": \"{mac}\"}}",
        card.counter
    ))
}

fn parse_purpose(text: &str) -> anyhow::Result<Purpose> {
    Purpose::parse(text).context("a purpose is card, psam or ecard")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R-KM-1: the contract's check value through the operator's command.
    #[test]
    fn derive_prints_each_level_and_the_contracts_city_key() {
        let out = derive("00112233445566778899AABBCCDDEEFF", "450600", 1).unwrap_or_default();
        assert!(out.contains("province 450000"), "{out}");
        assert!(
            out.contains("psam 1 AB884711C5437A68BFD552EE67F15BB0"),
            "{out}"
        );
        assert!(derive("00112233445566778899AABBCCDDEEFF", "450000", 1).is_err());
        assert!(derive("0011", "450600", 1).is_err());
    }

    #[test]
    fn a_derived_file_signs_the_contracts_request() {
        let dir = std::env::temp_dir().join(format!("shebao-keytool-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("city-keys");
        let derived = derive("00112233445566778899AABBCCDDEEFF", "450600", 1).unwrap_or_default();
        let _ = std::fs::create_dir_all(&dir);
        assert!(shebao_keys::write_new(&file, &derived).is_ok());
        let headers = sign(
            &file,
            "4506000000000001",
            1,
            "POST",
            "/api/v1/purchases?x=1",
            b"{}",
        )
        .unwrap_or_default();
        assert_eq!(headers, "X-Terminal-Counter: 1\nX-Terminal-MAC: A58F9B2C\n");
        let shown = show(&file).unwrap_or_default();
        assert!(
            shown.contains("psam  versions 1") && !shown.contains("AB8847"),
            "{shown}"
        );
        assert!(init(&file).is_err(), "never over an existing file");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
