"""The documentation site: it builds with warnings as errors, and every example in it runs.

Examples are found by the HTML comment before their code block (invisible on the site):

- ``<!-- spec: NAME [at PATH] [extends BASE] -->`` before a ``yaml`` block: a spec, validated.
  ``extends BASE`` deep-merges the block into spec BASE (mappings merge, lists and a source
  given with its path are replaced), so a tutorial step can show only what it adds. ``at
  PATH`` places the file in the scratch project (default ``specs/NAME.yaml``, beside the
  bundled ``data/``); a spec extending another is written where its base is.
- ``<!-- cli: FOLDER -->`` before a ``console`` block: each ``$ specrun …`` line runs in FOLDER
  of the scratch project and must print the lines below it (``…`` in a line matches any text;
  a line of only ``…`` any number of lines).
- ``<!-- python: FOLDER -->`` before a ``python`` block: the code runs in FOLDER.
- ``<!-- from: FILE -->`` before a ``yaml`` block: entries cut from a spec file of the project
  (the gallery); every line of the block but the section headers is a line of FILE.

Every ``yaml``, ``console`` and ``python`` block of the docs needs one of these markers. The
scratch project holds the bundled ``data/`` and the tutorial's example files
(``docs/tutorial/make_data.py``) in ``my_paper/data``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from specrun.cli import main
from specrun.spec.load import load_file
from specrun.spec.validate import validate

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DOCS = PROJECT_ROOT / "docs"
MARKER = re.compile(
    r"<!-- (spec|cli|python|from): ?([^>]*?) -->\n+```(\w+)[^\n]*\n(.*?)```", flags=re.S
)
BLOCK = re.compile(r"^```(yaml|console|python)\b", flags=re.M)


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _module(DOCS / "hooks" / "reference.py", "docs_reference")


@functools.cache
def doc_pages() -> dict[str, str]:
    """Every page of the site: the hand-written ones and the generated reference (by path)."""
    pages = {
        str(p.relative_to(DOCS)): p.read_text(encoding="utf-8")
        for p in sorted(DOCS.rglob("*.md"))
        if "hooks" not in p.parts
    }
    generated = REFERENCE.pages()
    # the error examples are produced by running specrun when the page is made
    generated.pop("reference/errors.md")
    return {**pages, **generated}


def test_every_code_example_is_marked_for_testing():
    unmarked = []
    for name, text in doc_pages().items():
        marked = {m.start(3) - 3 for m in MARKER.finditer(text)}
        for block in BLOCK.finditer(text):
            if block.start() not in marked:
                line = text.count("\n", 0, block.start()) + 1
                unmarked.append(f"{name}:{line}: ```{block.group(1)}")
    assert not unmarked, "code blocks without a test marker:\n" + "\n".join(unmarked)


def _merge(base: Any, overlay: Any) -> Any:
    if isinstance(overlay, dict) and "path" in overlay:
        # a data source given anew is another file: the base's options for its file (an Excel
        # sheet:) are not the new file's, as in the spec a reader writes from the page
        return overlay
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    return overlay


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs_project")
    (root / "data").symlink_to(PROJECT_ROOT / "data", target_is_directory=True)
    (root / "specs").mkdir()
    for spec in (PROJECT_ROOT / "specs").glob("*.yaml"):
        shutil.copy(spec, root / "specs" / spec.name)
    _module(DOCS / "tutorial" / "make_data.py", "docs_make_data").make(root / "my_paper" / "data")
    return root


def _matches(expected: list[str], actual: list[str]) -> bool:
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "…":
        return any(_matches(rest, actual[i:]) for i in range(len(actual) + 1))
    if not actual:
        return False
    pattern = ".*".join(re.escape(part) for part in head.split("…"))
    return re.fullmatch(pattern, actual[0]) is not None and _matches(rest, actual[1:])


def _run_cli(command: str, folder: Path) -> tuple[int, list[str]]:
    args = command.split()[1:]
    err, out = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(args)
    finally:
        os.chdir(cwd)
    return code, (out.getvalue() + err.getvalue()).splitlines()


def _examples(page: str, text: str, project: Path) -> None:
    specs: dict[str, tuple[Any, Path]] = {}
    for match in MARKER.finditer(text):
        kind, args, _, body = match.groups()
        where = f"{page}:{text.count(chr(10), 0, match.start()) + 1}"
        if kind == "spec":
            words = args.split()
            name, options = words[0], dict(zip(words[1::2], words[2::2], strict=False))
            tree = yaml.safe_load(body)
            if "extends" in options:
                base, path = specs[options["extends"]]
                tree = _merge(base, tree)
            else:
                path = project / options.get("at", f"specs/{name}.yaml")
            specs[name] = (tree, path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), "utf-8")
            try:
                validate(load_file(path))
            except Exception as exc:  # the message names the page and line of the example
                raise AssertionError(f"{where}: spec '{name}' does not validate:\n{exc}") from exc
        elif kind == "cli":
            folder = project / args.strip()
            lines = body.rstrip("\n").splitlines()
            starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
            for i, start in enumerate(starts):
                end = starts[i + 1] if i + 1 < len(starts) else len(lines)
                command = lines[start][2:]
                code, shown = _run_cli(command, folder)
                expected = lines[start + 1 : end]
                assert code == 0 or (expected and expected[0].startswith("error")), (
                    f"{where}: '{command}' exited {code}:\n" + "\n".join(shown)
                )
                assert _matches(expected, shown), (
                    f"{where}: '{command}' printed\n"
                    + "\n".join(shown)
                    + "\nnot\n"
                    + "\n".join(expected)
                )
        elif kind == "from":
            source = (PROJECT_ROOT / args.strip()).read_text(encoding="utf-8").splitlines()
            missing = [
                line
                for line in body.splitlines()
                if line not in ("tables:", "models:", "variants:", "figures:")
                and line not in source
            ]
            assert not missing, f"{where}: not lines of {args.strip()}: {missing}"
        elif kind == "python":
            cwd = os.getcwd()
            os.chdir(project / args.strip())
            try:
                exec(compile(body, where, "exec"), {"__name__": "__docs__"})
            finally:
                os.chdir(cwd)


@pytest.mark.parametrize("page", sorted(doc_pages()))
def test_examples_of_page_run(page: str, project: Path):
    _examples(page, doc_pages()[page], project)


def test_site_builds_strict(tmp_path: Path):
    if shutil.which("mkdocs") is None and importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[test]')")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "site" / "reference" / "estimators" / "index.html").exists()


def _crosswalk_entries() -> list[tuple[int, str]]:
    text = (DOCS / "crosswalk.md").read_text(encoding="utf-8")
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        cells = re.split(r"(?<!\\)\|", line)
        if len(cells) < 4 or not cells[2].strip().startswith("`{"):
            continue
        entries += [(number, span) for span in re.findall(r"`(\{.*?\})`", cells[2])]
    return entries


def test_crosswalk_lists_many_commands():
    assert len(_crosswalk_entries()) >= 40


def test_every_crosswalk_entry_is_a_valid_spec_entry(project: Path):
    """Each spec cell of the crosswalk, put into the page's base spec, validates."""
    text = (DOCS / "crosswalk.md").read_text(encoding="utf-8")
    base_text = re.search(r"<!-- spec: crosswalk -->\n```yaml\n(.*?)```", text, re.S)
    assert base_text is not None
    problems = []
    for number, span in _crosswalk_entries():
        tree = yaml.safe_load(base_text.group(1))
        entry = yaml.safe_load(span)
        if "estimator" in entry:
            tree["models"]["example"] = entry
        elif "kind" in entry:
            tree["tables"] = {"example": entry}
        else:
            for key, value in entry.items():
                tree[key] = tree.get(key, []) + value if isinstance(value, list) else value
        path = project / "specs" / "crosswalk_entry.yaml"
        path.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), "utf-8")
        try:
            validate(load_file(path))
        except Exception as exc:
            problems.append(f"crosswalk.md:{number}: {span}\n{exc}")
    assert not problems, "\n\n".join(problems)


