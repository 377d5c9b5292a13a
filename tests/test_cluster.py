from __future__ import annotations

import numpy as np

from storydiff import cluster, shingles
from storydiff.model import Pair
from storydiff.settings import Settings

ARTICLE = (
    "Col. Mohammed Yerima, a spokesman for the Nigerian army, told CNN that 190 of its soldiers would "
    "arrive in Mali within 24 hours. France said it has committed about 1,700 troops to the effort, "
    "including about 800 on the ground in Mali. The United Nations said preparations are under way for a "
    "multidisciplinary team to go to Bamako. A Canadian military transport plane departed for Mali on "
    "Tuesday, where it will transport equipment and personnel. Two British military transport aircraft "
    "have been assigned to help with the French troop deployment, but no British forces will be in a "
    "combat role."
)


def test_components_are_transitive_sorted_and_skip_singletons() -> None:
    pairs = [Pair(4, 2, 0.9, 0.9), Pair(0, 3, 0.8, 0.8), Pair(2, 1, 0.7, 0.7)]
    assert cluster.connected_components(6, pairs) == [[0, 3], [1, 2, 4]]


def test_representative_policies() -> None:
    words = [10, 30, 30, 5]
    assert cluster.choose_representative([0, 1, 2, 3], words, "longest") == 1
    assert cluster.choose_representative([0, 1, 2, 3], words, "shortest") == 3
    assert cluster.choose_representative([0, 1, 2, 3], words, "first") == 0
    assert cluster.choose_representative([0, 1, 2, 3], words, "last") == 3


def test_similarity_is_exact() -> None:
    left = np.array([1, 2, 3, 4], dtype=np.uint64)
    right = np.array([3, 4, 5], dtype=np.uint64)
    assert cluster.similarity(left, right) == (2 / 5, 2 / 3)


def test_a_headline_inside_its_article_is_not_a_duplicate() -> None:
    settings = Settings()
    headline = shingles.shingle_set("Nigeria to send 190 soldiers to Mali within 24 hours", 5)
    article = shingles.shingle_set(ARTICLE + " Nigeria to send 190 soldiers to Mali within 24 hours.", 5)
    jaccard, containment = cluster.similarity(headline, article)
    assert containment == 1.0
    assert not cluster.is_near_duplicate(jaccard, containment, len(headline), settings)


def test_a_trimmed_copy_is_a_duplicate_by_containment() -> None:
    settings = Settings(threshold=0.9)
    more = (
        "Tuareg rebels, who had sought independence for decades, took advantage of the power vacuum and "
        "seized swaths of land. A power struggle then erupted in the north between the Tuaregs and local "
        "radicals, who wound up in control of a large area as the Tuaregs retreated. The United Nations says "
        "amputations, floggings and public executions have become common in areas controlled by radicals."
    )
    long_text = shingles.shingle_set(ARTICLE + " " + more, 5)
    trimmed = shingles.shingle_set(ARTICLE, 5)
    jaccard, containment = cluster.similarity(trimmed, long_text)
    assert jaccard < settings.threshold and containment == 1.0
    assert cluster.is_near_duplicate(jaccard, containment, len(trimmed), settings)


def test_verified_pairs_never_fall_below_the_thresholds() -> None:
    settings = Settings()
    texts = [ARTICLE, ARTICLE.replace("190", "900"), ARTICLE[:200], "An unrelated story about coffee prices."]
    sets = {index: shingles.shingle_set(text, 5) for index, text in enumerate(texts)}
    everything = [(left, right) for left in sets for right in sets if left < right]
    verified = cluster.verified_pairs(everything, sets, settings)
    assert [(pair.left, pair.right) for pair in verified] == [(0, 1)]
    assert all(pair.jaccard >= settings.threshold for pair in verified)
