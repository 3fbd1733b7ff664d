"""The core install (``pip install .``: numpy, scipy, pandas, matplotlib, openpyxl, pandera, formulaic) runs
docs/python-api.md, as README.md and the doc promise.

The test environment has every extra, so a subprocess hides them: a ``sys.meta_path`` finder placed first
refuses pyyaml, jsonschema, Snakemake, PyMC, ArviZ, nutpie (and the other packages of the extras) as if they
were not installed. ``am.read_sheet`` and ``fit.plot_forest`` stopped with ``No module named 'yaml'``: the
sheet's moderator check and the forest plot's xlim check import alliance_meta.inputs.config_check, which
imported yaml at module level.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from test_python_api_doc import DOC, ROOT

#: The packages of the ``[bayes]`` and ``[workflow]`` extras (import names) that the core install lacks.
EXTRAS = ("yaml", "jsonschema", "snakemake", "pymc", "arviz", "nutpie", "pytensor", "jinja2", "docx", "pyarrow")

SCRIPT = textwrap.dedent('''
    import importlib.abc
    import re
    import sys

    EXTRAS = set(sys.argv[1].split(","))


    class WithoutExtras(importlib.abc.MetaPathFinder):
        """Refuses the extras' packages and their submodules, as an install without them would."""

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in EXTRAS:
                raise ModuleNotFoundError(f"No module named {name!r} (hidden: the core install)", name=name)
            return None


    for name in [name for name in sys.modules if name.partition(".")[0] in EXTRAS]:
        del sys.modules[name]  # imported at start-up (a .pth file): hidden too
    sys.meta_path.insert(0, WithoutExtras())
    try:
        import yaml  # noqa: F401
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit("the import hook does not hide yaml")

    import matplotlib

    matplotlib.use("Agg")

    doc, sheet = sys.argv[2], sys.argv[3]
    blocks = re.findall(r"```python\\n(.*?)```", open(doc, encoding="utf-8").read(), flags=re.S)
    assert len(blocks) >= 4, blocks
    namespace = {"SHEET": sheet}
    for block in blocks:  # as tests/test_python_api_doc.py runs them
        exec(compile(block, doc, "exec"), namespace)

    # python -m alliance_meta.inputs.sheet SHEET
    from alliance_meta.inputs import sheet as sheet_module

    assert sheet_module.main([sheet]) == 0

    # am.bayes says which extra it needs, before any work
    am = namespace["am"]
    try:
        am.bayes(namespace["fit"], {"draws": 100, "tune": 100})
    except ImportError as error:
        assert "alliance-meta[bayes]" in str(error), error
    else:
        raise SystemExit("am.bayes ran without PyMC")
    assert "alliance_meta.bayes.mcmc" not in sys.modules

    hidden = sorted(name for name in sys.modules if name.partition(".")[0] in EXTRAS)
    assert not hidden, hidden
    print("core install: every block ran")
''')


@pytest.mark.slow
def test_python_api_doc_runs_without_the_extras(tmp_path):
    script = tmp_path / "core_install.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(script), ",".join(EXTRAS), str(DOC),
                             str(ROOT / "data" / "raw" / "studies.csv")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert "core install: every block ran" in result.stdout
    assert (tmp_path / "forest.png").stat().st_size > 10_000
    assert (tmp_path / "funnel.png").stat().st_size > 10_000
