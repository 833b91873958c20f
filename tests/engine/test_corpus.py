"""Diagrams from other modelling tools: parsed to a verdict, never a traceback.

Reads ../shared/bpmn-corpus beside the repository; those third-party files are
not part of this project, so the tests skip where the folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.spiff import DefinitionParseError, parse_definition

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "bpmn-corpus"
FILES = sorted(CORPUS.rglob("*.bpmn")) if CORPUS.is_dir() else []
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _process_ids(content: bytes) -> list[str]:
    try:
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        return ["(unreadable)"]
    return [p.get("id") or "" for p in root.iter(f"{BPMN}process")] or ["(none)"]


@pytest.mark.skipif(not FILES, reason=f"no diagram corpus at {CORPUS}")
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_diagram_gets_a_verdict(path: Path) -> None:
    content = path.read_bytes()
    for process_id in _process_ids(content):
        try:
            parsed = parse_definition(process_id, {path.name: content})
        except DefinitionParseError as exc:
            # Rejected: every problem says what is wrong, in a sentence.
            assert exc.problems
            for problem in exc.problems:
                assert problem.reason.strip()
                assert "Traceback" not in problem.reason
        else:
            assert parsed.spec is not None
            assert parsed.spec.task_specs, f"{process_id} parsed to an empty process"
