"""Small helpers for messages people read."""

from collections.abc import Sequence


def count(number: int, singular: str, plural: str | None = None) -> str:
    """'1 file', '2 files': messages name what they count."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def near_duplicate_in(clusters: Sequence[int]) -> str:
    """'near-duplicate of a copy in cluster 5', '… of copies in clusters 2, 5 and 7': where the
    near-duplicates of a document left out of every cluster are."""
    numbers = [str(number) for number in clusters]
    if len(numbers) == 1:
        return f"near-duplicate of a copy in cluster {numbers[0]}"
    return f"near-duplicate of copies in clusters {', '.join(numbers[:-1])} and {numbers[-1]}"
