//! Whole batches at once, in parallel over texts (rayon), as flat arrays with offsets:
//! item i of a batch owns `values[offsets[i]..offsets[i + 1]]`.

use rayon::prelude::*;

use crate::sets;
use crate::shingles::{distinct_line_keys, line_keys, ngrams, tokenize, Tokens};
use crate::signatures::Signer;

/// Values of many items, concatenated, with `offsets` of length items + 1.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ragged<T> {
    pub values: Vec<T>,
    pub offsets: Vec<i64>,
}

impl<T: Copy> Ragged<T> {
    pub fn from_parts(parts: Vec<Vec<T>>) -> Ragged<T> {
        let mut offsets = Vec::with_capacity(parts.len() + 1);
        offsets.push(0);
        let mut total = 0i64;
        for part in &parts {
            total += part.len() as i64;
            offsets.push(total);
        }
        let mut values = Vec::with_capacity(total as usize);
        parts.iter().for_each(|part| values.extend_from_slice(part));
        Ragged { values, offsets }
    }

    pub fn view(&self) -> RaggedView<'_, T> {
        RaggedView {
            values: &self.values,
            offsets: &self.offsets,
        }
    }

    pub fn item(&self, index: usize) -> &[T] {
        &self.values[self.offsets[index] as usize..self.offsets[index + 1] as usize]
    }
}

/// A borrowed `Ragged` (arrays that Python owns).
#[derive(Debug, Clone, Copy)]
pub struct RaggedView<'a, T> {
    values: &'a [T],
    offsets: &'a [i64],
}

impl<'a, T> RaggedView<'a, T> {
    /// Checks that the offsets start at 0, never decrease and end within `values`.
    pub fn new(values: &'a [T], offsets: &'a [i64]) -> Result<RaggedView<'a, T>, String> {
        let ordered = offsets.windows(2).all(|pair| pair[0] <= pair[1]);
        match (offsets.first(), offsets.last()) {
            (Some(&0), Some(&last)) if ordered && last as usize <= values.len() => {
                Ok(RaggedView { values, offsets })
            }
            _ => Err(format!(
                "offsets must rise from 0 to at most {} (the number of values)",
                values.len()
            )),
        }
    }

    pub fn item(&self, index: usize) -> &'a [T] {
        &self.values[self.offsets[index] as usize..self.offsets[index + 1] as usize]
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Shingle hashes of many texts, in text order (repeats kept), their token counts and, when
/// asked for, each text's distinct line keys.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ShingleBatch {
    pub shingles: Ragged<u64>,
    pub word_counts: Vec<i64>,
    pub line_keys: Ragged<u64>,
}

/// Every token hash of every text, and each text's token count.
pub fn token_hashes<S: AsRef<str> + Sync>(texts: &[S], seed: u64) -> Ragged<u64> {
    Ragged::from_parts(
        texts
            .par_iter()
            .map(|text| tokenize(text.as_ref(), seed).hashes)
            .collect(),
    )
}

/// Shingles (and line keys of lines of at least `line_min_words` tokens, if given).
pub fn shingle_batch<S: AsRef<str> + Sync>(
    texts: &[S],
    ngram: usize,
    seed: u64,
    line_min_words: Option<usize>,
) -> ShingleBatch {
    let per_text: Vec<(Vec<u64>, i64, Vec<u64>)> = texts
        .par_iter()
        .map(|text| {
            let tokens = tokenize(text.as_ref(), seed);
            let mut shingles = Vec::with_capacity(tokens.hashes.len());
            ngrams(&tokens.hashes, ngram, &mut shingles);
            let keys = line_min_words
                .map(|minimum| distinct_line_keys(&tokens, minimum))
                .unwrap_or_default();
            (shingles, tokens.hashes.len() as i64, keys)
        })
        .collect();
    let mut shingles = Vec::with_capacity(per_text.len());
    let mut word_counts = Vec::with_capacity(per_text.len());
    let mut keys = Vec::with_capacity(per_text.len());
    for (text_shingles, count, text_keys) in per_text {
        shingles.push(text_shingles);
        word_counts.push(count);
        keys.push(text_keys);
    }
    ShingleBatch {
        shingles: Ragged::from_parts(shingles),
        word_counts,
        line_keys: Ragged::from_parts(keys),
    }
}

