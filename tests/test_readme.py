"""The README's example spec and variant are valid specs (documentation that cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from specrun.cli import main
from specrun.spec.load import load_text
from specrun.spec.validate import validate

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def yaml_blocks() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


def test_readme_spec_and_variant_validate():
    spec_text, variant_text = yaml_blocks()[:2]
    assert len(variant_text.strip().splitlines()) == 3
    # the spec's relative paths are written as seen from specs/
    doc = load_text(spec_text + variant_text, str(PROJECT_ROOT / "specs" / "readme.yaml"))
    spec = validate(doc)
    assert {"fe", "by_region", "fe.pre_2020"} <= set(spec.models)
    assert spec.models["fe.pre_2020"].spec.sample == "pre_2020"


def test_readme_terms_validate():
    spec_text, _, terms_text, margins_text = yaml_blocks()[:4]
    tables, figures = margins_text.split("tables:\n", 1)[1].split("figures:\n")
    text = spec_text.replace("models:\n", "models:\n" + terms_text.split("models:\n", 1)[1], 1)
    text = text.replace("tables:\n", "tables:\n" + tables, 1) + "figures:\n" + figures
    spec = validate(load_text(text, str(PROJECT_ROOT / "specs" / "readme.yaml")))
    assert {"lagged", "dynamics", "regions", "moderated", "by_type"} <= set(spec.models)
    assert spec.models["dynamics"].spec.x[:3] == ["L(0/2).Dige", "D.STR", "L.urban_rate"]
    assert "moderation" in spec.tables and "moderation" in spec.figures


def test_readme_broken_example_prints_what_the_readme_shows(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"\$ specrun validate specs/broken.yaml.*?\n(.*?)```", text, flags=re.S)
    assert shown is not None
    monkeypatch.chdir(PROJECT_ROOT)
    assert main(["validate", "specs/broken.yaml"]) == 1
    assert capsys.readouterr().err == shown.group(1)


def test_readme_building_blocks_list_every_registered_kind():
    # the README's table once left out the multiverse table and the specification curve
    from specrun.estimators.base import ESTIMATORS
    from specrun.figures.base import FIGURES
    from specrun.render import FORMATS
    from specrun.tables.base import TABLES
    from specrun.transforms.base import TRANSFORMS

    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\w+) \| (.+) \|$", text, flags=re.M))
    listed = {key: set(re.findall(r"`(\w+)`", rows[key])) for key in rows}
    registries = {
        "estimators": ESTIMATORS,
        "transforms": TRANSFORMS,
        "tables": TABLES,
        "figures": FIGURES,
        "formats": FORMATS,
    }
    for key, registry in registries.items():
        assert listed[key] == set(registry.names()), key
