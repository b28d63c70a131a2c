"""One chapter run in JupyterLab through its UI: MyST renders, no prompt covers it, no cell fails.

The server starts as `make lab` starts it (scripts/lab.py: 127.0.0.1, a token, lab/overrides.json),
with two differences that keep the repository and the reader's own Lab untouched: its root is a
temporary copy of chapters/ and assets/, and its user settings and workspaces are new, empty
folders.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest
from browsing import ROOT, SCREENSHOTS, Recorder, free_port

sys.path.insert(0, str(ROOT / "scripts"))
from lab import lab_command  # noqa: E402

# Chapter 1: the fewest code cells of Part I, so a short run, and every MyST construct the book
# uses: citations, equation references, cross-references, figures, exercises, gated solutions.
CHAPTER = "chapters/01_recurrent_cell.ipynb"
RAISES_TAG = "raises-exception"
# MyST that jupyterlab-myst did not render, as a reader would see it, or a directive that it
# does not know (it shows "NAME - Unknown Directive" instead of the content).
RAW_MYST = re.compile(
    r"\{(?:cite|eq|doc|term|ref|numref|math)(?::\w+)?\}`|:::\{|```\{|Unknown Directive"
)
TRACEBACK = "Traceback (most recent call last)"
PROMPT = re.compile(r"^\[\d+\]:$")


def menu(page, name, item):
    """Choose `item` from the menu bar's menu `name`."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{name}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 and the URL that opens CHAPTER with the token."""
    root = tmp_path_factory.mktemp("lab-root")
    for folder in ("chapters", "assets"):
        shutil.copytree(ROOT / folder, root / folder)
    home = tmp_path_factory.mktemp("lab-home")
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(home / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
    )
    token, port = secrets.token_hex(16), free_port()
    command = lab_command(
        "--no-browser", f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", root=root
    )
    log = open(home / "server.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start:\n{(home / 'server.log').read_text()}")
            time.sleep(0.5)
    yield f"{base}/lab/tree/{CHAPTER}?token={token}"
    server.terminate()
    server.wait(timeout=30)
    log.close()


def test_chapter_runs_in_lab_and_its_myst_renders(lab, browser):
    notebook = json.loads((ROOT / CHAPTER).read_text(encoding="utf-8"))
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    may_raise = [RAISES_TAG in cell["metadata"].get("tags", []) for cell in code_cells]

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    recorder = Recorder(context)
    page = context.new_page()
    page.goto(lab)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=120_000)
    # The notebook's kernel (its kernelspec, python3) has started and is idle.
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-KernelName')]
                   .some(el => el.textContent.trim() && el.textContent.trim() !== 'No Kernel')""",
        timeout=120_000,
    )
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)

    # Through the menus, as a reader would: clear the committed outputs, so that every output
    # checked below comes from this run, then run all cells.
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
        ".every(p => p.textContent.trim() === '[ ]:')"
    )
    menu(page, "Run", "Run All Cells")
    # Done when no cell is queued or running, and either every code cell has run or the kernel
    # stopped the queue at an error (then some cells are left unrun, reported below).
    page.wait_for_function(
        """() => {
          const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
            .map(p => p.textContent.trim());
          if (prompts.includes('[*]:')) { window.sawRunning = true; return false; }
          const idle = document.querySelector(
            ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']");
          return prompts.every(p => /^\\[\\d+\\]:$/.test(p)) || (window.sawRunning && idle);
        }""",
        timeout=600_000,
        polling=100,
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "lab-after-run-all.png")

    cells = page.locator(".jp-NotebookPanel .jp-CodeCell").evaluate_all(
        """cells => cells.map(cell => [
          cell.querySelector('.jp-InputPrompt').textContent.trim(),
          cell.querySelector('.jp-OutputArea')?.textContent ?? '',
        ])"""
    )
    assert len(cells) == len(code_cells), f"Lab shows {len(cells)} code cells of {len(code_cells)}"
    failed = [
        f"code cell {index + 1}: {output[output.index(TRACEBACK):][:300]}"
        for index, ((_, output), allowed) in enumerate(zip(cells, may_raise, strict=True))
        if TRACEBACK in output and not allowed
    ]
    assert not failed, "cells that failed in JupyterLab:\n" + "\n".join(failed)
    unrun = [index + 1 for index, (prompt, _) in enumerate(cells) if not PROMPT.match(prompt)]
    assert not unrun, f"code cells that did not run: {unrun}"

    # The rendered text of each markdown cell, outside code (where MyST may be shown on purpose).
    markdown = page.locator(".jp-NotebookPanel .jp-MarkdownCell").evaluate_all(
        """cells => cells.map(cell => {
          const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
          const parts = [];
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const parent = node.parentElement;
            if (parent.closest('pre, code, .jp-InputArea-editor')) continue;
            if (!parent.checkVisibility()) continue;
            parts.push(node.textContent);
          }
          return parts.join('');
        })"""
    )
    raw = [
        f"markdown cell {index + 1}: {text[max(0, match.start() - 60) : match.end() + 60]!r}"
        for index, text in enumerate(markdown)
        for match in RAW_MYST.finditer(text)
    ]
    assert markdown and not raw, "MyST shown as raw text in JupyterLab:\n" + "\n".join(raw)

    covering = page.locator(".jp-Dialog, .Toastify__toast").all_inner_texts()
    assert not covering, f"a dialog or notification covers the chapter: {covering}"
    assert not recorder.offsite, f"JupyterLab's page requested other hosts: {recorder.offsite}"
    context.close()
