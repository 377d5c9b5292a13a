//! Boilerplate rule patterns on the `regex` crate: matching takes time linear in the line,
//! whatever the pattern, so no rule can hang a run.

use regex::{Regex, RegexBuilder};

/// Compiled patterns may not grow beyond this (a pattern that would is an error, not a hang).
const SIZE_LIMIT: usize = 10 * (1 << 20);

/// A rule pattern, searched case-insensitively as rules are (`(?-i:...)` for a
/// case-sensitive part). The error is one line: the regex crate's explanation.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|error| match error {
            regex::Error::CompiledTooBig(limit) => {
                format!("the pattern compiles to more than {limit} bytes; make it simpler")
            }
            // A syntax error's text shows the pattern with a caret under the fault, then
            // "error: " and what is wrong: keep that last part.
            other => {
                let text = other.to_string();
                text.lines()
                    .rev()
                    .find_map(|line| line.strip_prefix("error: "))
                    .unwrap_or(text.lines().last().unwrap_or_default())
                    .to_string()
            }
        })
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
        assert_eq!(
            compile(r"^(?=.{0,80}$)Share").unwrap_err(),
            "look-around, including look-ahead and look-behind, is not supported"
        );
        assert_eq!(
            compile(r"(a)\1").unwrap_err(),
            "backreferences are not supported"
        );
        assert!(compile("a{1000}{1000}")
            .unwrap_err()
            .starts_with("the pattern compiles to more than"));
    }
}
