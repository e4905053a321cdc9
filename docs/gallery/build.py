"""Build the gallery: run the paper's specs, picture their tables and figures, write the page.

``python docs/gallery/build.py`` runs ``specs/paper.yaml`` and ``specs/paper_zh.yaml`` into a
temporary folder, then

- compiles each table's LaTeX alone (the preamble of the run's ``tables.tex``, pdflatex or
  XeLaTeX as its first line says) and renders it with ``pdftoppm``;
- converts chosen Word tables to PDF with LibreOffice (``soffice --headless``), then to PNG;
- copies the figures;

crops the white margins, shrinks every picture to at most ``WIDTH`` pixels, saves them in
``docs/gallery/`` and writes ``docs/gallery.md``: each picture beside the YAML that made it,
cut from the spec file itself. ``markdown()`` needs only the specs and the pictures, so a test
regenerates the page and compares (the pictures are committed; the test does not rebuild them).
Needs TeX Live (with ctex and a CJK font for the Chinese tables), poppler-utils and LibreOffice.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

GALLERY = ROOT / "docs" / "gallery"
PAGE = ROOT / "docs" / "gallery.md"
WIDTH = 760
SPECS = {"en": "specs/paper.yaml", "zh": "specs/paper_zh.yaml"}
WORD_TABLES = {"en": ("table3", "table5", "table6"), "zh": ("table3", "table7")}
LANGUAGE_TITLES = {"en": "The paper in English", "zh": "The paper in Chinese (中文)"}


# --------------------------------------------------------------------------------------------
# the page


def yaml_entry(text: str, section: str, name: str) -> str | None:
    """The lines of ``<section>: <name>: …`` in a spec file's text, as written (comments kept)."""
    lines = text.splitlines()
    try:
        start = lines.index(f"{section}:")
    except ValueError:
        return None
    first = None
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line and not line.startswith(" ") and not line.startswith("#"):
            break  # the next section
        if re.match(rf"^  {re.escape(name)}:", line):
            first = i
            break
    if first is None:
        return None
    end = first + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith("   ")):
        end += 1
    while end > first + 1 and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[first:end])


def snippet(spec_file: str, table: str, models: list[str]) -> str:
    """The table's entry and the entries of the models (and variants) it reads."""
    text = (ROOT / spec_file).read_text(encoding="utf-8")
    parts = [f"tables:\n{yaml_entry(text, 'tables', table) or ''}"]
    model_parts, variant_parts = [], []
    for model in models:
        base = model.split(".")[0]
        entry = yaml_entry(text, "models", base)
        if entry and entry not in model_parts:
            model_parts.append(entry)
        variant = yaml_entry(text, "variants", base)
        if variant and variant not in variant_parts:
            variant_parts.append(variant)
    if model_parts:
        parts.append("models:\n" + "\n".join(model_parts))
    if variant_parts:
        parts.append("variants:\n" + "\n".join(variant_parts))
    return "\n".join(parts)


def _tables(spec_file: str) -> list[tuple[str, str, list[str]]]:
    """(name, caption, models it reads) of each table of a spec, in order."""
    from specrun.spec.validate import validate_file
    from specrun.tables.kinds import TABLES

    spec = validate_file(ROOT / spec_file)
    return [
        (name, table.caption, TABLES.get(table.kind).models(table))
        for name, table in spec.tables.items()
    ]


def _figures(spec_file: str) -> list[tuple[str, str, list[str]]]:
    from specrun.figures import FIGURES
    from specrun.spec.validate import validate_file

    spec = validate_file(ROOT / spec_file)
    return [
        (name, figure.title, FIGURES.get(figure.kind).models(figure))
        for name, figure in spec.figures.items()
    ]


def _item(title: str, images: list[str], code: str, spec_file: str) -> list[str]:
    out = [f"### {title}", "", '<div class="grid" markdown>', ""]
    for image in images:
        out += [f"![{title}](gallery/{image}){{ loading=lazy }}", ""]
    out += [f"<!-- from: {spec_file} -->", "```yaml", code, "```", "", "</div>", ""]
    return out


