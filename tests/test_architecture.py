"""Imports point one way: playbooks -> comms -> accounts, and playbooks' packages form no cycle.

Read from the source (ast), so imports inside functions count too."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "comms", "playbooks")


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path):
    """The absolute names of every module a file imports, wherever in the file."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            names.append(target)
            names.extend(f"{target}.{alias.name}" for alias in node.names)
    return names


def _sources(app):
    return [path for path in sorted((ROOT / app).rglob("*.py")) if "migrations" not in path.parts]


def _app_imports(app):
    """(module, imported name) for every import of one of our apps by `app`."""
    return [
        (_module_name(path), name) for path in _sources(app) for name in _imports(path) if name.split(".")[0] in APPS
    ]


def test_comms_never_imports_playbooks():
    assert [pair for pair in _app_imports("comms") if pair[1].split(".")[0] == "playbooks"] == []


def test_accounts_imports_neither_comms_nor_playbooks():
    assert [pair for pair in _app_imports("accounts") if pair[1].split(".")[0] in ("comms", "playbooks")] == []


def _playbooks_package(name):
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (ROOT / "playbooks" / parts[1]).is_dir()) else None


def playbooks_graph():
    """Sub-package -> the sub-packages it imports, with the modules that make each edge."""
    graph = {}
    for module, name in _app_imports("playbooks"):
        if name.split(".")[0] != "playbooks":
            continue
        source, target = _playbooks_package(module), _playbooks_package(name)
        if source and target and source != target:
            graph.setdefault(source, {}).setdefault(target, set()).add(module)
    return graph


def _cycles(graph):
    """Each strongly connected group of two or more packages (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_import_reader_sees_imports_inside_functions():
    graph = playbooks_graph()
    # playbooks/promises/services.py imports the promises tasks inside a function only.
    assert "models" in graph["promises"]


def test_playbooks_packages_import_each_other_without_a_cycle():
    graph = playbooks_graph()
    cycles = _cycles(graph)
    edges = {
        f"{source} -> {target}": sorted(modules)
        for group in cycles
        for source in group
        for target, modules in graph.get(source, {}).items()
        if target in group
    }
    assert cycles == [], edges
