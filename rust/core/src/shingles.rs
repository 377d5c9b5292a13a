//! Tokens, token hashes, word n-gram shingle hashes and line keys of folded text.
//!
//! Token hash: a polynomial hash of the token's UTF-8 bytes modulo 2**64, mixed with the
//! token length and the seed and finished with the splitmix64 finaliser. A shingle is the
//! multiply-xor combination of `ngram` consecutive token hashes, order-sensitive; a line key
//! the polynomial of a line's token hashes. Not cryptographic; for natural text the
//! collision rate is that of a 64-bit hash.

use crate::fold::fold_bytes;

pub const MIX_MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
const LENGTH_MULTIPLIER: u64 = 0xC2B2_AE3D_27D4_EB4F;
const BASE: u64 = 0x0100_0000_01B3;
/// Line keys never equal token or n-gram hashes by design.
const LINE_SALT: u64 = 0x6A09_E667_F3BC_C909;

/// The splitmix64 finaliser: spreads structured 64-bit values over all 64 bits.
pub fn mix64(value: u64) -> u64 {
    let value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

/// The tokens of one folded text: each token's hash and the line it is on (0-based).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub hashes: Vec<u64>,
    pub lines: Vec<u32>,
}

/// Every token of `folded` (runs of bytes other than space and newline), hashed with `seed`.
pub fn tokenize_folded(folded: &[u8], seed: u64) -> Tokens {
    let seed_key = mix64(seed);
    let mut tokens = Tokens::default();
    let mut line = 0u32;
    let mut raw = 0u64;
    let mut power = 1u64;
    let mut length = 0u64;
    let finish = |tokens: &mut Tokens, raw: u64, length: u64, line: u32| {
        tokens.hashes.push(mix64(
            raw ^ length.wrapping_mul(LENGTH_MULTIPLIER) ^ seed_key,
        ));
        tokens.lines.push(line);
    };
    for &byte in folded {
        if byte == b' ' || byte == b'\n' {
            if length > 0 {
                finish(&mut tokens, raw, length, line);
                (raw, power, length) = (0, 1, 0);
            }
            if byte == b'\n' {
                line += 1;
            }
        } else {
            raw = raw.wrapping_add(u64::from(byte).wrapping_mul(power));
            power = power.wrapping_mul(BASE);
            length += 1;
        }
    }
    if length > 0 {
        finish(&mut tokens, raw, length, line);
    }
    tokens
}

/// Fold `text` and hash its tokens.
pub fn tokenize(text: &str, seed: u64) -> Tokens {
    let mut folded = Vec::with_capacity(text.len());
    fold_bytes(text, &mut folded);
    tokenize_folded(&folded, seed)
}

/// The n-gram hashes of one text's token hashes, in order. A text shorter than `ngram`
/// tokens yields one shingle of all its tokens, so short texts still compare; an empty
/// text yields none.
pub fn ngrams(hashes: &[u64], ngram: usize, out: &mut Vec<u64>) {
    assert!(ngram >= 1, "ngram must be at least 1");
    let combine = |window: &[u64]| {
        let combined = window.iter().fold(0u64, |combined, &hash| {
            combined.wrapping_mul(MIX_MULTIPLIER) ^ hash
        });
        mix64(combined.wrapping_add(window.len() as u64))
    };
    if hashes.is_empty() {
        return;
    }
    if hashes.len() < ngram {
        out.push(combine(hashes));
        return;
    }
    out.extend(hashes.windows(ngram).map(combine));
}

/// Each line's key (a line of at least `min_words` tokens, at least one), with its line
/// number, in line order.
pub fn line_keys(tokens: &Tokens, min_words: usize) -> Vec<(u32, u64)> {
    let minimum = min_words.max(1);
    let mut keys = Vec::new();
    let mut start = 0;
    while start < tokens.hashes.len() {
        let line = tokens.lines[start];
        let end = start
            + tokens.lines[start..]
                .iter()
                .take_while(|&&other| other == line)
                .count();
        if end - start >= minimum {
            let mut raw = 0u64;
            let mut power = 1u64;
            for &hash in &tokens.hashes[start..end] {
                raw = raw.wrapping_add(hash.wrapping_mul(power));
                power = power.wrapping_mul(BASE);
            }
            let length = (end - start) as u64;
            keys.push((
                line,
                mix64(raw ^ length.wrapping_mul(MIX_MULTIPLIER) ^ LINE_SALT),
            ));
        }
        start = end;
    }
    keys
}

/// A text's distinct line keys, sorted.
pub fn distinct_line_keys(tokens: &Tokens, min_words: usize) -> Vec<u64> {
    let mut keys: Vec<u64> = line_keys(tokens, min_words)
        .into_iter()
        .map(|(_, key)| key)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_on_spaces_and_newlines_and_count_lines() {
        let tokens = tokenize("Troops arrive\n\nin  Mali.", 0);
        assert_eq!(tokens.lines, vec![0, 0, 2, 2]);
        assert_eq!(tokens.hashes, tokenize("troops ARRIVE in mali", 0).hashes);
        assert_ne!(tokens.hashes, tokenize("troops arrive in mali", 1).hashes);
    }

    #[test]
    fn ngrams_are_order_sensitive_and_short_texts_give_one() {
        let forward = tokenize("troops arrive in mali", 0).hashes;
        let backward = tokenize("mali in arrive troops", 0).hashes;
        let (mut left, mut right) = (Vec::new(), Vec::new());
        ngrams(&forward, 2, &mut left);
        ngrams(&backward, 2, &mut right);
        assert_eq!(left.len(), 3);
        assert!(left.iter().all(|hash| !right.contains(hash)));
        let mut short = Vec::new();
        ngrams(&forward, 5, &mut short);
        assert_eq!(short.len(), 1);
        ngrams(&[], 5, &mut short);
        assert_eq!(short.len(), 1);
    }

    #[test]
    fn line_keys_ignore_case_and_punctuation_and_skip_short_lines() {
        let credit = tokenize("(Reporting by Tim Cocks; Editing by Ed Cropley)\nshort", 0);
        let shouted = tokenize("(REPORTING BY TIM COCKS, EDITING BY ED CROPLEY)", 0);
        let keys = line_keys(&credit, 4);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys, line_keys(&shouted, 4));
        assert_eq!(line_keys(&credit, 1).len(), 2);
    }
}
