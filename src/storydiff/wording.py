"""Small helpers for messages people read."""


def count(number: int, singular: str, plural: str | None = None) -> str:
    """'1 file', '2 files': messages name what they count."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"
