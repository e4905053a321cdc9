"""Commands that fit nothing import nothing they do not use (issue: start-up dominates small
specs), and the scipy.special p-values equal scipy.stats' to the last bit."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from specfiles import python_probe
from specrun.kernels.distributions import (
    chi2_sf,
    f_quantile,
    f_sf,
    normal_cdf,
    normal_quantile,
    t_quantile,
    two_sided_p,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PAPER = PROJECT_ROOT / "specs" / "paper.yaml"
# Heavy packages a command must not load unless it draws, fits or renders with them.
HEAVY = ("matplotlib", "scipy", "linearmodels", "pandas", "jinja2", "statsmodels", "rich")

PROBE = """
import json, sys
from specrun.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded_modules(*argv: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert last["code"] == 0, done.stderr
    return set(last["modules"])


@pytest.mark.parametrize("command", [["validate", str(PAPER)], ["plan", str(PAPER)], ["schema"]])
def test_commands_that_fit_nothing_import_no_heavy_package(command: list[str]):
    modules = loaded_modules(*command)
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_validate_loads_no_executor_outputs_or_plan_compiler():
    # the API imports the run machinery inside run_file / plan_file, not at its own import
    modules = loaded_modules("validate", str(PAPER))
    run_only = ("specrun.execute", "specrun.outputs", "specrun.plan.compile", "specrun.data.design")
    assert [m for m in run_only if m in modules] == []
    # nor the results (validation makes none) or the term grammar's parser, which only a term
    # with a syntax error needs (the paper's L.Dige and c.Dige##c.STR are read without it)
    assert [m for m in ("specrun.results", "specrun.data.term_parser") if m in modules] == []
    # nor xxhash: validate hashes nothing (a run hashes the spec and the data it reads)
    assert "xxhash" not in modules


@pytest.mark.parametrize("command", [["validate", str(PAPER)], ["plan", str(PAPER)]])
def test_validating_a_spec_on_csv_data_loads_no_polars(command: list[str]):
    # the spec's names are checked against the CSV headers, read without polars (a third of
    # validate's start-up); the expressions are parsed and type-checked, compiled only to run
    modules = loaded_modules(*command)
    assert sorted(m for m in modules if m.split(".")[0] == "polars") == []


def test_figure_modules_load_no_polars():
    # a drawer process is forked before the run loads polars (validation needs none) and
    # imports a figure's module to draw it: one that imported polars (the curve's, through the
    # multiverse module) loaded it again in every drawer, a tenth of a second of CPU each
    import pkgutil

    import specrun.figures

    names = [m.name for m in pkgutil.iter_modules(specrun.figures.__path__) if not m.ispkg]
    assert "curve" in names and "event_study" in names
    imports = "; ".join(f"import specrun.figures.{name}" for name in names)
    done = python_probe(f"import json, sys; {imports}; print(json.dumps(sorted(sys.modules)))")
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(m for m in modules if m.split(".")[0] == "polars") == []


# fit, apply and draw modules that hold numerical code: registered lazily, loaded on first use
FIT_MODULES = (
    "specrun.estimators.descriptive",
    "specrun.estimators.did",
    "specrun.estimators.gmm",
    "specrun.estimators.hausman",
    "specrun.estimators.iv",
    "specrun.estimators.linear",
    "specrun.estimators.mediation",
    "specrun.estimators.random_effects",
    "specrun.estimators.threshold",
    "specrun.transforms.entropy",
    "specrun.transforms.sophistication",
    "specrun.transforms.winsorize",
    "specrun.figures.coefplot",
    "specrun.figures.curve",
    "specrun.figures.event_study",
    "specrun.figures.margins",
    "specrun.figures.placebo",
    "specrun.figures.threshold",
    "specrun.multiverse",
)


@pytest.mark.parametrize("command", [["validate", str(PAPER)], ["plan", str(PAPER)], ["schema"]])
def test_commands_that_fit_nothing_import_no_numpy_kernels_or_fit_code(command: list[str]):
    # the paper spec uses nearly every registry entry, so each kind's options are validated
    # here from their numpy-free modules
    modules = loaded_modules(*command)
    assert "numpy" not in modules
    assert sorted(m for m in modules if m.startswith("specrun.kernels")) == []
    assert [m for m in FIT_MODULES if m in modules] == []


def test_lazy_registry_entries_name_importable_functions():
    # every Lazy reference resolves to a function of the module it names (a typo would only
    # surface when that kind is first fitted, applied or drawn)
    from specrun.estimators import ESTIMATORS
    from specrun.figures import FIGURES
    from specrun.registry import Lazy
    from specrun.transforms import TRANSFORMS

    checked = 0
    pairs = ((ESTIMATORS, "fit"), (TRANSFORMS, "apply"), (FIGURES, "data"), (FIGURES, "draw"))
    for registry, attribute in pairs:
        for name in registry.names():
            implementation = getattr(registry.get(name), attribute)
            if isinstance(implementation, Lazy):
                module = implementation.ref.split(":")[0]
                assert implementation.target.__module__ == module, implementation.ref
                checked += 1
    from specrun.render import FORMATS

    for name in FORMATS.names():
        renderer = FORMATS.get(name)
        for implementation in (renderer.table, renderer.document):
            assert isinstance(implementation, Lazy)
            assert implementation.target.__module__ == implementation.ref.split(":")[0]
            checked += 1
    assert checked >= 30


def test_lazy_reference_calls_its_target_and_rejects_malformed_names():
    from specrun.registry import Lazy

    join = Lazy("os.path:join")
    assert join("a", "b") == os.path.join("a", "b")
    with pytest.raises(ValueError, match=r"not 'package\.module:function'"):
        Lazy("os.path.join")
    with pytest.raises(AttributeError):
        Lazy("os.path:no_such_function")()
    # pickled by reference, so a worker process resolves it itself
    copy = pickle.loads(pickle.dumps(join))
    assert copy.ref == "os.path:join" and copy("a", "b") == os.path.join("a", "b")


def test_p_values_and_quantiles_match_scipy_stats():
    z = np.array([-40.0, -3.2, -0.1, 0.0, 0.7, 2.5, 9.0, np.nan])
    for df in (1, 3.5, 30, 1e6):
        np.testing.assert_array_equal(two_sided_p(z, df), 2 * stats.t.sf(np.abs(z), df))
    np.testing.assert_array_equal(two_sided_p(z), 2 * stats.norm.sf(np.abs(z)))
    np.testing.assert_array_equal(normal_cdf(z), stats.norm.cdf(z))
    p = np.array([0.001, 0.05, 0.5, 0.975, 0.999])
    np.testing.assert_allclose(normal_quantile(p), stats.norm.ppf(p), rtol=1e-15)
    np.testing.assert_allclose(t_quantile(p, 7), stats.t.ppf(p, 7), rtol=1e-13)
    chi = np.array([0.0, 0.5, 3.84, 40.0])
    np.testing.assert_allclose(chi2_sf(chi, 4), stats.chi2.sf(chi, 4), rtol=1e-14)
    assert np.isnan(two_sided_p(1.0, 0))  # as stats.t.sf with df = 0


def test_f_and_chi2_tails_match_scipy_stats_bit_for_bit():
    # the F and chi-squared tests of IV, DID, random effects and Hausman read these
    x = np.array([-1.0, 0.0, 1e-300, 0.5, 2.5, 40.0, np.inf, np.nan])
    for df1 in (1, 3, 7.5):
        np.testing.assert_array_equal(chi2_sf(x, df1), stats.chi2.sf(x, df1))
        for df2 in (1, 10, 1e5):
            np.testing.assert_array_equal(f_sf(x, df1, df2), stats.f.sf(x, df1, df2))
    assert np.isnan(chi2_sf(1.0, 0)) and np.isnan(f_sf(1.0, 0, 3)) and np.isnan(f_sf(1.0, 2, 0))
    q = np.array([0.01, 0.5, 0.9, 0.95, 0.99])
    np.testing.assert_array_equal(f_quantile(q, 3, 40), stats.f.ppf(q, 3, 40))


def test_the_version_is_written_once_in_the_package():
    # pyproject.toml reads it from specrun/__init__.py (hatch's dynamic version), so importing
    # specrun reads no installed metadata, and the two cannot disagree
    import re
    import tomllib

    import specrun

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    source = PROJECT_ROOT / project["tool"]["hatch"]["version"]["path"]
    written = re.search(r'^__version__ = "([^"]+)"$', source.read_text(encoding="utf-8"), re.M)
    assert written is not None and written[1] == specrun.__version__


@pytest.mark.parametrize("preset", [None, "logfire"])
def test_the_cli_skips_pydantic_plugins_unless_the_user_chose(preset, monkeypatch, capsys):
    # pydantic scans every installed distribution's entry points for plugins when it builds
    # its first schema; the CLI turns that off for its spec models unless the user set it
    from specrun.cli import main

    if preset is None:
        monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", preset)
    assert main(["validate", str(PAPER)]) == 0
    assert os.environ["PYDANTIC_DISABLE_PLUGINS"] == (preset or "__all__")


@pytest.mark.parametrize("argv", [["validate", str(PAPER)], ["validate", "no-such-spec.yaml"]])
def test_the_cli_pauses_the_collector_for_start_up_and_restores_it(argv, capsys):
    # main turns the cyclic collector off while it imports and validates, and back on when it
    # returns, whatever the outcome (the test suite calls main in one process)
    import gc

    from specrun.cli import main

    assert gc.isenabled()
    main(argv)
    assert gc.isenabled()
    gc.disable()
    try:
        main(argv)
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


def test_validate_imports_only_the_kinds_the_spec_names():
    # the registries declare each kind by the module that registers it; the paper names no
    # did, iv, random-effects or Hausman model, no bacon, correlation or iv table, no
    # event-study or placebo figure and no panel transform (lag, log, …), so their option
    # modules stay unimported; and a table kind's options live apart from its builder, so no
    # builder or table IR is imported
    modules = loaded_modules("validate", str(PAPER))
    unused = (
        "specrun.estimators.specs.did",
        "specrun.estimators.specs.iv",
        "specrun.estimators.specs.random_effects",
        "specrun.estimators.specs.hausman",
        "specrun.tables.specs.bacon",
        "specrun.tables.specs.correlation",
        "specrun.tables.specs.iv",
        "specrun.figures.specs.event_study",
        "specrun.figures.specs.placebo",
        "specrun.transforms.panel",
    )
    assert [m for m in unused if m in modules] == []
    from specrun.tables.kinds import KINDS

    builders = [module.replace(".specs.", ".") for module in KINDS.values()]
    building = (*builders, "specrun.tables.ir", "specrun.tables.format", "specrun.tables.text")
    assert [m for m in building if m in modules] == []
    used = (
        "specrun.estimators.specs.gmm",
        "specrun.tables.specs.regression",
        "specrun.figures.specs.curve",
    )
    assert [m for m in used if m not in modules] == []


def test_every_declared_kind_is_registered_by_the_module_declared():
    from specrun.estimators import ESTIMATORS
    from specrun.figures import FIGURES
    from specrun.tables.kinds import TABLES

    for registry in (ESTIMATORS, TABLES, FIGURES):
        declared = registry.declared()
        assert sorted(declared) == registry.names()  # every kind is declared
        for name, module in declared.items():
            assert registry.get(name).spec.__module__ == module, name
        assert sorted(registry._items) == registry.names()


def test_a_declared_entry_is_imported_on_first_use(tmp_path, monkeypatch):
    from specrun.errors import SpecError
    from specrun.registry import Registry

    registry: Registry[str] = Registry("widget")
    (tmp_path / "widget_a.py").write_text(
        "from test_registry_probe import REGISTRY\nREGISTRY.register('a')('A')\n"
    )
    (tmp_path / "widget_silent.py").write_text("")
    probe = type(sys)("test_registry_probe")
    probe.REGISTRY = registry  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "test_registry_probe", probe)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.declare("a", "widget_a")
    registry.declare("b", "widget_silent")
    assert "a" in registry and registry.names() == ["a", "b"]
    assert "widget_a" not in sys.modules
    assert registry.get("a") == "A" and "widget_a" in sys.modules
    with pytest.raises(LookupError, match="widget_silent does not register widget 'b'"):
        registry.get("b")
    with pytest.raises(SpecError, match="unknown widget 'c'"):
        registry.get("c")
    with pytest.raises(ValueError, match="declared twice"):
        registry.declare("a", "widget_a")
    monkeypatch.delitem(sys.modules, "widget_a")
    monkeypatch.delitem(sys.modules, "widget_silent")


def test_the_cli_skips_the_final_collection_at_exit():
    # the CLI freezes every object at exit, so that the interpreter's final full collections
    # (~0.2 s over polars', pydantic's and the spec's objects) skip them; a handler registered
    # before main runs after the CLI's (atexit runs last-in, first-out) and sees them frozen
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "from specrun.cli import main\n"
        "print('code', main(sys.argv[1:]))\n"
    )
    done = python_probe(probe, "validate", str(PAPER))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == ["code 0", "frozen at exit: True"]
