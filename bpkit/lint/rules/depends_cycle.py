"""Blueprint dependencies have no cycles.

The installer installs a blueprint after everything it depends on; with a
cycle (`bp-a` needs `bp-b`, which needs `bp-a`) none of them can ever be
installed. The problem names the whole cycle and is reported once, at the
dependency entry of the first blueprint in it (by name).

Passing::

    # file: blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-flux }
    spec:
      version: 1.0.0
      card: { title: Flux }
      visibility: unlisted
      manifests: { chart: ./chart }
      depends: [{ blueprint: bp-cert-manager, version: ^1.0 }]

Failing::

    # file: blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-flux }
    spec:
      version: 1.0.0
      card: { title: Flux }
      visibility: unlisted
      manifests: { chart: ./chart }
      depends: [{ blueprint: bp-cert-manager, version: ^1.0 }]
    # file: ../cert-manager/blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-cert-manager }
    spec:
      version: 1.0.0
      card: { title: cert-manager }
      visibility: unlisted
      manifests: { chart: ./chart }
      depends: [{ blueprint: bp-flux, version: ^1.0 }]
"""

from collections.abc import Iterator, Sequence

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "depends-cycle"
LEVEL = Level.ERROR


def check_tree(linted: Sequence[Blueprint], ctx: Context) -> Iterator[Problem]:
    if not any(True for bp in linted for _ in bp.depends_entries()):
        return
    universe = ctx.universe()
    by_path = {bp.path: bp for bp in universe.values()}
    graph: dict[str, list[tuple[str, int]]] = {}
    node_of: dict[str, Blueprint] = {}
    for bp in by_path.values():
        name = bp.release_name
        if name is None:
            continue
        node_of[name] = bp
        edges = graph.setdefault(name, [])
        for index, entry in bp.depends_entries():
            target = entry.get("blueprint")
            if isinstance(target, str) and target in universe and target != name:
                resolved = universe[target].release_name
                if resolved is not None:
                    edges.append((resolved, index))
    linted_paths = {bp.path for bp in linted}
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        start = min(component)
        cycle = _cycle_through(start, set(component), graph)
        owner = node_of[start]
        if owner.path not in linted_paths or owner.blueprint is None:
            # Report at the first linted member instead, so the user sees it.
            members = sorted(n for n in component if node_of[n].path in linted_paths)
            if not members:
                continue
            start = members[0]
            cycle = _cycle_through(start, set(component), graph)
            owner = node_of[start]
            if owner.blueprint is None:
                continue
        first_edge = next(i for t, i in graph[start] if t == cycle[1])
        text = " -> ".join(cycle)
        assert owner.blueprint is not None
        yield owner.blueprint.problem(("spec", "depends", first_edge, "blueprint"), ID,
                                      f"dependency cycle: {text}")


def _cycle_through(start: str, members: set[str], graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    """The shortest cycle from `start` back to itself inside one component (BFS)."""
    parents: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for target, _ in sorted(graph.get(node, [])):
            if target not in members:
                continue
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if target not in parents:
                parents[target] = node
                queue.append(target)
    return [start, start]


def _strongly_connected(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so deep chains cannot overflow the stack."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            edges = [t for t, _ in graph.get(node, [])]
            recurse = False
            for i in range(child, len(edges)):
                target = edges[i]
                if target not in graph:
                    continue
                if target not in index_of:
                    work.append((node, i + 1))
                    work.append((target, 0))
                    recurse = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index_of[target])
            if recurse:
                continue
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result
