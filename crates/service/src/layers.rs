//! The layers of this crate's files, and the test that keeps them.
//!
//! Each file of `src/` sits in one layer and may name (`crate::x`, `super::x`, `use crate::{x,
//! ..}`) only files of strictly lower layers, so the imports form no cycle and a reader can
//! tell which file is the lower one. At the bottom are leaves that name no other file: the
//! clock, the PIN keys, secrets, the stored records (`model`) and the words of a lock
//! (`words`). Above them the error type, then the storage boundary, then what reads requests
//! (`input`), what answers them (`views`) and the policy file. Then an employer's months,
//! which several use cases share, then the helpers of all use cases (`support`). The use
//! cases sit side by side in one layer and never name each other: whatever two of them need
//! moves down. Batch jobs run use cases, so they sit on top. `lib.rs` is the root and may
//! name everything; the items it defines itself (`crate::Service`, ...) are named only from
//! the use cases up, and its re-exports (`crate::LockCounts`, ...) from no file at all: a file
//! imports an item from the file that defines it. A new file must be placed in the table.

/// The root: `lib.rs` and this test, which may name any file.
const ROOT: u8 = u8::MAX;
/// The layer of the use cases: the first that may name the items `lib.rs` defines itself.
const USE_CASES: u8 = 6;

/// Every file of `src/` (by module name) and its layer.
const LAYERS: &[(&str, u8)] = &[
    // Leaves.
    ("clock", 0),
    ("keys", 0),
    ("secret", 0),
    ("model", 0),
    ("words", 0),
    ("claim", 0),
    ("meter", 0),
    // The error type, then the storage boundary that answers with it.
    ("error", 1),
    ("store", 2),
    // Reading requests, answering them, the policy file.
    ("input", 3),
    ("views", 3),
    ("policy", 3),
    ("request_key", 3),
    // An employer's months, shared by several use cases.
    ("months", 4),
    // What every use case uses.
    ("support", 5),
    ("chip", 5),
    ("ecode", 5),
    // The use cases, which never name each other.
    ("admin", USE_CASES),
    ("calendar", USE_CASES),
    ("cards", USE_CASES),
    ("crediting", USE_CASES),
    ("dashboard", USE_CASES),
    ("employers", USE_CASES),
    ("loss", USE_CASES),
    ("passwords", USE_CASES),
    ("people", USE_CASES),
    ("selfservice", USE_CASES),
    ("settlement", USE_CASES),
    ("terminal", USE_CASES),
    ("ecard", USE_CASES),
    ("console_sessions", USE_CASES),
    ("health", USE_CASES),
    // Batch jobs, which run use cases.
    ("jobs", 7),
    ("lib", ROOT),
    ("layers", ROOT),
];

/// What `lib.rs` defines itself (not its re-exports).
const ROOT_ITEMS: &[&str] = &[
    "Service",
    "Monotonic",
    "TokenCache",
    "TOKEN_CACHE_AGE_DEFAULT",
];

fn layer_of(module: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|&(_, layer)| layer)
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier (or `*`, or `{`) at the start of `text`, after whitespace.
fn head(text: &str) -> &str {
    let text = text.trim_start();
    if text.starts_with('*') || text.starts_with('{') {
        return &text[..1];
    }
    let end = text.find(|c| !is_ident_char(c)).unwrap_or(text.len());
    &text[..end]
}

/// The first names of the entries of a `{ .. }` group that `text` starts inside of (just past
/// its `{`): `a::b, c::{d, e}, f` gives `a`, `c`, `f`.
fn group_heads(text: &str) -> Vec<&str> {
    let mut heads = vec![head(text)];
    let mut depth = 1;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => heads.push(head(&text[i + 1..])),
            _ => {}
        }
    }
    heads.retain(|h| !h.is_empty());
    heads
}

/// The first path segments after each `crate::` and `super::` (`super::super::` counts as
/// one) in `source`, as `crate::name` or `super::name`; a `use crate::{..}` group gives one per
/// entry.
fn references(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = source[from..].find(prefix) {
            let start = from + at;
            from = start + prefix.len();
            if source[..start].ends_with(|c: char| is_ident_char(c) || c == '$') {
                continue;
            }
            let mut rest = &source[from..];
            while let Some(more) = rest.trim_start().strip_prefix("super::") {
                rest = more;
            }
            match head(rest) {
                "{" => {
                    let inside = &rest.trim_start()[1..];
                    found.extend(group_heads(inside).iter().map(|n| format!("{prefix}{n}")));
                }
                name => found.push(format!("{prefix}{name}")),
            }
        }
    }
    found
}

