"""Start JupyterLab as `make lab` does: on 127.0.0.1, with a token, and the project's settings.

The server's root is the project, so that a chapter's `../assets/` images resolve; it opens on
`chapters/`. `lab/overrides.json` holds the project's defaults for Lab (no Jupyter news prompt,
no update checks). Extra arguments are passed on to `jupyter lab`, e.g. `--no-browser`.
Without `--IdentityProvider.token`, Lab makes a random token and prints the URL that carries it.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lab_command(*extra, root=ROOT):
    """The command line; `root` is the folder served, which holds chapters/ and assets/."""
    command = [
        sys.executable, "-m", "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        "--LabApp.default_url=/lab/tree/chapters",
        f"--LabApp.app_settings_dir={ROOT / 'lab'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # no geteuid on Windows
        command.append("--allow-root")
    return command + list(extra)


if __name__ == "__main__":
    command = lab_command(*sys.argv[1:])
    os.execv(command[0], command)
