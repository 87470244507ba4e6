//! Secret values: never printed, wiped from memory when dropped, and
//! readable from mounted files (Kubernetes mounts a Secret's keys as files).
use std::{fmt, path::Path};

use zeroize::Zeroize;

/// A value that must never reach logs (`Debug` prints a placeholder) and is
/// overwritten with zeros when dropped, so a key does not linger in freed
/// memory for a core dump or a later allocation to reveal.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Named so that every use of the secret value is easy to audit.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A secret from a file: its text without the final line break that editors
/// and `echo` add (Kubernetes writes the value as given). An unreadable or
/// empty file is an error that names the path, never the content.
pub(crate) fn read_file(path: &Path) -> Result<Secret<String>, String> {
    let mut text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let kept = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(kept);
    if text.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use crate::config::Env;

    fn temp_file(text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("yeyak-secret-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_secret_comes_from_the_variable_or_from_its_file() {
        let path = temp_file("s3cr3t\n");
        let env = Env::from_pairs([("OPERATOR_TOKEN_FILE", path.to_string_lossy().into_owned())]);
        assert_eq!(env.secret("OPERATOR_TOKEN").unwrap().unwrap().expose(), "s3cr3t", "the final line break goes");
        let env = Env::from_pairs([("OPERATOR_TOKEN", "direct")]);
        assert_eq!(env.secret("OPERATOR_TOKEN").unwrap().unwrap().expose(), "direct");
        assert!(Env::from_pairs([("X", "y")]).secret("OPERATOR_TOKEN").unwrap().is_none());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn both_forms_an_unreadable_or_an_empty_file_are_refused_by_name() {
        let both = Env::from_pairs([("OPERATOR_TOKEN", "a"), ("OPERATOR_TOKEN_FILE", "/nowhere")]);
        let err = both.secret("OPERATOR_TOKEN").unwrap_err().to_string();
        assert!(err.contains("not both"), "{err}");
        let missing = Env::from_pairs([("OPERATOR_TOKEN_FILE", "/nowhere/token")]);
        let err = missing.secret("OPERATOR_TOKEN").unwrap_err().to_string();
        assert!(err.contains("YEYAK_OPERATOR_TOKEN_FILE") && err.contains("/nowhere/token"), "{err}");
        let empty = temp_file("\n");
        let err = Env::from_pairs([("OPERATOR_TOKEN_FILE", empty.to_string_lossy().into_owned())])
            .secret("OPERATOR_TOKEN")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is empty"), "{err}");
        std::fs::remove_file(&empty).unwrap();
    }
}
