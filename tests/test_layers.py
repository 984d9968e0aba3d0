"""The house's walls: the domain packages never import the web layer.

`app/` is the only web package; the domain packages below are plain Python, so they can be
used from the CLI, workers and tests without a web framework (docs: conventions, issue 9).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.main import OUR_PACKAGES

ROOT = Path(__file__).resolve().parent.parent
# the domain packages: every package of ours but the web layer (app.main.OUR_PACKAGES is
# also what a shutdown stops leftover tasks of; the test below keeps it complete)
DOMAIN_PACKAGES = tuple(sorted(OUR_PACKAGES - {"app"}))
WEB = frozenset({"app", "fastapi", "starlette"})


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every absolute import in the tree, wherever it is (functions,
    `if TYPE_CHECKING:` blocks included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return sorted(found)


def web_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in imported_modules(tree)
        if module.split(".")[0] in WEB
    ]


@pytest.mark.parametrize("package", DOMAIN_PACKAGES)
def test_domain_packages_do_not_import_the_web_layer(package: str) -> None:
    if not (ROOT / package).is_dir():
        pytest.skip(f"{package}/ does not exist (yet)")
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"{package}/ has no Python modules"
    offences = [offence for path in modules for offence in web_imports(path)]
    assert not offences, f"{package} must not import app, fastapi or starlette:\n" + "\n".join(
        offences
    )


def test_every_package_of_ours_is_known() -> None:
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in ("tests", "eval")  # neither is served
    }
    assert packages == set(OUR_PACKAGES)


def test_the_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text(
        "import os\n"
        "import starlette.status\n"
        "from typing import TYPE_CHECKING\n"
        "from app.settings import Settings\n"
        "if TYPE_CHECKING:\n"
        "    from fastapi import FastAPI\n"
        "def late():\n"
        "    import app\n"
        "from .app import x\n",  # relative: a module of the package itself, not the web app
        encoding="utf-8",
    )
    tree = ast.parse(module.read_text(encoding="utf-8"))
    assert [m for _, m in imported_modules(tree) if m.split(".")[0] in WEB] == [
        "starlette.status",
        "app.settings.Settings",
        "fastapi.FastAPI",
        "app",
    ]