def markdown() -> str:
    """The gallery page, from the specs and the pictures in ``docs/gallery/``."""
    lines = [
        "# Gallery",
        "",
        "The reference paper's tables and figures as specrun renders them, each beside the "
        "YAML that made it (cut from `specs/paper.yaml` and `specs/paper_zh.yaml`). LaTeX "
        "tables are compiled PDF pages, Word tables are pages of the `.docx` files as "
        "LibreOffice prints them. Made by `python docs/gallery/build.py`; the data are "
        "**synthetic**, so the numbers are not the paper's.",
        "",
    ]
    for language, spec_file in SPECS.items():
        lines += [f"## {LANGUAGE_TITLES[language]}", ""]
        for name, caption, models in _tables(spec_file):
            images = [
                image
                for image in (f"{language}-{name}-latex.png", f"{language}-{name}-word.png")
                if (GALLERY / image).exists()
            ]
            if images:
                title = f"{caption or name} (`{name}`)"
                lines += _item(title, images, snippet(spec_file, name, models), spec_file)
        for name, title, _ in _figures(spec_file):
            image = f"{language}-figure-{name}.png"
            if (GALLERY / image).exists():
                text = (ROOT / spec_file).read_text(encoding="utf-8")
                code = f"figures:\n{yaml_entry(text, 'figures', name)}"
                lines += _item(f"{title or name} (`{name}`)", [image], code, spec_file)
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------
# the pictures


def _shrink(source: Path, target: Path) -> None:
    from PIL import Image, ImageChops

    image = Image.open(source).convert("L")
    background = Image.new("L", image.size, 255)
    box = ImageChops.difference(image, background).getbbox()
    if box is not None:
        pad = 12
        box = (
            max(box[0] - pad, 0),
            max(box[1] - pad, 0),
            min(box[2] + pad, image.width),
            min(box[3] + pad, image.height),
        )
        image = image.crop(box)
    if image.width > WIDTH:
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
    # tables are black on white: 16 grey levels keep the text sharp at a fraction of the size
    image.quantize(16).save(target, optimize=True)


def _pdf_to_png(pdf: Path, target: Path) -> None:
    stem = pdf.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", "-singlefile", str(pdf), str(stem)],
        check=True,
    )
    _shrink(stem.with_suffix(".png"), target)


def _latex_picture(out: Path, table: str, target: Path, work: Path) -> None:
    document = (out / "tables.tex").read_text(encoding="utf-8")
    preamble = document.split("\\begin{document}")[0]
    engine = "xelatex" if "xelatex" in document.splitlines()[0].lower() else "pdflatex"
    body = (out / "tables" / f"{table}.tex").read_text(encoding="utf-8")
    tex = work / f"{table}.tex"
    tex.write_text(
        preamble + "\\pagestyle{empty}\n\\begin{document}\n" + body + "\n\\end{document}\n",
        encoding="utf-8",
    )
    subprocess.run(
        [engine, "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=work,
        check=True,
        capture_output=True,
    )
    _pdf_to_png(tex.with_suffix(".pdf"), target)


def _word_picture(out: Path, table: str, target: Path, work: Path) -> None:
    source = work / f"{table}-word.docx"
    shutil.copyfile(out / "tables" / f"{table}.docx", source)
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    _pdf_to_png(source.with_suffix(".pdf"), target)


def build() -> None:
    """Run both specs and write every picture and the page."""
    from specrun.api import run_file

    GALLERY.mkdir(exist_ok=True)
    for old in GALLERY.glob("*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory() as folder:
        for language, spec_file in SPECS.items():
            out = Path(folder) / language
            work = Path(folder) / f"{language}-work"
            work.mkdir()
            run_file(ROOT / spec_file, out=out)
            for name, _, _ in _tables(spec_file):
                _latex_picture(out, name, GALLERY / f"{language}-{name}-latex.png", work)
                if name in WORD_TABLES[language]:
                    _word_picture(out, name, GALLERY / f"{language}-{name}-word.png", work)
            for name, _, _ in _figures(spec_file):
                _shrink(out / "figures" / f"{name}.png", GALLERY / f"{language}-figure-{name}.png")
    PAGE.write_text(markdown(), encoding="utf-8")


if __name__ == "__main__":
    build()
    print(f"wrote {PAGE.relative_to(ROOT)} and {len(list(GALLERY.glob('*.png')))} pictures")
