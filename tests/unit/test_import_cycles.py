"""No import cycle anywhere in our packages (import-linter cannot say this; grimp can).

A cycle (main ↔ cli was one) makes the import order matter and hides which module is the
outer one; the composition root (main) must be importable without the CLI."""

from __future__ import annotations

import grimp

PACKAGES = ("queue_server", "display_client", "printer_client", "ticket_layout")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing
    itself): every cycle of the graph is inside one of them (Tarjan's algorithm)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
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
            if len(component) > 1 or v in edges[v]:
                cycles.append(sorted(component))

    for module in edges:
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycle_among_our_modules():
    # Imports inside functions and under TYPE_CHECKING count too: a cycle is a cycle.
    graph = grimp.build_graph(*PACKAGES)
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    """The check above can fail: main → cli → main (the old cycle) is found."""
    graph = grimp.ImportGraph()
    for module in ("queue_server.main", "queue_server.cli", "queue_server.config"):
        graph.add_module(module)
    graph.add_import(importer="queue_server.main", imported="queue_server.cli")
    graph.add_import(importer="queue_server.cli", imported="queue_server.main")
    graph.add_import(importer="queue_server.cli", imported="queue_server.config")
    assert import_cycles(graph) == [["queue_server.cli", "queue_server.main"]]
