//! A password as a request carries it, the one type for the API's JSON bodies and the console's
//! forms: no password reaches a log line, an error message or a response (ARCHITECTURE.md).

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A password field from a request: zeroized when dropped (the `Zeroizing` inside), `Debug`
/// masked, and no `Display` or `Serialize`. Absent fields read as empty (`Default`); the use
/// cases parse the text (`Pin`, query passwords) and refuse what is not a password.
#[derive(Default)]
pub struct Secret(pub Zeroizing<String>);

impl Secret {
    /// The password's text, for the use case that checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The password, still zeroized when dropped, for a use case that takes it.
    pub fn into_inner(self) -> Zeroizing<String> {
        self.0
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Secret(Zeroizing::new(String::deserialize(d)?)))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::Error;

    // STYLE 6: the digits never appear when a secret is printed for debugging.
    #[test]
    fn a_secret_reads_from_a_field_and_never_prints() {
        let s =
            Secret::deserialize(IntoDeserializer::<Error>::into_deserializer("642097")).unwrap();
        assert_eq!(s.expose(), "642097");
        let printed = format!("{s:?} {:?}", Some(&s));
        assert!(!printed.contains("642097"), "{printed}");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.into_inner().as_str(), "642097");
        assert_eq!(Secret::default().expose(), "");
    }
}
