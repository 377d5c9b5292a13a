//! Normalisation: the text as shingles see it (storydiff.shingles.fold, with Python's data).
//!
//! NFKC, then full case folding (str.casefold), then apostrophes and quotes deleted and every
//! character that is not part of a word (Python's str.isspace, or a category P, S, Z or C)
//! made a space; newlines stay. Character data comes from the CPython that defines the
//! reference (see unicode_tables.rs), so the result is the same whichever Unicode version
//! the `unicode-normalization` crate follows: a character Python does not know is a space
//! before normalisation, as it is after folding in Python (it has no decomposition there,
//! and neither it nor a space composes with a neighbour).

use std::cmp::Ordering;

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::unicode_tables::{ASSIGNED, CASEFOLD, WORD};

/// Apostrophes and quotes, which folding deletes (so "don't", "don’t" and "dont" are one token).
pub use crate::unicode_tables::DELETED;

fn in_ranges(ranges: &[(char, char)], character: char) -> bool {
    ranges
        .binary_search_by(|&(start, end)| {
            if end < character {
                Ordering::Less
            } else if start > character {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether the reference Unicode version assigns `character` (its category is not Cn).
pub fn is_assigned(character: char) -> bool {
    character.is_ascii() || in_ranges(ASSIGNED, character)
}

/// The fold of each ASCII character: itself, lower-cased, a space, or 0 for deleted.
static ASCII_FOLD: [u8; 128] = ascii_fold_table();

const fn ascii_fold_table() -> [u8; 128] {
    let mut table = [b' '; 128];
    let mut byte = 0;
    while byte < 128 {
        let character = byte as u8;
        table[byte] = match character {
            b'a'..=b'z' | b'0'..=b'9' | b'\n' => character,
            b'A'..=b'Z' => character + (b'a' - b'A'),
            b'\'' | b'"' | b'`' => 0,
            _ => b' ',
        };
        byte += 1;
    }
    table
}

/// What one case-folded character becomes: itself, a space, or nothing.
fn push_folded(character: char, out: &mut Vec<u8>) {
    if character.is_ascii() {
        match ASCII_FOLD[character as usize] {
            0 => {}
            folded => out.push(folded),
        }
    } else if DELETED.contains(&character) {
    } else if in_ranges(WORD, character) {
        out.extend_from_slice(character.encode_utf8(&mut [0; 4]).as_bytes());
    } else {
        out.push(b' ');
    }
}

fn push_case_folded(character: char, out: &mut Vec<u8>) {
    if character.is_ascii() {
        push_folded(character, out);
        return;
    }
    match CASEFOLD.binary_search_by(|&(key, _)| key.cmp(&character)) {
        Ok(index) => CASEFOLD[index]
            .1
            .chars()
            .for_each(|folded| push_folded(folded, out)),
        Err(_) => push_folded(character, out),
    }
}

/// Append the UTF-8 of the fold of `text` to `out`.
pub fn fold_bytes(text: &str, out: &mut Vec<u8>) {
    if text.is_ascii() {
        // NFKC leaves ASCII as it is.
        out.extend(
            text.bytes()
                .map(|byte| ASCII_FOLD[byte as usize])
                .filter(|&byte| byte != 0),
        );
    } else if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        // Already NFKC by the crate's (newer) data, so by Python's too: a character
        // Python does not know is a starter there that neither decomposes nor composes.
        text.chars()
            .for_each(|character| push_case_folded(character, out));
    } else {
        text.chars()
            .map(|character| {
                if is_assigned(character) {
                    character
                } else {
                    ' '
                }
            })
            .nfkc()
            .for_each(|character| push_case_folded(character, out));
    }
}

/// NFKC, case-folded, quotes removed, everything that is not part of a word a space.
pub fn fold(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    fold_bytes(text, &mut out);
    String::from_utf8(out).expect("the fold pushes whole characters")
}

/// Text from Python's UTF-8 with lone surrogates passed through (`surrogatepass`): each
/// surrogate becomes U+FFFD, which folds to a space as the surrogate (category Cs) does.
pub fn from_surrogate_utf8(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    let mut start = 0;
    let mut index = 0;
    while index + 2 < bytes.len() {
        if bytes[index] == 0xED && (0xA0..=0xBF).contains(&bytes[index + 1]) {
            text.push_str(&String::from_utf8_lossy(&bytes[start..index]));
            text.push('\u{FFFD}');
            index += 3;
            start = index;
        } else {
            index += 1;
        }
    }
    text.push_str(&String::from_utf8_lossy(&bytes[start..]));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_unicode_forms_case_and_quotes() {
        assert_eq!(
            fold("As Islamists “open the Gates of hell,” — they’re   here."),
            "as islamists open the gates of hell    theyre   here "
        );
        assert_eq!(fold("ﬁnal ＦＵＬＬ"), "final full");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("ΣΊΣΥΦΟΣ"), "σίσυφοσ");
    }

    #[test]
    fn keeps_newlines_and_makes_other_separators_spaces() {
        assert_eq!(fold("a\r\nb\u{2028}c\u{85}d\te"), "a \nb c d e");
    }

    #[test]
    fn an_unassigned_character_is_a_space() {
        // U+1E030 (a modifier letter with a compatibility decomposition) came in Unicode 15.
        let expected = if crate::unicode_tables::UNICODE_VERSION.starts_with("14.") {
            "a b"
        } else {
            "aаb"
        };
        assert_eq!(fold("a\u{1E030}b"), expected);
    }

    #[test]
    fn a_surrogate_is_one_replacement_character() {
        let bytes = b"a\xed\xb2\x80b\xef\xbf\xbd\xef\xbf\xbd";
        assert_eq!(from_surrogate_utf8(bytes), "a\u{FFFD}b\u{FFFD}\u{FFFD}");
        assert_eq!(fold(&from_surrogate_utf8(bytes)), "a b  ");
    }
}
