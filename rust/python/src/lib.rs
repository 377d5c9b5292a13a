//! `storydiff._core`: storydiff-core for Python. Coarse calls over batches: texts or flat
//! arrays with offsets in, numpy arrays out; each call releases the GIL for its work and
//! runs in parallel inside (rayon).

use std::borrow::Cow;

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use storydiff_core::batch::{self, RaggedView};
use storydiff_core::{fold as folding, rules, sets};

type U64Array<'py> = Bound<'py, PyArray1<u64>>;
type I64Array<'py> = Bound<'py, PyArray1<i64>>;

/// The UTF-8 of a Python string; one holding lone surrogates (which strict UTF-8 cannot
/// carry) has each replaced by U+FFFD, a character that folds to a space as they do.
fn text_of<'a>(text: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    match text.to_str() {
        Ok(utf8) => Ok(Cow::Borrowed(utf8)),
        Err(_) => {
            let encoded = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
            Ok(Cow::Owned(folding::from_surrogate_utf8(
                encoded.extract::<&[u8]>()?,
            )))
        }
    }
}

fn texts_of<'a>(texts: &'a [Bound<'_, PyString>]) -> PyResult<Vec<Cow<'a, str>>> {
    texts.iter().map(text_of).collect()
}

fn slice_of<'a, T: numpy::Element>(array: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    array
        .as_slice()
        .map_err(|_| PyValueError::new_err("arrays passed to storydiff._core must be contiguous"))
}

fn ragged<'a>(values: &'a [u64], offsets: &'a [i64]) -> PyResult<RaggedView<'a, u64>> {
    RaggedView::new(values, offsets).map_err(PyValueError::new_err)
}

/// NFKC, case-folded, quotes removed, everything that is not part of a word a space;
/// newlines kept.
#[pyfunction]
fn fold(text: &Bound<'_, PyString>) -> PyResult<String> {
    Ok(folding::fold(&text_of(text)?))
}

/// (hashes, counts): every token hash of every text in order, and each text's token count.
#[pyfunction]
fn token_hashes<'py>(
    py: Python<'py>,
    texts: Vec<Bound<'py, PyString>>,
    seed: u64,
) -> PyResult<(U64Array<'py>, I64Array<'py>)> {
    let texts = texts_of(&texts)?;
    let tokens = py.allow_threads(|| batch::token_hashes(&texts, seed));
    let counts: Vec<i64> = tokens
        .offsets
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .collect();
    Ok((tokens.values.into_pyarray(py), counts.into_pyarray(py)))
}

/// (hashes, offsets, word_counts, line_keys, line_key_offsets): each text's n-gram shingle
/// hashes in text order, its token count and, with `line_min_words`, its distinct line keys
/// sorted (else none).
#[pyfunction]
#[pyo3(signature = (texts, ngram, seed, line_min_words=None))]
#[allow(clippy::type_complexity)]
fn shingle_batch<'py>(
    py: Python<'py>,
    texts: Vec<Bound<'py, PyString>>,
    ngram: usize,
    seed: u64,
    line_min_words: Option<usize>,
) -> PyResult<(
    U64Array<'py>,
    I64Array<'py>,
    I64Array<'py>,
    U64Array<'py>,
    I64Array<'py>,
)> {
    if ngram < 1 {
        return Err(PyValueError::new_err(format!(
            "ngram must be at least 1, got {ngram}"
        )));
    }
    let texts = texts_of(&texts)?;
    let found = py.allow_threads(|| batch::shingle_batch(&texts, ngram, seed, line_min_words));
    Ok((
        found.shingles.values.into_pyarray(py),
        found.shingles.offsets.into_pyarray(py),
        found.word_counts.into_pyarray(py),
        found.line_keys.values.into_pyarray(py),
        found.line_keys.offsets.into_pyarray(py),
    ))
}

/// (keys, offsets): each text's distinct keys of lines of at least `min_words` tokens, sorted.
#[pyfunction]
fn distinct_line_keys<'py>(
    py: Python<'py>,
    texts: Vec<Bound<'py, PyString>>,
    min_words: usize,
    seed: u64,
) -> PyResult<(U64Array<'py>, I64Array<'py>)> {
    let texts = texts_of(&texts)?;
    let keys = py.allow_threads(|| batch::distinct_line_keys_batch(&texts, min_words, seed));
    Ok((keys.values.into_pyarray(py), keys.offsets.into_pyarray(py)))
}

/// (keys, present, offsets): the key of every line of every text (a text of n newlines has
/// n + 1 lines); `present` is false for a line of fewer than `min_words` tokens.
#[pyfunction]
fn keys_by_line<'py>(
    py: Python<'py>,
    texts: Vec<Bound<'py, PyString>>,
    min_words: usize,
    seed: u64,
) -> PyResult<(U64Array<'py>, Bound<'py, PyArray1<bool>>, I64Array<'py>)> {
    let texts = texts_of(&texts)?;
    let keys = py.allow_threads(|| batch::keys_by_line(&texts, min_words, seed));
    let present: Vec<bool> = keys.values.iter().map(Option::is_some).collect();
    let values: Vec<u64> = keys.values.iter().map(|key| key.unwrap_or(0)).collect();
    Ok((
        values.into_pyarray(py),
        present.into_pyarray(py),
        keys.offsets.into_pyarray(py),
    ))
}

