"""Fail if a chapter notebook has an error output or was not run top to bottom in one kernel."""

import json
import sys
from pathlib import Path

# The one marker understood by nbval, nbconvert/nbclient and MyST-NB alike.
RAISES_TAG = "raises-exception"


def problems(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    found, expected = [], 1
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        if not source.strip():
            continue
        where = f"{path}: code cell {index}"
        count = cell.get("execution_count")
        if count is None:
            found.append(f"{where} was never executed")
        elif count != expected:
            found.append(f"{where} has execution count {count}, expected {expected}")
        expected = (count or expected) + 1
        allowed = RAISES_TAG in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and not allowed:
                found.append(f"{where} has an error output ({output.get('ename')}) "
                             f"but no '{RAISES_TAG}' tag")
    return found


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv]
    if not paths:
        print("check_notebooks: no notebooks to check", file=sys.stderr)
        return 1
    found = [msg for path in paths for msg in problems(path)]
    for msg in found:
        print(msg, file=sys.stderr)
    if found:
        print("Run `make notebooks` to re-execute the chapters, then commit them.", file=sys.stderr)
        return 1
    print(f"check_notebooks: {len(paths)} notebook(s) executed top to bottom, no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
