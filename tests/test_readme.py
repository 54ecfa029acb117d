"""The outputs README.md shows are what the commands print now (docs/update_readme.py --check)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "update_readme.py"


def _script():
    spec = importlib.util.spec_from_file_location("update_readme", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_regenerated_output_has_its_block_in_the_readme():
    script = _script()
    names = [match["name"] for match in script.BLOCK.finditer(script.README.read_text())]
    assert sorted(names) == sorted(script.COMMANDS)


def test_readme_gradflow_tables_are_current():
    assert _script().main(["--check", "gradflow", "gradflow-small"]) == 0


def test_check_ignores_wall_times_but_not_results():
    script = _script()
    block = ("```\ncell  strategy  runs  wall s  test err\n----  --------  ----  ------  --------\n"
             "a     guessing  10    0.19    0\n```\n\n<sub>Printed on 2026-01-01 in 41 s, on X</sub>\n")
    slower = block.replace("0.19  ", "12.5  ").replace("in 41 s", "in 90 s")
    assert script.mask_times(block) == script.mask_times(slower)
    assert script.mask_times(block) != script.mask_times(block.replace("10    0.19", "9     0.19"))


@pytest.mark.slow
def test_readme_quick_start_output_is_current():
    assert _script().main(["--check", "quickstart"]) == 0