/// (values, offsets): each item of (hashes, offsets) sorted and distinct.
#[pyfunction]
fn distinct_sets<'py>(
    py: Python<'py>,
    hashes: PyReadonlyArray1<'py, u64>,
    offsets: PyReadonlyArray1<'py, i64>,
) -> PyResult<(U64Array<'py>, I64Array<'py>)> {
    let items = ragged(slice_of(&hashes)?, slice_of(&offsets)?)?;
    let found = py.allow_threads(|| batch::distinct_sets(items));
    Ok((
        found.values.into_pyarray(py),
        found.offsets.into_pyarray(py),
    ))
}

/// uint32 array (items, num_perm): the one-permutation MinHash of each item's shingle hashes.
#[pyfunction]
fn signatures<'py>(
    py: Python<'py>,
    hashes: PyReadonlyArray1<'py, u64>,
    offsets: PyReadonlyArray1<'py, i64>,
    num_perm: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray2<u32>>> {
    if num_perm < 2 {
        return Err(PyValueError::new_err(format!(
            "num_perm must be at least 2, got {num_perm}"
        )));
    }
    let items = ragged(slice_of(&hashes)?, slice_of(&offsets)?)?;
    let rows = py.allow_threads(|| batch::signatures(items, num_perm, seed));
    let shape = (items.len(), num_perm);
    let array = Array2::from_shape_vec(shape, rows).expect("one row of num_perm values per item");
    Ok(array.into_pyarray(py))
}

/// (jaccard, containment): exact similarity of two sorted distinct sets.
#[pyfunction]
fn similarity(
    left: PyReadonlyArray1<'_, u64>,
    right: PyReadonlyArray1<'_, u64>,
) -> PyResult<(f64, f64)> {
    Ok(sets::similarity(slice_of(&left)?, slice_of(&right)?))
}

/// (jaccard, containment, smaller): exact similarity of each pair (left[i], right[i]) of
/// items of the sorted distinct sets (values, offsets), and the smaller set's size.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn similarities<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, u64>,
    offsets: PyReadonlyArray1<'py, i64>,
    left: PyReadonlyArray1<'py, i64>,
    right: PyReadonlyArray1<'py, i64>,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    I64Array<'py>,
)> {
    let items = ragged(slice_of(&values)?, slice_of(&offsets)?)?;
    let (left, right) = (slice_of(&left)?, slice_of(&right)?);
    if left.len() != right.len() {
        return Err(PyValueError::new_err(
            "left and right must have the same length",
        ));
    }
    let count = items.len() as i64;
    let pairs: Vec<(usize, usize)> = left
        .iter()
        .zip(right)
        .map(|(&left, &right)| {
            if (0..count).contains(&left) && (0..count).contains(&right) {
                Ok((left as usize, right as usize))
            } else {
                Err(PyValueError::new_err(format!(
                    "pair ({left}, {right}) is outside the {count} sets"
                )))
            }
        })
        .collect::<PyResult<_>>()?;
    let found = py.allow_threads(|| batch::similarities(items, &pairs));
    let jaccard: Vec<f64> = found.iter().map(|item| item.0).collect();
    let containment: Vec<f64> = found.iter().map(|item| item.1).collect();
    let smaller: Vec<i64> = found.iter().map(|item| item.2).collect();
    Ok((
        jaccard.into_pyarray(py),
        containment.into_pyarray(py),
        smaller.into_pyarray(py),
    ))
}

/// A rule pattern on the `regex` crate (linear time), searched case-insensitively.
/// Raises ValueError with the crate's explanation for a pattern it does not support.
#[pyclass(frozen, module = "storydiff._core")]
struct Pattern {
    regex: regex::Regex,
    #[pyo3(get)]
    pattern: String,
}

#[pymethods]
impl Pattern {
    #[new]
    fn new(pattern: String) -> PyResult<Self> {
        let regex = rules::compile(&pattern).map_err(PyValueError::new_err)?;
        Ok(Pattern { regex, pattern })
    }

    /// Whether the pattern matches anywhere in `text`.
    fn search(&self, py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<bool> {
        let text = text_of(text)?;
        Ok(py.allow_threads(|| self.regex.is_match(&text)))
    }

    fn __repr__(&self) -> String {
        format!("Pattern({:?})", self.pattern)
    }
}

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("UNICODE_VERSION", storydiff_core::UNICODE_VERSION)?;
    module.add("DELETED", folding::DELETED.iter().collect::<String>())?;
    module.add_function(wrap_pyfunction!(fold, module)?)?;
    module.add_function(wrap_pyfunction!(token_hashes, module)?)?;
    module.add_function(wrap_pyfunction!(shingle_batch, module)?)?;
    module.add_function(wrap_pyfunction!(distinct_line_keys, module)?)?;
    module.add_function(wrap_pyfunction!(keys_by_line, module)?)?;
    module.add_function(wrap_pyfunction!(distinct_sets, module)?)?;
    module.add_function(wrap_pyfunction!(signatures, module)?)?;
    module.add_function(wrap_pyfunction!(similarity, module)?)?;
    module.add_function(wrap_pyfunction!(similarities, module)?)?;
    module.add_class::<Pattern>()?;
    Ok(())
}
