"""The rules of ../shared/DESIGN.md "Data flows one way", checked on bridge/'s source.

Every import is found with ``ast`` (module level and the lazy ones inside functions, but
not those under ``if TYPE_CHECKING:``), so a rule broken in a rarely-run branch is still
caught. The test fails on any import cycle between bridge modules, and on any pipeline
stage that imports a later stage, the shell around the pipeline, or grpc/protobuf.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "bridge"

# Pipeline stages in data-flow order. A stage may import the foundation, its own stage and
# earlier stages, nothing else. A module not listed here or in FOUNDATION is the shell
# (pipeline, CLI, bridge server, client, jobs, demo), which may import any stage.
STAGES = [
    ("timeline", ["bridge.timeline"]),
    ("media", ["bridge.media"]),
    ("analysis", ["bridge.analysis"]),
    ("affect", ["bridge.affect"]),
    ("style", ["bridge.style"]),
    ("compose", ["bridge.compose"]),
    ("render", ["bridge.render"]),
    ("music", ["bridge.music"]),
    ("recut", ["bridge.recut"]),  # re-score: keeps a previous version's music through a recut
    ("export", ["bridge.timeline.export"]),
    ("eval", ["bridge.eval"]),
    ("quality", ["bridge.quality"]),
]
# command modules are the shell of their package: they may call the pipeline
SHELL = ["bridge.quality.eval_cli"]
# stdlib-level helpers every stage may use (local_config and platform_paths also ship, alone,
# beside the Resolve plugin)
FOUNDATION = ["bridge.types", "bridge.errors", "bridge.progress", "bridge.registry",
              "bridge.outputs", "bridge.config", "bridge.local_config", "bridge.platform_paths",
              "bridge.cache"]
FOREIGN_TO_STAGES = ("grpc", "google.protobuf", "grpc_tools", "grpc_health", "grpc_reflection")
# the independent analyser measures audio only: it must not know the composer's plan
EVAL_MUST_NOT_IMPORT = ("bridge.compose", "bridge.render", "bridge.music")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Modules ``path`` imports (a ``from pkg import sub`` counts as importing ``pkg.sub``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = [p for p in ROOT.rglob("*.py") if "gen" not in p.relative_to(ROOT).parts[:2]
             or p.relative_to(ROOT).parts[0] != "server"]
    known = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, known) for p in paths}


def _in(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def stage_of(module: str) -> int | None:
    """Index in STAGES (the most specific prefix wins: timeline.export is 'export')."""
    if _in(module, SHELL):
        return None
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(STAGES):
        for prefix in prefixes:
            if _in(module, [prefix]) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    return best


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def rule_breaks(graph: dict[str, set[str]]) -> list[str]:
    broken = []
    for module, imported in sorted(graph.items()):
        mine = stage_of(module)
        in_foundation = _in(module, FOUNDATION)
        if mine is None and not in_foundation:
            continue  # the shell
        for target in sorted(imported):
            kind = STAGES[mine][0] if mine is not None else "foundation"
            if _in(target, FOREIGN_TO_STAGES):
                broken.append(f"{module} ({kind}) imports {target}")
            if not target.startswith("bridge") or target == "bridge":
                continue
            if target.startswith(module + "."):
                continue  # a package's front door re-exporting its own modules
            theirs = stage_of(target)
            if in_foundation and not _in(target, FOUNDATION):
                broken.append(f"{module} (foundation) imports {target}")
            elif mine is not None and theirs is None and not _in(target, FOUNDATION):
                broken.append(f"{module} ({STAGES[mine][0]}) imports the shell module {target}")
            elif mine is not None and theirs is not None and theirs > mine:
                broken.append(f"{module} ({STAGES[mine][0]}) imports the later stage {target}")
            if mine is not None and STAGES[mine][0] == "eval" and _in(target, EVAL_MUST_NOT_IMPORT):
                broken.append(f"{module} (eval) imports {target}")
    return broken


def test_bridge_has_no_import_cycle():
    assert cycles(import_graph()) == []


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph between top-level parts (bridge.server, bridge.client, ...); a shell
    module inside a stage package (a command) stays a node of its own."""
    def part(module: str) -> str:
        return module if _in(module, SHELL) else ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for module, imported in graph.items():
        packages.setdefault(part(module), set()).update(
            part(t) for t in imported if t.startswith("bridge.") and part(t) != part(module))
    return packages


def test_no_cycle_between_packages_either():
    """e.g. the client importing the server's code while the server imports the client."""
    assert cycles(package_graph(import_graph())) == []


def test_stages_import_only_earlier_stages_and_no_grpc():
    assert rule_breaks(import_graph()) == []


def test_the_checks_catch_what_they_are_for():
    """The rules fire on a graph that breaks them (so a green run means something)."""
    graph = {
        "bridge.compose.plan": {"bridge.music.master", "grpc", "bridge.pipeline"},
        "bridge.eval.metrics": {"bridge.compose.plan"},
        "bridge.types": {"bridge.affect"},
        "bridge.timeline": {"bridge.timeline.export"},  # a front door may re-export
        "bridge.cli": {"bridge.quality.eval_cli"},
        "bridge.quality.eval_cli": {"bridge.cli"},
    }
    assert cycles(graph) == [["bridge.cli", "bridge.quality.eval_cli"]]
    lazy_pair = {"bridge.client": {"bridge.server.auth"},
                 "bridge.server.commands": {"bridge.client"}}
    assert cycles(lazy_pair) == []  # no module-level cycle ...
    assert cycles(package_graph(lazy_pair)) == [["bridge.client", "bridge.server"]]  # ... but this
    assert rule_breaks(graph) == [
        "bridge.compose.plan (compose) imports the later stage bridge.music.master",
        "bridge.compose.plan (compose) imports the shell module bridge.pipeline",
        "bridge.compose.plan (compose) imports grpc",
        "bridge.eval.metrics (eval) imports bridge.compose.plan",
        "bridge.types (foundation) imports bridge.affect",
    ]
    assert stage_of("bridge.timeline.export") > stage_of("bridge.music.master")


@pytest.mark.parametrize("module", ["bridge.pipeline", "bridge.music.master",
                                    "bridge.analysis.sound", "bridge.server.app"])
def test_the_walk_sees_lazy_imports(module):
    graph = import_graph()
    assert graph.get(module)