/// What is wrong with the file of module `module` whose text is `source`, one line each.
fn violations(module: &str, source: &str) -> Vec<String> {
    let Some(layer) = layer_of(module) else {
        return vec![format!(
            "{module}.rs is not in the layer table of layers.rs: place it in a layer"
        )];
    };
    if layer == ROOT {
        return Vec::new();
    }
    let mut wrong = Vec::new();
    for reference in references(source) {
        let (prefix, name) = reference.split_once("::").unwrap_or(("", &reference));
        if name.is_empty() || name == "self" || (prefix == "super" && name == "*") {
            continue;
        }
        if name == "*" {
            wrong.push(format!(
                "{module}.rs names {reference}: a glob hides the layer"
            ));
            continue;
        }
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            if prefix == "super" {
                continue; // an item of the file itself, from a nested module
            }
            if !ROOT_ITEMS.contains(&name) {
                wrong.push(format!(
                    "{module}.rs names {reference}, a re-export of lib.rs: import it from the file that defines it"
                ));
            } else if layer < USE_CASES {
                wrong.push(format!(
                    "{module}.rs (layer {layer}) names {reference}, which only the use cases and above may name"
                ));
            }
            continue;
        }
        match layer_of(name) {
            Some(_) if name == module => {}
            Some(other) if other < layer => {}
            Some(other) => wrong.push(format!(
                "{module}.rs (layer {layer}) names {reference} (layer {other}): a file names only strictly lower layers"
            )),
            // `super::name` from a nested module may be an item of the file itself.
            None if prefix == "super" => {}
            None => wrong.push(format!(
                "{module}.rs names {reference}, which is not a file in the layer table"
            )),
        }
    }
    wrong
}

#[test]
fn every_file_names_only_lower_layers() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen = Vec::new();
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src/ lists") {
        let path = entry.expect("src/ entry").path();
        assert!(
            !path.is_dir(),
            "{}: the crate's files are flat; extend layers.rs for a directory",
            path.display()
        );
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let module = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a file name")
            .to_owned();
        let source = std::fs::read_to_string(&path).expect("a source file reads");
        wrong.extend(violations(&module, &source));
        seen.push(module);
    }
    for (name, _) in LAYERS {
        if !seen.iter().any(|s| s == name) {
            wrong.push(format!(
                "the layer table names {name}, which has no file in src/"
            ));
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn references_are_found_in_paths_and_groups() {
    let source = "use crate::{error::ServiceError, store::{Lock, Tx}, model};\n\
                  use crate::views::CardView;\n\
                  fn f() { crate::months::lock_state(); super::support::x(); super::*; }\n\
                  pub(crate) fn g() {}";
    assert_eq!(
        references(source),
        [
            "crate::error",
            "crate::store",
            "crate::model",
            "crate::views",
            "crate::months",
            "super::support",
            "super::*",
        ]
    );
}

#[test]
fn violations_are_reported() {
    // A lower file naming a higher one, and a use case naming another.
    assert_eq!(violations("model", "use crate::support::Audit;").len(), 1);
    assert_eq!(violations("cards", "crate::people::parse_name(x)").len(), 1);
    assert_eq!(
        violations("cards", "use crate::{input::parse_pin, passwords::x};").len(),
        1
    );
    assert_eq!(violations("cards", "use super::employers;").len(), 1);
    // A re-export of lib.rs, and the root's own items below the use cases.
    assert_eq!(violations("store", "crate::LockCounts").len(), 1);
    assert_eq!(violations("support", "use crate::Service;").len(), 1);
    // A file not in the table, and a module not in it.
    assert_eq!(violations("newfile", "").len(), 1);
    assert_eq!(violations("cards", "crate::nowhere::f()").len(), 1);
    // What is allowed.
    assert!(
        violations(
            "cards",
            "use crate::Service;\nuse crate::{input::parse_pin, months};"
        )
        .is_empty()
    );
    assert!(violations("jobs", "use crate::crediting::CREDIT_BATCH_ROWS_DEFAULT;").is_empty());
    assert!(violations("lib", "use crate::jobs; crate::LockCounts").is_empty());
    assert!(violations("keys", "mod tests { use super::*; }").is_empty());
}
