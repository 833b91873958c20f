"""Bilingual text: diagram names and messages carry Chinese, then English."""

from __future__ import annotations

import re

_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


def split_bilingual(text: str) -> tuple[str, str]:
    """``"核实 Verify"`` -> ``("核实", "Verify")``; one-language text twice.

    The English part starts at the first Latin letter after which no Chinese
    follows.
    """
    for index, char in enumerate(text):
        if char.isascii() and char.isalpha() and not _WIDE.search(text, index):
            chinese, english = text[:index].strip(), text[index:].strip()
            if _WIDE.search(chinese):
                return chinese, english
            break
    return text, text


def bilingual(zh_prefix: str, en_prefix: str, title: str) -> str:
    """A labelled title in both languages: ``认领：核实 Claimed: Verify``."""
    chinese, english = split_bilingual(title)
    return f"{zh_prefix}：{chinese} {en_prefix}: {english}"
