//! [`Secret`]: a string that never shows in `Debug` or `Display` output (webhook URLs, bot tokens,
//! signing secrets), so configuration structs can derive `Debug` and be logged safely.

use std::fmt;

/// A secret value. `Debug` and `Display` print `[redacted]`; [`Secret::expose`] is the one way
/// to read it, so every use is easy to find.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (surrounding whitespace, such as a trailing newline from a file, is dropped).
    pub fn new(value: impl Into<String>) -> Secret {
        let value: String = value.into();
        Secret(value.trim().to_owned())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("xoxb-very-secret\n");
        assert_eq!(s.expose(), "xoxb-very-secret");
        let shown = format!("{s} {s:?} {:?}", Some(&s));
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
