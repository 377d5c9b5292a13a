from __future__ import annotations

import pytest
from tests.conftest import SEED_000, SEED_001, SEED_002

from storydiff import boilerplate


def removed(text: str) -> dict[int, str]:
    result = boilerplate.strip(text, boilerplate.NEWS_RULES)
    return {removal.line_number: removal.rule for removal in result.removals}


def test_seed_000_furniture_is_removed_by_name(seed_texts: dict[str, str]) -> None:
    rules = removed(seed_texts[SEED_000])
    assert rules[1] == "photo-caption"
    assert rules[2] == "video-source"  # the video's title, "U.S. to assist France in Mali"
    assert rules[3] == "video-source"
    assert [rules[line] for line in (5, 7, 9, 11, 13)] == ["story-highlights"] * 5
    assert [rules[line] for line in (19, 27, 33, 39)] == ["read-more"] * 4
    assert rules[89] == "contributor"
    assert len(rules) == 13


def test_seed_002_archive_notes(seed_texts: dict[str, str]) -> None:
    assert removed(seed_texts[SEED_002]) == {3: "archive-note", 11: "archive-note"}


@pytest.mark.parametrize("name", [SEED_000, SEED_001, SEED_002])
def test_no_body_sentence_of_the_seeds_is_removed(seed_texts: dict[str, str], name: str) -> None:
    text = seed_texts[name]
    result = boilerplate.strip(text, boilerplate.NEWS_RULES)
    for removal in result.removals:
        # Every removed line is furniture: short, or one of the known furniture shapes.
        assert removal.rule in {rule.name for rule in boilerplate.NEWS_RULES}
    body = (
        "As Islamists in northern Mali threatened to" if name != SEED_002 else "What exactly did White House"
    )
    assert body in result.text
    assert "Nigerian army" in result.text or name == SEED_002


def test_stripped_text_has_no_blank_lines() -> None:
    result = boilerplate.strip("One.\n\n\nRead more: elsewhere\n\nTwo.\n", boilerplate.NEWS_RULES)
    assert result.text == "One.\nTwo."
    assert [(r.rule, r.line_number) for r in result.removals] == [("read-more", 4)]


def test_caption_rule_only_looks_at_the_first_line() -> None:
    body = (
        "Officials said the troops arrived.\n"
        "The soldiers landed at the airbase on January 15, 2013 at dawn, before leaving for the north "
        "of the country with the French.\n"
    )
    assert boilerplate.strip(body, boilerplate.NEWS_RULES).removals == ()


def test_video_title_is_only_taken_when_it_looks_like_a_title() -> None:
    text = "The minister said the talks would go on for weeks.\n04:19 - Source: CNN\nMore body."
    result = boilerplate.strip(text, boilerplate.NEWS_RULES)
    assert [(r.rule, r.line_number) for r in result.removals] == [("video-source", 2)]


def test_no_pack_strips_nothing(seed_texts: dict[str, str]) -> None:
    assert boilerplate.strip(seed_texts[SEED_001], boilerplate.rules_for_pack("none")).removals == ()


def test_unknown_pack_and_bad_pattern_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown rule pack 'web'"):
        boilerplate.rules_for_pack("web")
    with pytest.raises(ValueError, match="invalid pattern"):
        boilerplate.Rule("broken", "a broken rule", "(unclosed")


def test_counts_by_rule(seed_texts: dict[str, str]) -> None:
    result = boilerplate.strip(seed_texts[SEED_001], boilerplate.NEWS_RULES)
    assert boilerplate.count_by_rule(result.removals) == {"read-more": 4, "contributor": 1}
