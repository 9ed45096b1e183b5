"""The layering holds: the domain imports only the stdlib, and service imports point inward."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import prefixgate

PACKAGE = Path(prefixgate.__file__).resolve().parent
DOMAIN = PACKAGE / "domain"
SERVICE = PACKAGE / "service"
STDLIB = frozenset(sys.stdlib_module_names)
# The service layer may use these third-party libraries (password hashing); nothing web or database.
SERVICE_THIRD_PARTY = frozenset({"argon2"})
OUTER_LAYERS = ("adapters", "api", "cli", "bootstrap", "demo", "settings", "logs")
# Pure modules outside domain/ that the service layer may use: the edge's serving-state model and codec
# (stdlib and prefixgate.domain only, checked below).
SERVICE_PURE = frozenset({"prefixgate.edge.state"})


def imports(path: Path) -> list[tuple[int, str]]:
    """(level, dotted module) of every import in the file, including ones under TYPE_CHECKING or in functions."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((0, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and not node.module:  # `from . import x` / `from .. import x`
                found.extend((node.level, alias.name) for alias in node.names)
            else:
                found.append((node.level, node.module or ""))
    return found


def modules(directory: Path) -> list[Path]:
    files = sorted(directory.rglob("*.py"))
    assert files, f"no modules under {directory}"
    return files


def resolve(path: Path, level: int, module: str) -> str:
    """The absolute dotted name a (possibly relative) import refers to."""
    if level == 0:
        return module
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]  # a module's (or __init__'s) package
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


@pytest.mark.parametrize("path", modules(DOMAIN), ids=lambda p: p.name)
def test_domain_imports_only_the_stdlib_and_itself(path: Path) -> None:
    for level, module in imports(path):
        target = resolve(path, level, module)
        top = target.split(".")[0]
        if top == "prefixgate":
            assert target.startswith("prefixgate.domain"), f"{path.name} imports {target}: domain must stay pure"
        else:
            assert top in STDLIB, f"{path.name} imports {target}, which is not in the standard library"


@pytest.mark.parametrize("path", modules(SERVICE), ids=lambda p: p.name)
def test_service_imports_point_inward(path: Path) -> None:
    for level, module in imports(path):
        target = resolve(path, level, module)
        top = target.split(".")[0]
        if top == "prefixgate":
            if target in SERVICE_PURE:
                continue
            layer = target.split(".")[1] if "." in target else ""
            assert layer in ("domain", "service"), f"service/{path.name} imports {target}: imports must point inward"
            assert layer not in OUTER_LAYERS
        else:
            assert top in STDLIB | SERVICE_THIRD_PARTY, f"service/{path.name} imports third-party {target}"


@pytest.mark.parametrize("module", sorted(SERVICE_PURE))
def test_pure_modules_the_service_layer_uses_import_only_the_stdlib_and_the_domain(module: str) -> None:
    path = PACKAGE.parent.joinpath(*module.split(".")).with_suffix(".py")
    for level, imported in imports(path):
        target = resolve(path, level, imported)
        top = target.split(".")[0]
        if top == "prefixgate":
            assert target.startswith("prefixgate.domain"), f"{module} imports {target}: it must stay pure"
        else:
            assert top in STDLIB, f"{module} imports {target}, which is not in the standard library"


def test_resolve_understands_relative_imports() -> None:
    # The checker itself: a wrong resolution would make the two tests above vacuous.
    rules = DOMAIN / "rules.py"
    assert resolve(rules, 1, "net") == "prefixgate.domain.net"
    assert resolve(rules, 2, "adapters.db") == "prefixgate.adapters.db"
    assert resolve(DOMAIN / "__init__.py", 1, "net") == "prefixgate.domain.net"
    assert (2, "domain.rules") in imports(SERVICE / "prefixes.py")
    resolved = {resolve(SERVICE / "prefixes.py", lv, m) for lv, m in imports(SERVICE / "prefixes.py")}
    assert {"prefixgate.domain.rules", "prefixgate.service.context", "__future__"} <= resolved


def test_importing_the_domain_loads_no_third_party_module() -> None:
    # Run in a fresh interpreter: what actually gets loaded, not just what the source says.
    code = (
        "import sys, json, pkgutil, importlib, prefixgate.domain as d\n"
        "for m in pkgutil.iter_modules(d.__path__): importlib.import_module('prefixgate.domain.' + m.name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = json.loads(out)
    assert "prefixgate.domain.rules" in loaded and "prefixgate.domain.net" in loaded
    tops = {name.split(".")[0] for name in loaded}
    foreign = sorted(t for t in tops - STDLIB - {"prefixgate"} if not t.startswith("_"))
    assert foreign == [], f"importing prefixgate.domain loaded {foreign}"
    assert not [m for m in loaded if m.startswith("prefixgate.") and not m.startswith("prefixgate.domain")]


def test_importing_the_service_layer_loads_no_adapter_or_web_framework() -> None:
    code = (
        "import sys, json, pkgutil, importlib, prefixgate.service as s\n"
        "for m in pkgutil.iter_modules(s.__path__): importlib.import_module('prefixgate.service.' + m.name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = set(json.loads(out))
    assert "prefixgate.service.delegations" in loaded
    for outer in ("sqlalchemy", "alembic", "fastapi", "starlette", "pydantic", "uvicorn", "typer", "psycopg"):
        assert outer not in loaded, f"importing prefixgate.service loaded {outer}"
    assert not [m for m in loaded if m.startswith(("prefixgate.adapters", "prefixgate.api"))]
