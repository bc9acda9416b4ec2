//! Names of people, employers and actors as the system stores them.
//!
//! A name is shown on card faces (R-ID-2), in the console and in the audit trail, so it must
//! read the same everywhere: it is stored in Unicode normalisation form C, and characters that
//! make text display differently from what it is (controls, bidirectional overrides and
//! isolates, zero-width characters, invisible format characters) are refused rather than
//! silently dropped.

use unicode_normalization::UnicodeNormalization;

/// The longest name kept, in characters.
pub const NAME_CHARS_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name has 1-{NAME_CHARS_MAX} characters")]
    Length,
    #[error(
        "a name must not contain control, bidirectional-override or zero-width characters (found U+{0:04X})"
    )]
    Invisible(u32),
}

/// Characters that change how the text around them displays, or do not display at all.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'                   // soft hyphen
            | '\u{034F}'                 // combining grapheme joiner
            | '\u{061C}'                 // Arabic letter mark
            | '\u{115F}' | '\u{1160}'    // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'    // Khmer inherent vowels
            | '\u{180B}'..='\u{180F}'    // Mongolian variation selectors and vowel separator
            | '\u{200B}'..='\u{200F}'    // zero-width space, ZWNJ, ZWJ, LRM, RLM
            | '\u{2028}' | '\u{2029}'    // line and paragraph separators
            | '\u{202A}'..='\u{202E}'    // bidirectional embeddings and overrides
            | '\u{2060}'..='\u{206F}'    // word joiner, invisible operators, isolates, deprecated formats
            | '\u{3164}'                 // Hangul filler
            | '\u{FE00}'..='\u{FE0F}'    // variation selectors
            | '\u{FEFF}'                 // zero-width no-break space (BOM)
            | '\u{FFA0}'                 // halfwidth Hangul filler
            | '\u{FFF9}'..='\u{FFFB}'    // interlinear annotation
            | '\u{1D173}'..='\u{1D17A}'  // musical formatting
            | '\u{E0000}'..='\u{E0FFF}'  // tags and variation selectors supplement
        )
}

/// A name as stored: surrounding whitespace trimmed, NFC, 1..=[`NAME_CHARS_MAX`] characters,
/// nothing invisible.
pub fn parse_name(raw: &str) -> Result<String, NameError> {
    if let Some(c) = raw.chars().find(|&c| is_invisible(c)) {
        return Err(NameError::Invisible(u32::from(c)));
    }
    let name: String = raw.trim().nfc().collect();
    let n = name.chars().count();
    if n == 0 || n > NAME_CHARS_MAX {
        return Err(NameError::Length);
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_composed() {
        assert_eq!(parse_name("  张三 ").unwrap(), "张三");
        // A minority name with the middle dot stays as written.
        assert_eq!(parse_name("买买提·艾力").unwrap(), "买买提·艾力");
        // "é" as e + combining acute is stored composed (NFC).
        let decomposed = "Ren\u{0065}\u{0301}";
        assert_eq!(parse_name(decomposed).unwrap(), "Ren\u{00E9}");
        assert_eq!(parse_name(&"字".repeat(64)).unwrap().chars().count(), 64);
    }

    #[test]
    fn empty_long_and_invisible_names_are_refused() {
        assert_eq!(parse_name("   "), Err(NameError::Length));
        assert_eq!(parse_name(&"字".repeat(65)), Err(NameError::Length));
        for (bad, code) in [
            ("张\u{202E}三", 0x202E),   // right-to-left override
            ("张\u{2067}三", 0x2067),   // right-to-left isolate
            ("张\u{200D}三", 0x200D),   // zero-width joiner
            ("张\u{200B}三", 0x200B),   // zero-width space
            ("张\u{FEFF}三", 0xFEFF),   // BOM
            ("张\n三", 0x0A),           // control
            ("张\u{0007}三", 0x07),     // bell
            ("\u{E0041}张三", 0xE0041), // tag character
        ] {
            assert_eq!(parse_name(bad), Err(NameError::Invisible(code)), "{bad:?}");
        }
    }
}
