"""Bilingual names: Chinese first, English after, split for display."""

from __future__ import annotations

import pytest

from engine.text import bilingual, split_bilingual


@pytest.mark.parametrize(
    "text, chinese, english",
    [
        ("15分钟内核实 Verify", "15分钟内核实", "Verify"),
        (
            "经营管理部决定 Decide on the 3-day report",
            "经营管理部决定",
            "Decide on the 3-day report",
        ),
        ("找不到投诉 7。 No case 7 exists.", "找不到投诉 7。", "No case 7 exists."),
        (
            "该任务已被 gongdan 认领。 The task is claimed by gongdan.",
            "该任务已被 gongdan 认领。",
            "The task is claimed by gongdan.",
        ),
        ("纯中文", "纯中文", "纯中文"),
        ("plain English", "plain English", "plain English"),
        ("", "", ""),
    ],
)
def test_split_bilingual(text, chinese, english):
    assert split_bilingual(text) == (chinese, english)


def test_labelled_title_splits_back_into_each_language():
    title = bilingual("认领", "Claimed", "15分钟内核实 Verify")
    assert split_bilingual(title) == ("认领：15分钟内核实", "Claimed: Verify")
