"""Bytes to text for every text-format reader: one rule for byte-order marks and encodings.

Spreadsheet programs and Windows editors put the UTF-8 byte-order mark
(``EF BB BF``) in front of text exports; instrument software often writes
Latin-1 / cp1252.  Every reader that sniffs head bytes or decodes a file goes
through these helpers so that the BOM is ignored by all formats at once.
"""

from __future__ import annotations

from pathlib import Path

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def strip_bom(raw: bytes) -> bytes:
    """``raw`` without a leading UTF-8 byte-order mark.

    Parameters
    ----------
    raw : bytes
        File content or its first bytes.

    Returns
    -------
    bytes
    """
    return raw[len(UTF8_BOM):] if raw.startswith(UTF8_BOM) else raw


def looks_utf16(head: bytes) -> bool:
    """Whether ``head`` is UTF-16 text: a UTF-16 BOM, or ASCII interleaved with NUL bytes.

    Parameters
    ----------
    head : bytes
        The first bytes of a file.

    Returns
    -------
    bool
    """
    if head.startswith(UTF16_BOMS):
        return True
    sample = head[:512]
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    # ASCII text in UTF-16: one of the two byte lanes is (almost) all NUL, the other printable.
    for zeros, text in ((even, odd), (odd, even)):
        printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in text)
        if zeros.count(0) >= 0.9 * len(zeros) and printable >= 0.9 * len(text):
            return True
    return False


def decode(raw: bytes) -> str:
    """Decode file bytes as UTF-8 (BOM ignored), falling back to Latin-1.

    Parameters
    ----------
    raw : bytes
        File content.

    Returns
    -------
    str
        The text; Latin-1 never fails, so every byte string decodes.
    """
    raw = strip_bom(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # old instrument exports are often Latin-1 / cp1252
        return raw.decode("latin-1")


def read_text(path: Path) -> str:
    """The text of ``path`` decoded by :func:`decode`.

    Parameters
    ----------
    path : Path
        A text file.

    Returns
    -------
    str
    """
    return decode(Path(path).read_bytes())
