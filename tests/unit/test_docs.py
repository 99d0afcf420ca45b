"""The manual stays true to the code: the configuration page is the settings classes', the
README stays a front page, and code comments carry reasons, not measurement history."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from tools.gen_docs import CONFIG_PAGE, TABLE_END, TABLE_START, configuration_page

# "0.491 -> 0.582", "45 -> 58": a before -> after figure.
BEFORE_AFTER = re.compile(r"\d[\d.,%]*\s*(->|→)\s*\d")


def test_the_configuration_page_is_generated_from_the_settings_classes():
    assert CONFIG_PAGE.read_text() == configuration_page(), (
        "docs/configuration.md is stale: run `make docs-config`")


def test_every_setting_of_every_service_is_on_the_page():
    from services.common.settings import flag_name
    from tools.gen_docs import SERVICES

    page = CONFIG_PAGE.read_text()
    for _, _, cls in SERVICES:
        for name in cls.__dataclass_fields__:
            assert f"`{flag_name(name)}`" in page, name


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_no_before_after_figures_in_the_services_code():
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in sorted((ROOT / "services").rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), start=1)
             if BEFORE_AFTER.search(line)]
    assert not found, f"measurement history belongs in docs/ and CHANGELOG.md: {found}"


def test_the_benchmark_page_has_its_generated_table():
    page = (ROOT / "docs/benchmarks.md").read_text()
    start, end = page.index(TABLE_START), page.index(TABLE_END)
    assert "| measurement | result |" in page[start:end]
