"""The code's shape as issue 41 set it: one value per constant name across the services,
settings that load no model runtime, and comments that carry reasons rather than figures."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import defaultdict

from tests.conftest import ROOT

SERVICES = ROOT / "services"
RUNTIMES = ("onnxruntime", "ai_edge_litert", "tensorflow", "keras")
# "12.5 ms", "~180 MB", "97%", "3.9x", "120 frames/s": a measured figure, which belongs in
# docs/ beside how it was measured.
MEASURED_FIGURE = re.compile(
    r"\d[\d.,]*\s?(ms|MB|MiB|GB|GiB|fps|frames/s|faces/s|%)(?![\w/])|\d+(\.\d+)?x (faster|slower|the)")


def _numeric_constants(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else [])
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    continue
                if isinstance(value, int | float) and not isinstance(value, bool):
                    yield target.id, value


def test_no_numeric_constant_name_means_two_values_across_the_services():
    values = defaultdict(dict)
    for path in sorted(SERVICES.rglob("*.py")):
        for name, value in _numeric_constants(path):
            values[name][str(path.relative_to(ROOT))] = value
    clashes = {name: where for name, where in values.items() if len(set(where.values())) > 1}
    assert not clashes, f"one name, several values: {clashes}"


def test_importing_the_settings_loads_no_model_runtime():
    code = ("import sys, services.faces.settings, services.detector.settings, "
            "services.recognizer.settings, services.gateway.settings; "
            f"print([m for m in {RUNTIMES!r} if m in sys.modules])")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert loaded == "[]"


def _comments(path):
    """(line number, text) of each comment and each docstring line of a module."""
    text = path.read_text()
    for number, line in enumerate(text.splitlines(), start=1):
        if "#" in line:
            yield number, line.split("#", 1)[1]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            first = node.body[0].lineno if docstring else 0
            for offset, line in enumerate((docstring or "").splitlines()):
                yield first + offset, line


def test_comments_in_the_services_carry_no_measured_figures():
    found = [f"{path.relative_to(ROOT)}:{number}: {comment.strip()}"
             for path in sorted(SERVICES.rglob("*.py"))
             for number, comment in _comments(path) if MEASURED_FIGURE.search(comment)]
    assert not found, ("measurements belong in docs/design-notes.md (history in "
                       "CHANGELOG.md):\n" + "\n".join(found))


def test_the_measured_figure_rule_catches_figures_and_leaves_reasons():
    assert MEASURED_FIGURE.search("allocating one costs 0.16 ms")
    assert MEASURED_FIGURE.search("grew the detector by 90 MB")
    assert MEASURED_FIGURE.search("keeps 97% of the frames per second")
    assert not MEASURED_FIGURE.search("the face at ~64 px, where CenterFace is sure")
    assert not MEASURED_FIGURE.search("a second at 30 frames per stream")
