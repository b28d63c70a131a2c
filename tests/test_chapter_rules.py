"""The rules every chapter follows: it prints the reference and checks with rnnlib.testing.

* Outside the Performance chapter, ``inspect.getsource`` is called only on ``rnnlib.reference``
  or on a torch object: the code a chapter shows is the code it checks against torch.
* No chapter defines its own tolerances (``TOL...``) or comparison helper (``check``,
  ``max_err``): the book has one apparatus, :mod:`rnnlib.testing`.
* No chapter imports ``rnnlib.cells``, which the reference replaced.
* Each chapter and appendix stays within its budget of prose words and visible code lines
  (``scripts/budgets.py`` measures them).
"""

import ast
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))
from budgets import budget, measure  # noqa: E402

CHAPTERS = sorted((Path(__file__).parent.parent / "chapters").glob("*.ipynb"))
FAST_PATH_ALLOWED = {"18_performance.ipynb"}  # the chapter that explains the fast path


def code_of(path):
    """The notebook's code cells as one Python module (IPython magics dropped)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    lines = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return "\n".join(re.sub(r"(?m)^\s*[%!].*$", "", cell) for cell in lines)


@pytest.mark.parametrize("path", [p for p in CHAPTERS if p.name not in FAST_PATH_ALLOWED],
                         ids=lambda p: p.name)
def test_chapter_prints_only_the_reference_or_torch(path):
    for node in ast.walk(ast.parse(code_of(path))):
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("getsource"):
            target = ast.unparse(node.args[0])
            assert target.startswith(("reference.", "rnnlib.reference.", "torch.", "nn.")), (
                f"{path.name} prints the source of {target}: a chapter prints rnnlib.reference "
                "(or a torch object), not rnnlib's fast path")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_uses_the_one_apparatus(path):
    tree = ast.parse(code_of(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            assert node.name not in ("check", "max_err"), (
                f"{path.name} defines {node.name}(): use rnnlib.testing.check")
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = ast.unparse(target)
                assert not re.fullmatch(r"TOL\w*", name), (
                    f"{path.name} defines {name}: use rnnlib.testing's tolerances")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [getattr(node, "module", None) or ""] + [a.name for a in node.names]
            assert not any(n.startswith("rnnlib.cells") for n in names), (
                f"{path.name} imports rnnlib.cells, which rnnlib.reference replaced")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_within_budget(path):
    words, code = measure(json.loads(path.read_text(encoding="utf-8")))
    max_words, max_code = budget(path.name)
    assert words <= max_words and code <= max_code, (
        f"{path.name}: {words} words of prose (budget {max_words}) and {code} visible code "
        f"lines (budget {max_code}); run scripts/budgets.py")
