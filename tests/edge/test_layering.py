"""The HAProxy adapters stay outside the pure edge code: no other edge module imports them (but run.py,
which wires the agent to them), and the map data module needs nothing but the stdlib and the map names
(which import nothing else)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import prefixgate.edge

EDGE = Path(prefixgate.edge.__file__).resolve().parent


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
            names.update(("." * node.level) + a.name for a in node.names if not node.module)
    return names


WIRING = {"run.py"}  # `prefixgate edge`: builds the agent with the HAProxy data plane, so it imports both


def test_no_pure_edge_module_imports_a_haproxy_adapter() -> None:
    for path in EDGE.glob("*.py"):
        if not path.name.startswith("haproxy_") and path.name not in WIRING:
            assert not [n for n in imported(path) if "haproxy" in n], path.name


def test_the_map_data_module_is_stdlib_only() -> None:
    third = {n.split(".")[0] for n in imported(EDGE / "haproxy_maps.py") if not n.startswith(".")}
    assert third <= set(sys.stdlib_module_names) | {"__future__"}
    assert [n for n in imported(EDGE / "haproxy_maps.py") if n.startswith(".")] == [".map_names"]
    assert not imported(EDGE / "map_names.py") - {"__future__", "typing"}
