"""The package's layers, read from the imports of every module (ast).

Imports run one way, from the top of the house down:

    __main__ (CLI) -> benchmark -> iwkmeans (the public names) ->
    experiments, dask -> active -> cluster -> _core -> _validation, _kmeans

A module may import its own room and the rooms below it, never one above or
beside it (experiments and dask share a floor and ignore each other), and the
compiled kernels (_kmeans) are reached only through _core, the one door.
"""

import ast
import pathlib
import pkgutil

import iwkmeans

PACKAGE = pathlib.Path(iwkmeans.__file__).parent

# Room -> floor (higher floors may import lower ones).
FLOORS = {
    "_kmeans": 0,
    "_validation": 0,
    "_core": 1,
    "cluster": 2,
    "active": 3,
    "experiments": 4,
    "dask": 4,
    "": 5,  # the package's __init__: the public names
    "benchmark": 6,
    "__main__": 7,
}


def module_name(path, root=PACKAGE):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def room(module):
    """'iwkmeans.cluster._incremental' -> 'cluster'; 'iwkmeans' -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported_modules(path, root=PACKAGE):
    """Every iwkmeans module a file imports (at module level or inside a
    function), resolved to absolute names; ``from p import name`` counts as
    an import of ``p.name`` when that is a module, else of ``p``."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("iwkmeans"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("iwkmeans"):
                target = node.module
            else:
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
    return found


FILES = sorted(PACKAGE.rglob("*.py"))
# Every module of the installed package, the compiled ones included (an
# installed package holds their .so, a source tree their .pyx as well).
MODULES = {module_name(p) for p in FILES} | {
    info.name for info in pkgutil.walk_packages(iwkmeans.__path__, "iwkmeans.")
}
IMPORTS = {module_name(p): imported_modules(p) for p in FILES}


def test_every_room_has_a_floor():
    assert {room(m) for m in MODULES} <= set(FLOORS)


def upward(imports):
    """The imports of {module: imported modules} that break the floors."""
    return sorted(
        f"{module} imports {target}"
        for module, targets in imports.items()
        for target in targets
        if room(target) != room(module) and FLOORS[room(target)] >= FLOORS[room(module)]
    )


def test_imports_never_run_upward_or_sideways():
    assert upward(IMPORTS) == []


def test_no_import_cycle():
    # Depth-first search for a back edge in the graph of module imports.
    state, cycles = {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(IMPORTS.get(module, ())):
            if state.get(target) == "open":
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(IMPORTS):
        if module not in state:
            visit(module, [module])
    # A package's __init__ importing its own modules, which import siblings
    # through the package ("from . import x"), is not a cycle of this graph:
    # such imports resolve to the sibling module itself.
    assert cycles == []


def test_one_module_opens_the_door_to_the_kernels():
    through = sorted(
        module
        for module, targets in IMPORTS.items()
        if any(room(t) == "_kmeans" for t in targets) and room(module) != "_kmeans"
    )
    assert through == ["iwkmeans._core._kernels"]


def test_core_is_entered_by_its_front_door():
    # Outside _core, the kernels' layer is used through its package's names,
    # not its private modules.
    side_doors = sorted(
        f"{module} imports {target}"
        for module, targets in IMPORTS.items()
        if room(module) != "_core"
        for target in targets
        if target.startswith("iwkmeans._core.")
    )
    assert side_doors == []


def test_the_layout_test_sees_imports(tmp_path):
    # The rules read real edges: the estimator uses the door, the door the
    # kernels, and an upward import added to the estimator is caught.
    assert "iwkmeans._core" in IMPORTS["iwkmeans.cluster._incremental"]
    assert "iwkmeans._kmeans._lloyd" in IMPORTS["iwkmeans._core._kernels"]
    root = tmp_path / "iwkmeans"
    forged = root / "cluster" / "_incremental.py"
    forged.parent.mkdir(parents=True)
    forged.write_text(
        (PACKAGE / "cluster" / "_incremental.py").read_text()
        + "\nfrom ..active import select_wkmeans\n"
    )
    imports = {module_name(forged, root): imported_modules(forged, root)}
    assert upward(imports) == ["iwkmeans.cluster._incremental imports iwkmeans.active"]
