"""Each chapter's prose words and visible code lines, against the budget of its part."""

import argparse
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = {"hide-input", "remove-input", "remove-cell"}  # tags whose code the reader does not see
# (words, visible code lines) per part; chapters are named by their number.
BUDGETS = {
    "Foundations": ((1, 2, 3, 4), 2000, 150),
    "Composing layers": ((5, 6, 7, 8), 2000, 150),
    "Learning": ((9, 10, 11, 12), 2500, 200),
    "In practice": ((13, 14, 15, 16, 17), 2500, 200),
    "Performance": ((18,), 2500, 200),
}
APPENDIX = (2500, 200)  # the appendices: words and visible code lines, like Part III's


def budget(name):
    """(words, code lines) allowed for the chapter or appendix file ``name``."""
    number = re.match(r"(\d+)_", name)
    for chapters, words, code in BUDGETS.values():
        if number and int(number.group(1)) in chapters:
            return words, code
    return APPENDIX


def prose_words(markdown):
    """Words of prose: fenced code, math blocks, display math, directive and option lines out."""
    text = re.sub(r"<!--.*?-->", " ", markdown, flags=re.S)
    text = re.sub(r"```(?:\{math\}|\w*\n).*?```", " ", text, flags=re.S)  # code and math blocks
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    lines = [line for line in text.splitlines()
             if not re.match(r"\s*(```|:::|:\w[\w-]*:)", line)]  # fences, directives, options
    return len(re.findall(r"\S+", "\n".join(lines)))


def measure(notebook):
    """(prose words, visible code lines) of a notebook given as parsed JSON."""
    words = code = 0
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            words += prose_words(source)
        elif not HIDDEN & set(cell.get("metadata", {}).get("tags", [])):
            code += sum(1 for line in source.splitlines() if line.strip())
    return words, code


def load(path, rev=None):
    """The notebook at ``path`` in the work tree, or at git revision ``rev`` (None if absent)."""
    if rev is None:
        return json.loads(path.read_text(encoding="utf-8"))
    shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path.relative_to(ROOT)}"],
                           capture_output=True, text=True)
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rev", help="measure this git revision instead of the work tree")
    args = parser.parse_args()
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        notebook = load(path, args.rev)
        if notebook is None:
            continue
        words, code = measure(notebook)
        limit = budget(path.name)
        allowed = f"(budget {limit[0]} / {limit[1]})"
        flag = " OVER" if words > limit[0] or code > limit[1] else ""
        print(f"{path.name:32s} words {words:5d}  visible code {code:4d}  {allowed}{flag}")


if __name__ == "__main__":
    main()
