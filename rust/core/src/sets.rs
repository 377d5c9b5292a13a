//! Exact shingle sets and the exact similarity of pairs of them.

/// Sort and deduplicate in place: the set Jaccard is computed on.
pub fn distinct(values: &mut Vec<u64>) {
    values.sort_unstable();
    values.dedup();
}

/// How many values two sorted distinct sets share.
pub fn shared(left: &[u64], right: &[u64]) -> usize {
    let (mut i, mut j, mut count) = (0, 0, 0);
    while i < left.len() && j < right.len() {
        match left[i].cmp(&right[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                count += 1;
                i += 1;
                j += 1;
            }
        }
    }
    count
}

/// Exact Jaccard and containment (of the smaller set in the larger) of two sorted distinct
/// sets; (0, 0) when either is empty.
pub fn similarity(left: &[u64], right: &[u64]) -> (f64, f64) {
    if left.is_empty() || right.is_empty() {
        return (0.0, 0.0);
    }
    let common = shared(left, right);
    let union = left.len() + right.len() - common;
    (
        common as f64 / union as f64,
        common as f64 / left.len().min(right.len()) as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_of_overlapping_sets() {
        assert_eq!(
            similarity(&[1, 2, 3, 4], &[3, 4, 5]),
            (2.0 / 5.0, 2.0 / 3.0)
        );
        assert_eq!(similarity(&[], &[1]), (0.0, 0.0));
        let mut values = vec![3, 1, 3, 2];
        distinct(&mut values);
        assert_eq!(values, vec![1, 2, 3]);
    }
}
