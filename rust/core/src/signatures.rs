//! MinHash signatures by one-permutation hashing with optimal densification.
//!
//! Each shingle hash is hashed once more with the seed; its high 32 bits pick one of
//! `num_perm` bins and its low 32 bits are the value, and a bin keeps its minimum. A bin left
//! empty copies the first filled bin of a probe sequence that depends only on the bin and the
//! seed (Shrivastava, 2017), so two texts agree on a bin with probability equal to their
//! Jaccard similarity. Values fit datasketch's `affine32` scheme (uint32).

use crate::shingles::{mix64, MIX_MULTIPLIER};

/// The value of every bin of a text without shingles.
pub const EMPTY: u32 = u32::MAX;
const MAX_PROBES: u64 = 1 << 14;

fn seed_key(seed: u64, salt: u64) -> u64 {
    mix64(seed.wrapping_mul(MIX_MULTIPLIER).wrapping_add(salt))
}

/// Fast range reduction of the high 32 bits onto 0..num_perm.
fn bin_of(hash: u64, num_perm: usize) -> usize {
    (((hash >> 32).wrapping_mul(num_perm as u64)) >> 32) as usize
}

/// The probe sequences of a seed and signature width, shared by every text signed with them.
pub struct Signer {
    num_perm: usize,
    shingle_key: u64,
    probe_key: u64,
}

impl Signer {
    pub fn new(num_perm: usize, seed: u64) -> Signer {
        assert!(num_perm >= 2, "num_perm must be at least 2");
        Signer {
            num_perm,
            shingle_key: seed_key(seed, 1),
            probe_key: seed_key(seed, 2),
        }
    }

    fn probe(&self, column: usize, attempt: u64) -> usize {
        bin_of(
            mix64((column as u64 * MAX_PROBES + attempt) ^ self.probe_key),
            self.num_perm,
        )
    }

    /// Sign one text's shingle hashes (repeats allowed) into `row` (`num_perm` values).
    pub fn sign(&self, shingles: &[u64], row: &mut [u32]) {
        row.fill(EMPTY);
        let mut filled = vec![false; self.num_perm];
        for &shingle in shingles {
            let hashed = mix64(shingle ^ self.shingle_key);
            let bin = bin_of(hashed, self.num_perm);
            row[bin] = row[bin].min(hashed as u32);
            filled[bin] = true;
        }
        if shingles.is_empty() {
            return;
        }
        for column in 0..self.num_perm {
            if filled[column] {
                continue;
            }
            let source = (1..=MAX_PROBES)
                .map(|attempt| self.probe(column, attempt))
                .find(|&probe| filled[probe])
                // Practically unreachable (one filled bin and 16,384 unlucky probes): the
                // next filled bin to the right, which still depends only on the bin.
                .unwrap_or_else(|| {
                    (1..self.num_perm)
                        .map(|step| (column + step) % self.num_perm)
                        .find(|&index| filled[index])
                        .expect("a text with shingles fills a bin")
                });
            row[column] = row[source];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_all_empty_and_one_shingle_fills_every_bin() {
        let signer = Signer::new(16, 7);
        let mut row = vec![0; 16];
        signer.sign(&[], &mut row);
        assert!(row.iter().all(|&value| value == EMPTY));
        signer.sign(&[42], &mut row);
        let value = mix64(42 ^ seed_key(7, 1)) as u32;
        assert!(row.iter().all(|&found| found == value));
    }

    #[test]
    fn order_and_repeats_do_not_change_a_signature() {
        let signer = Signer::new(64, 0);
        let (mut left, mut right) = (vec![0; 64], vec![0; 64]);
        signer.sign(&[1, 2, 3, 4, 5], &mut left);
        signer.sign(&[5, 4, 3, 3, 2, 1, 1], &mut right);
        assert_eq!(left, right);
    }
}
