//! storydiff's text hot paths, free of Python: normalisation, tokens, shingle hashes, line
//! keys, one-permutation MinHash, exact sets and their similarity, and linear-time rules.
//! The PyO3 binding (`storydiff._core`) is a thin layer over `batch` and `rules`.

pub mod batch;
pub mod fold;
pub mod rules;
pub mod sets;
pub mod shingles;
pub mod signatures;
mod unicode_tables;

pub use unicode_tables::UNICODE_VERSION;
