//! Boilerplate rule patterns on the `regex` crate: matching takes time linear in the line,
//! whatever the pattern, so no rule can hang a run.

use regex::{Regex, RegexBuilder};

/// Compiled patterns may not grow beyond this (a pattern that would is an error, not a hang).
const SIZE_LIMIT: usize = 10 * (1 << 20);

/// A rule pattern, searched case-insensitively as rules are (`(?-i:...)` for a
/// case-sensitive part); the error is the regex crate's explanation.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catastrophic_pattern_is_linear() {
        let regex = compile("^(a+)+$").unwrap();
        let line = format!("{}b", "a".repeat(10_000));
        assert!(!regex.is_match(&line));
        assert!(regex.is_match("AAAA"));
    }

    #[test]
    fn lookaround_and_backreferences_are_errors() {
        assert!(compile(r"(?=a)").unwrap_err().contains("look-around"));
        assert!(compile(r"(a)\1").unwrap_err().contains("backreferences"));
    }
}