def test_crosswalk_linear_entries_fit(project: Path):
    """The fixed-effects rows (ols, panel_fe without a bootstrap: quick fits) also run on the
    page's panel: one absorbed the panel's own province#year once, valid but unfittable."""
    from specrun.api import run_file

    text = (DOCS / "crosswalk.md").read_text(encoding="utf-8")
    base_text = re.search(r"<!-- spec: crosswalk -->\n```yaml\n(.*?)```", text, re.S)
    assert base_text is not None
    tree = yaml.safe_load(base_text.group(1))
    rows = {}
    for number, span in _crosswalk_entries():
        entry = yaml.safe_load(span)
        if entry.get("estimator") in ("ols", "panel_fe") and "bootstrap" not in str(entry):
            rows[f"line{number}_{len(rows)}"] = entry
    assert len(rows) >= 10
    tree["models"] = {**rows, "fe": tree["models"]["fe"]}  # the margins row's model
    path = project / "specs" / "crosswalk_fits.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), "utf-8")
    run = run_file(path, out=project / "crosswalk_fits", cache=False)
    assert set(rows) <= set(run.output.results.models)


GALLERY = _module(DOCS / "gallery" / "build.py", "docs_gallery")


def test_gallery_page_is_the_generated_one():
    """docs/gallery.md is what docs/gallery/build.py writes from the specs and the pictures."""
    assert (DOCS / "gallery.md").read_text(encoding="utf-8") == GALLERY.markdown()


