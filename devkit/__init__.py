"""Helpers shared by the tests, the tools and the benchmarks: running the services as
local processes, sample frames, generated scenes, process memory.

Imports run one way: tests -> tools, bench -> devkit -> services, client -> facestream
(the generated stubs). Nothing here imports tools, bench or tests.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
