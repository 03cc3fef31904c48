"""The import rules of bpkit's layout, read from every module's imports (ast).

The rules (also in the README's development section):

1. Foundation modules (`errors`, `problem`, `settings`, `versions`, `text`,
   `limits`) import no bpkit package at all, only each other.
2. Layers import only layers at or below their own rank; stages
   (source -> upstream -> lint -> package, verify -> publish -> render) import
   earlier stages and the layers below, never later ones.
3. Nothing imports `bpkit.cli`.
4. Only `bpkit.net` imports requests (or urllib3, or oras); only
   `bpkit.history` imports git.
5. `bpkit.lint` never imports `bpkit.net` (the pre-commit hook stays offline).
6. A rule module never imports another rule module.

Imports under `if TYPE_CHECKING:` count too: a type is a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BPKIT = Path(__file__).resolve().parent.parent / "bpkit"

FOUNDATION = {"errors", "problem", "settings", "versions", "text", "limits", "fsio", "__init__",
              "__main__"}

# Rank of each package: a package may import packages of a lower or equal rank.
RANK = {
    "foundation": 0,
    "yamlio": 1,
    "helm": 2,
    "oci": 2,
    "source": 3,
    "history": 3,
    "net": 3,
    "upstream": 4,
    "lint": 5,
    "package": 6,
    "publish": 7,
    "verify": 6,  # the checks package (hollow releases) and publish (read-back) both run
    "render": 8,
    "scaffold": 8,
    "report": 9,
    "cli": 10,
}
# Same-rank pairs that must still not meet (siblings stay independent).
FORBIDDEN_PAIRS = {
    ("helm", "oci"),
    ("source", "net"),
    ("source", "history"),
    ("history", "net"),
    ("net", "history"),
    ("net", "source"),
    ("lint", "net"),
}
NETWORK_MODULES = {"requests", "urllib3", "oras"}
GIT_MODULES = {"git"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "bpkit.lint.engine"
    target: str  # what it imports, e.g. "bpkit.net.http" or "requests"
    line: int


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path = BPKIT) -> Iterator[Import]:
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield Import(module, target, node.lineno)
            if target in ("bpkit", *(f"bpkit.{p}" for p in RANK)):
                for alias in node.names:  # `from bpkit import lint`, `from bpkit.helm import tgz`
                    yield Import(module, f"{target}.{alias.name}", node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield Import(module, node.args[0].value, node.lineno)


def all_imports(root: Path = BPKIT) -> list[Import]:
    return [imp for path in sorted(root.rglob("*.py")) for imp in _imports(path, root)]


def layer_of(module: str) -> str:
    """"bpkit.lint.rules.x" -> "lint"; "bpkit.errors" -> "foundation"; `bpkit.__main__` is CLI."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] == "__main__":
        return "cli"
    if len(parts) < 2 or parts[1] in FOUNDATION or not (BPKIT / parts[1]).is_dir():
        return "foundation"  # a foundation module, or a name from bpkit/__init__.py
    return parts[1]


def violations(imports: list[Import]) -> list[str]:
    found = []
    for imp in imports:
        src, top = layer_of(imp.module), imp.target.split(".")[0]
        where = f"{imp.module}:{imp.line} imports {imp.target}"
        if top in NETWORK_MODULES and src != "net":
            found.append(f"{where}: only bpkit.net may import {top}")
        if top in GIT_MODULES and src != "history":
            found.append(f"{where}: only bpkit.history may import git")
        if top != "bpkit" or imp.target == "bpkit":
            continue
        dst = layer_of(imp.target)
        if dst == "cli" and src != "cli":
            found.append(f"{where}: nothing imports the CLI")
        elif src == "foundation" and dst != "foundation":
            found.append(f"{where}: foundation modules import no package")
        elif dst not in RANK:
            found.append(f"{where}: {dst} is not a known layer (add it to the rules)")
        elif RANK.get(src, 99) < RANK[dst]:
            found.append(f"{where}: {src} may not import the later {dst}")
        elif (src, dst) in FORBIDDEN_PAIRS:
            found.append(f"{where}: {src} may not import {dst}")
        if (imp.module.startswith("bpkit.lint.rules.")
                and imp.target.startswith("bpkit.lint.rules.")
                and imp.target.split(".")[-1] not in ("base", "_common")
                and imp.target != imp.module):
            found.append(f"{where}: a rule never imports another rule")
    return found


def test_the_layout_keeps_its_import_rules() -> None:
    assert violations(all_imports()) == []


def test_every_package_is_ranked() -> None:
    packages = {p.name for p in BPKIT.iterdir() if (p / "__init__.py").is_file()}
    assert packages - set(RANK) == set()


@pytest.mark.parametrize(("module", "target", "expected"), [
    ("bpkit.lint.engine", "bpkit.net.http", "lint may not import net"),
    ("bpkit.lint.rules.chart_name", "requests", "only bpkit.net may import requests"),
    ("bpkit.package.build", "git", "only bpkit.history may import git"),
    ("bpkit.source.model", "bpkit.lint.engine", "source may not import the later lint"),
    ("bpkit.publish.pipeline", "bpkit.cli._common", "nothing imports the CLI"),
    ("bpkit.lint.rules.chart_name", "bpkit.lint.rules.chart_type", "never imports another rule"),
    ("bpkit.versions", "bpkit.source.model", "foundation modules import no package"),
    ("bpkit.source.discover", "bpkit.net.registry", "source may not import net"),
])
def test_a_broken_rule_is_caught(module: str, target: str, expected: str) -> None:
    found = violations([Import(module, target, 1)])
    assert len(found) == 1 and expected in found[0], found


def test_relative_and_lazy_imports_are_read(tmp_path: Path) -> None:
    pkg = tmp_path / "bpkit" / "lint"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "engine.py").write_text(
        "import importlib\n"
        "from ..net import http\n"
        "def f():\n"
        "    importlib.import_module('requests')\n"
    )
    imports = [(i.module, i.target) for i in _imports(pkg / "engine.py", tmp_path / "bpkit")]
    assert ("bpkit.lint.engine", "bpkit.net") in imports
    assert ("bpkit.lint.engine", "bpkit.net.http") in imports
    assert ("bpkit.lint.engine", "requests") in imports