def test_every_gallery_picture_exists():
    text = (DOCS / "gallery.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\((gallery/[^)]+\.png)\)", text)
    assert len(images) >= 20
    assert [i for i in images if not (DOCS / i).is_file()] == []
    # both languages, LaTeX and Word, tables and figures
    assert {"gallery/en-table3-latex.png", "gallery/zh-table3-word.png"} <= set(images)
    assert any("figure-threshold_lr" in i for i in images)


# The parts of the Citation File Format 1.2.0 schema (citation-file-format.github.io) that
# CITATION.cff uses: required keys, the shape of authors, and the types of the others.
CFF_SCHEMA = {
    "type": "object",
    "required": ["cff-version", "message", "title", "authors"],
    "properties": {
        "cff-version": {"const": "1.2.0"},
        "message": {"type": "string", "minLength": 1},
        "title": {"type": "string", "minLength": 1},
        "type": {"enum": ["software", "dataset"]},
        "abstract": {"type": "string"},
        "version": {"type": "string"},
        "license": {"type": "string", "pattern": "^[A-Za-z0-9.+-]+$"},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "date-released": {"type": "string", "format": "date"},
        "authors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "anyOf": [
                    {"type": "object", "required": ["family-names"]},
                    {"type": "object", "required": ["name"]},
                ]
            },
        },
    },
    "additionalProperties": False,
}


def test_citation_file_is_valid_cff():
    import tomllib

    import jsonschema

    citation = yaml.safe_load((PROJECT_ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    jsonschema.validate(citation, CFF_SCHEMA)
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    import specrun

    # the version is written once, in specrun/__init__.py (pyproject reads it from there)
    assert "version" in project["project"]["dynamic"]
    assert citation["version"] == specrun.__version__
    assert citation["license"] == project["project"]["license"]["text"]


def test_readme_says_how_to_build_and_serve_the_docs():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "mkdocs build --strict" in readme and "mkdocs serve" in readme
    assert "docs/" in readme and "CITATION.cff" in readme


def _prose(text: str) -> str:
    """A Markdown page without its fenced blocks, inline code spans and HTML comments."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


@pytest.mark.parametrize("page", sorted(REFERENCE.pages()))
def test_reference_prose_prints_its_placeholders(page: str):
    # `<base>.<variant>` written bare is an HTML tag to the browser, which hides it ("fitted
    # as ." on the spec page); placeholders are escaped or in code
    tags = re.findall(r"<[A-Za-z/][^>\n]*>", _prose(REFERENCE.pages()[page]))
    assert not tags, tags


@pytest.mark.parametrize("page", sorted(REFERENCE.pages()))
def test_reference_option_tables_have_rows(page: str):
    # a model taking a shorthand besides a mapping (`se: robust`) has an anyOf schema: its
    # keys were once lost, leaving the `se` table of the spec page empty
    lines = REFERENCE.pages()[page].splitlines()
    for i, line in enumerate(lines):
        if line == "| key | type | default | meaning |":
            assert lines[i + 2].startswith("| `"), (page, lines[i - 4 : i + 3])


def test_spec_reference_lists_the_keys_of_se_and_of_multiverse_inference():
    page = REFERENCE.pages()["reference/spec.md"]
    se = page[page.index("### Standard errors") : page.index("#### `se.bootstrap`")]
    for key in ("type", "cluster", "lags", "convention", "bootstrap"):
        assert f"| `{key}` |" in se
    inference = page[page.index("### `multiverse.<name>.inference`") :]
    for key in ("draws", "seed", "alpha", "direction"):
        assert f"| `{key}` |" in inference


def test_formats_reference_describes_each_renderer_by_its_module():
    # renderers are imported on first use (a Lazy reference): the page once printed the
    # registry module's docstring in every row
    rows = [
        line.split(" | ")[-1]
        for line in REFERENCE.pages()["reference/formats.md"].splitlines()
        if line.startswith("| `") and "`tables/<table>." in line
    ]
    assert len(rows) == 5 and len(set(rows)) == 5, rows
    assert rows[0].startswith("Word output") and "registry" not in " ".join(rows)