/// The key of every line of every text (None for a line of fewer than `min_words` tokens),
/// one entry per line: a text of n newlines has n + 1 lines.
pub fn keys_by_line<S: AsRef<str> + Sync>(
    texts: &[S],
    min_words: usize,
    seed: u64,
) -> Ragged<Option<u64>> {
    Ragged::from_parts(
        texts
            .par_iter()
            .map(|text| {
                let text = text.as_ref();
                let mut keys = vec![None; text.matches('\n').count() + 1];
                let tokens: Tokens = tokenize(text, seed);
                for (line, key) in line_keys(&tokens, min_words) {
                    keys[line as usize] = Some(key);
                }
                keys
            })
            .collect(),
    )
}

/// Each text's distinct line keys (lines of at least `min_words` tokens), sorted.
pub fn distinct_line_keys_batch<S: AsRef<str> + Sync>(
    texts: &[S],
    min_words: usize,
    seed: u64,
) -> Ragged<u64> {
    Ragged::from_parts(
        texts
            .par_iter()
            .map(|text| distinct_line_keys(&tokenize(text.as_ref(), seed), min_words))
            .collect(),
    )
}

/// Each item's values sorted and distinct.
pub fn distinct_sets(batch: RaggedView<'_, u64>) -> Ragged<u64> {
    Ragged::from_parts(
        (0..batch.len())
            .into_par_iter()
            .map(|index| {
                let mut values = batch.item(index).to_vec();
                sets::distinct(&mut values);
                values
            })
            .collect(),
    )
}

/// One signature row per item (row-major, items x num_perm).
pub fn signatures(batch: RaggedView<'_, u64>, num_perm: usize, seed: u64) -> Vec<u32> {
    let signer = Signer::new(num_perm, seed);
    let mut rows = vec![0u32; batch.len() * num_perm];
    rows.par_chunks_mut(num_perm)
        .enumerate()
        .for_each(|(index, row)| signer.sign(batch.item(index), row));
    rows
}

/// Exact Jaccard, containment and smaller set size of each pair of items of `sets`.
pub fn similarities(sets: RaggedView<'_, u64>, pairs: &[(usize, usize)]) -> Vec<(f64, f64, i64)> {
    pairs
        .par_iter()
        .map(|&(left, right)| {
            let (left, right) = (sets.item(left), sets.item(right));
            let (jaccard, containment) = sets::similarity(left, right);
            (jaccard, containment, left.len().min(right.len()) as i64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_its_texts_one_by_one() {
        let texts = [
            "Nigeria sends troops to Mali",
            "",
            "  ...  ",
            "one\ntwo three four",
        ];
        let batch = shingle_batch(&texts, 2, 3, Some(2));
        assert_eq!(batch.word_counts, vec![5, 0, 0, 4]);
        for (index, text) in texts.iter().enumerate() {
            let alone = shingle_batch(&[text], 2, 3, Some(2));
            assert_eq!(batch.shingles.item(index), alone.shingles.item(0));
            assert_eq!(batch.line_keys.item(index), alone.line_keys.item(0));
        }
        assert_eq!(batch.line_keys.item(3).len(), 1);
        let by_line = keys_by_line(&texts, 2, 3);
        assert_eq!(by_line.item(3).len(), 2);
        assert_eq!(by_line.item(3)[0], None);
        assert_eq!(by_line.item(3)[1], Some(batch.line_keys.item(3)[0]));
    }

    #[test]
    fn identical_texts_have_identical_signatures_and_similarity_one() {
        let batch = shingle_batch(&["a b c d e f", "a b c d e f", "x y z"], 3, 0, None);
        let sets = distinct_sets(batch.shingles.view());
        let rows = signatures(sets.view(), 8, 0);
        assert_eq!(rows[0..8], rows[8..16]);
        let found = similarities(sets.view(), &[(0, 1), (0, 2)]);
        assert!(RaggedView::new(&[1u64], &[0, 2]).is_err());
        assert_eq!(found, vec![(1.0, 1.0, 4), (0.0, 0.0, 1)]);
    }
}
