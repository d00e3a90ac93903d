//! A string that must never be printed: the API token.

use std::fmt;

/// The Shopping Feed API token. `Debug` and `Display` print `***`, and the type has no `Serialize`,
/// so the token cannot leak through an error message, a log line or a `{:?}` of a config struct.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every occurrence of the secret in `text` by `***` (response bodies such as
    /// `GET /v1/me` echo the token, and bodies are kept in errors).
    pub fn redact(&self, text: &str) -> String {
        // Very short tokens would blank out unrelated text; real tokens are 32+ characters.
        if self.0.len() < 4 {
            return text.to_string();
        }
        let mut out = text.replace(self.0.as_str(), "***");
        // A body cut short (truncated response, or our own size cap) can end inside the token:
        // drop a trailing token prefix too.
        for k in (4..self.0.len()).rev() {
            if let Some(prefix) = self.0.get(..k) {
                if out.ends_with(prefix) {
                    out.truncate(out.len() - k);
                    out.push_str("***");
                    break;
                }
            }
        }
        out
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("fd9cf7c178a1efd30bb1aad0e302abde");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "fd9cf7c178a1efd30bb1aad0e302abde");
    }

    #[test]
    fn redact_removes_every_occurrence() {
        let s = Secret::new("t0k3n-abc");
        assert_eq!(
            s.redact(r#"{"token":"t0k3n-abc","x":"t0k3n-abc"}"#),
            r#"{"token":"***","x":"***"}"#
        );
        assert_eq!(s.redact(r#"{"token":"t0k3n-a"#), r#"{"token":"***"#);
        assert_eq!(s.redact("t0k"), "t0k", "3 characters say nothing");
    }
}
