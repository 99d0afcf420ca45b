"""Pages of the manual made from the code, never by hand.

    python -m tools.gen_docs config        # docs/configuration.md from the settings classes
    python -m tools.gen_docs benchmarks    # docs/benchmarks.md's table from bench/results.json
    python -m tools.gen_docs config --check   # exit 1 when the page is stale (make test)

The configuration reference lists, for every service, each setting's flag, environment
variable, default and help: the same fields `--help` prints (services/common/settings.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from services.classifier.settings import ClassifierSettings
from services.common.settings import env_name, flag_name
from services.detector.settings import DetectorSettings
from services.gateway.settings import GatewaySettings
from services.recognizer.settings import RecognizerSettings

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PAGE = ROOT / "docs/configuration.md"
BENCH_PAGE = ROOT / "docs/benchmarks.md"
BENCH_RESULTS = ROOT / "bench/results.json"
SERVICES = (("detector", "python -m services.detector", DetectorSettings),
            ("classifier", "python -m services.classifier", ClassifierSettings),
            ("recognizer", "python -m services.recognizer", RecognizerSettings),
            ("web gateway", "python -m services.gateway", GatewaySettings))
# The generated table of docs/benchmarks.md sits between these lines.
TABLE_START = "<!-- generated from bench/results.json by `python -m tools.gen_docs benchmarks` -->"
TABLE_END = "<!-- end of the generated table -->"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(value: object) -> str:
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"`{value}`"


def configuration_page() -> str:
    lines = ["# Configuration", "",
             "Every setting is a flag and an environment variable of the same name "
             "(`max_batch_size`: `--max-batch-size`, `FACESTREAM_MAX_BATCH_SIZE`); a flag wins "
             "over the environment, which wins over the default. Compose files and Kubernetes "
             "manifests use the environment names. A service refuses to start with a bad value, "
             "naming it. This page is generated from the settings classes "
             "(`python -m tools.gen_docs config`); `make test` fails when it is stale.", ""]
    for name, command, cls in SERVICES:
        lines += [f"## {name}", "", f"`{command} --help`: {cls.__doc__.strip()}", "",
                  "| flag | environment | default | meaning |", "|---|---|---|---|"]
        for field in dataclasses.fields(cls):
            choices = field.metadata.get("choices")
            meaning = field.metadata.get("help", "") + (
                f" (one of: {', '.join(choices)})" if choices else "")
            lines.append(f"| `{flag_name(field.name)}` | `{env_name(field.name)}` | "
                         f"{_cell(_default(field.default))} | {_cell(meaning)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def benchmark_table(results: dict) -> str:
    """The headline rows of a `make bench` run as a markdown table."""
    machine = results.get("machine", {})
    rows = [("machine", f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
                        f"GPU {machine.get('gpu') or 'none'}")]
    pipeline = results.get("pipeline", {})
    for key, name in (("single_stream_jpeg", "one stream, JPEG back to back"),
                      ("single_stream_jpeg_30fps", "one stream, JPEG at 30 fps"),
                      ("single_stream_jpeg_30fps_frontal",
                       "one stream, JPEG at 30 fps, frontal backend"),
                      ("eight_streams", "eight streams back to back"),
                      ("eight_streams_frontal", "eight streams back to back, frontal backend")):
        if key in pipeline:
            row = pipeline[key]
            rows.append((name, f"{row['fps']:,.1f} frames/s, p50 {row['p50_ms']:.1f} ms, "
                               f"p99 {row['p99_ms']:.1f} ms"))
    for name, row in results.get("real_content", {}).items():
        rows.append((f"real people: {name.replace('_', ' ')}, one stream, JPEG back to back",
                     f"{row['fps']:,.1f} frames/s, p50 {row['p50_ms']:.1f} ms, p99 "
                     f"{row['p99_ms']:.1f} ms, {row['faces_per_frame']:.2f} faces/frame; "
                     + ", ".join(f"{k} {v:.1f}" for k, v in row["stages_ms"].items()) + " ms"))
    for size, row in results.get("detector_ms", {}).items():
        for backend in ("auto, image (full scan)", "frontal, image (full scan)",
                        "auto, stream (per frame)", "frontal, stream (per frame)"):
            if backend in row:
                rows.append((f"detect {size}, {backend}", f"{row[backend]:.1f} ms (p50)"))
    for size, ms in results.get("centerface_call_ms", {}).items():
        rows.append((f"CenterFace call {size}", f"{ms:.1f} ms (p50)"))
    classifier = results.get("classifier", {})
    for batch, rate in classifier.get("raw_litert_faces_per_s", {}).items():
        rows.append((f"emotion model alone, LiteRT, batch {batch}", f"{rate:,.0f} faces/s"))
    peers = results.get("peers", {})
    if "fer_fps" in peers:
        eight = pipeline.get("eight_streams", {}).get("fps")
        rows.append(("fer package (defaults)", f"{peers['fer_fps']:.1f} frames/s"
                     + (f" (eight streams of ours: {eight / peers['fer_fps']:.1f}x)"
                        if eight else "")))
    lines = ["| measurement | result |", "|---|---|"]
    lines += [f"| {_cell(name)} | {_cell(value)} |" for name, value in rows]
    return "\n".join(lines)


def with_table(page: str, table: str) -> str:
    start, end = page.index(TABLE_START), page.index(TABLE_END)
    return page[:start + len(TABLE_START)] + "\n\n" + table + "\n\n" + page[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", choices=["config", "benchmarks"])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    if args.page == "config":
        path, wanted = CONFIG_PAGE, configuration_page()
    else:
        if not BENCH_RESULTS.is_file():
            print(f"gen_docs: no {BENCH_RESULTS.relative_to(ROOT)}: run `make bench` first",
                  file=sys.stderr)
            return 1
        path = BENCH_PAGE
        wanted = with_table(path.read_text(), benchmark_table(json.loads(BENCH_RESULTS.read_text())))
    current = path.read_text() if path.exists() else ""
    if args.check:
        if current != wanted:
            print(f"gen_docs: {path.relative_to(ROOT)} is stale: run "
                  f"`python -m tools.gen_docs {args.page}`", file=sys.stderr)
            return 1
        return 0
    path.write_text(wanted)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
