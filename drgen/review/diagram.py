"""The bundle's two pictures, drawn by a layout engine.

diagram.svg / diagram.png: the architecture view (architecture.py): the regions and the global layer as
containers, the request path, replication and the failover path. diagram-full.svg / diagram-full.png: the full
resource graph (graph.py). Graphviz (``dot``, Debian's graphviz) when it is installed: each graph becomes DOT
text with sorted nodes and edges, so the same bundle always gives the same drawing. Without it, matplotlib +
networkx (pure PyPI) lay the containers out as columns. All outputs are made byte-stable: no dates, fixed ids.

Graphviz draws each graph's SVG and PNG in one ``dot`` run, the two graphs at once, and each drawing is kept
by content (graphviz.py). A process draws a bundle once: the review's HTML embeds the architecture SVG that
diagram.svg also is. ``prefetch`` starts the drawings without waiting (``drgen render`` calls it before the lint).
"""

from __future__ import annotations

import atexit
import hashlib
import io
import shutil
from collections.abc import Iterable
from pathlib import Path

from drgen.bundle.reader import RenderedBundle, from_directory
from drgen.errors import DrgenError
from drgen.review import graphviz
from drgen.review.architecture import build_architecture
from drgen.review.graph import Edge, Graph, Node, build_graph

ENGINES = ("graphviz", "matplotlib")
SVG = "diagram.svg"
PNG = "diagram.png"
FULL_SVG = "diagram-full.svg"
FULL_PNG = "diagram-full.png"
FILL = {
    "client": "#ffffff",
    "data": "#dbeafe",
    "network": "#e5e7eb",
    "compute": "#fef3c7",
    "messaging": "#fce7f3",
    "failover": "#fee2e2",
    "routing": "#d1fae5",
}
EDGE_COLOR = {"request": "#111827", "replication": "#1d4ed8", "failover": "#b91c1c", "link": "#6b7280"}
EDGE_STYLE = {"request": "bold", "replication": "bold", "failover": "solid", "link": "dashed"}
CLUSTER_COLOR = {"primary": "#15803d", "secondary": "#b45309", "global": "#4338ca", "globaldb": "#1d4ed8"}
COLUMN_SPACING = 3.0  # matplotlib fallback: data units between cluster columns
ROW_SPACING = 1.0  # ... and between nodes of a column
MEMO_SIZE = 16
# (engine, bundle fingerprint) -> the four files; and the Graphviz runs prefetch started, not waited for yet
_DRAWN: dict[tuple[str, str], dict[str, bytes]] = {}
_UNDER_WAY: dict[tuple[str, str], list[graphviz.Drawing | graphviz.Run]] = {}


def build_diagram(bundle_dir: Path, engine: str | None = None) -> dict[str, bytes]:
    """{"diagram.svg", "diagram.png", "diagram-full.svg", "diagram-full.png": bytes} for ``bundle_dir``.

    ``engine`` is "graphviz" or "matplotlib"; by default Graphviz when ``dot`` is on PATH, else matplotlib.
    """
    return draw(from_directory(bundle_dir), engine)


def draw(bundle: RenderedBundle, engine: str | None = None) -> dict[str, bytes]:
    """Both pictures: the architecture view (diagram.*) and the full resource graph (diagram-full.*)."""
    chosen = engine or ("graphviz" if shutil.which("dot") else "matplotlib")
    if chosen not in ENGINES:
        raise ValueError(f"unknown diagram engine {chosen!r}; use one of: {', '.join(ENGINES)}")
    key = (chosen, _fingerprint(bundle))
    if key not in _DRAWN:
        if chosen == "graphviz":
            runs = _UNDER_WAY.pop(key, None) or _start(bundle)
            try:
                view, full = (graphviz.finish(run) for run in runs)
            finally:
                for run in runs:
                    graphviz.abandon(run)  # a no-op for a finished run; stops the other when one failed
        else:
            view, full = (_matplotlib(graph) for graph in (build_architecture(bundle), build_graph(bundle)))
        if len(_DRAWN) >= MEMO_SIZE:
            _DRAWN.clear()
        _DRAWN[key] = {SVG: view[0], PNG: view[1], FULL_SVG: full[0], FULL_PNG: full[1]}
    return dict(_DRAWN[key])


def prefetch(bundle_dirs: Iterable[Path]) -> None:
    """Start Graphviz on each bundle's diagrams and return at once: ``draw`` collects them later. Does nothing
    without ``dot``. Only a head start: a bundle that cannot be read or drawn is left for ``draw`` to report."""
    if shutil.which("dot") is None:
        return
    if not _UNDER_WAY:
        atexit.register(_abandon_all)
    for bundle_dir in bundle_dirs:
        try:
            bundle = from_directory(bundle_dir)
            key = ("graphviz", _fingerprint(bundle))
            if key not in _DRAWN and key not in _UNDER_WAY:
                _UNDER_WAY[key] = _start(bundle)
        except Exception:  # drawn (and reported) again by draw, after the lint's report
            continue


def _start(bundle: RenderedBundle) -> list[graphviz.Drawing | graphviz.Run]:
    runs: list[graphviz.Drawing | graphviz.Run] = []
    try:
        for graph in (build_architecture(bundle), build_graph(bundle)):
            runs.append(graphviz.start(to_dot(graph).encode("utf-8")))
    except DrgenError:
        for run in runs:
            graphviz.abandon(run)
        raise
    return runs


def _fingerprint(bundle: RenderedBundle) -> str:
    """What the drawings are made from: the bundle's place (its name may come from it), manifest and templates."""
    digest = hashlib.sha256(str(bundle.path).encode() + b"\0" + bundle.manifest_bytes)
    for name, data in sorted(bundle.files.items()):
        digest.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def _abandon_all() -> None:
    while _UNDER_WAY:
        for run in _UNDER_WAY.popitem()[1]:
            graphviz.abandon(run)


# -- Graphviz -------------------------------------------------------------------------------------------
def to_dot(graph: Graph) -> str:
    """The graph as DOT: containers in a fixed order, nodes and edges sorted."""
    lines = [
        "digraph drgen {",
        f'  graph [rankdir={graph.rankdir}, compound=true, fontname="Helvetica", fontsize=14, labelloc=t, '
        f'label={_quote(graph.title)}, nodesep=0.25, ranksep=0.7, bgcolor="white", pad=0.3, newrank=true];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, color="#374151"];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    outside = sorted((n for n in graph.nodes.values() if n.cluster not in graph.clusters), key=lambda n: n.id)
    lines += [f"  {_node(node)}" for node in outside]
    for cluster, label in graph.clusters.items():
        color = CLUSTER_COLOR.get(cluster, "#374151")
        lines.append(f"  subgraph cluster_{cluster} {{")
        lines.append(f'    label={_quote(label)}; style="rounded,dashed"; color="{color}"; fontcolor="{color}";')
        for node in sorted((n for n in graph.nodes.values() if n.cluster == cluster), key=lambda n: n.id):
            lines.append(f"    {_node(node)}")
        lines.append("  }")
    lines += [f"  {{rank=same; {'; '.join(ids)};}}" for ids in graph.same_rank]
    lines += [f"  {upper} -> {lower} [style=invis, minlen={gap}];" for upper, lower, gap in sorted(graph.below)]
    lines += [f"  {_edge(edge)}" for edge in graph.sorted_edges()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node(node: Node) -> str:
    shape = f", shape={node.shape}" if node.shape else ""
    return f'{node.id} [label={_quote(node.label)}, fillcolor="{FILL.get(node.category, "#fff")}"{shape}];'


def _edge(edge: Edge) -> str:
    color = EDGE_COLOR[edge.kind]
    source, target = (edge.target, edge.source) if edge.upward else (edge.source, edge.target)
    extra = ", dir=both" if edge.both_ways else ", dir=back" if edge.upward else ""
    extra += "" if edge.constraint else ", constraint=false"
    return (
        f'{source} -> {target} [label={_quote(edge.label)}, color="{color}", fontcolor="{color}", '
        f"style={EDGE_STYLE[edge.kind]}{extra}];"
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# -- matplotlib + networkx ---------------------------------------------------------------------------------
def _matplotlib(graph: Graph) -> tuple[bytes, bytes]:
    """Clusters as columns (networkx multipartite layout), boxed; edges coloured by kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx
    from matplotlib.patches import FancyBboxPatch

    # A column per container, the nodes outside every container (the clients) in a first, unboxed one.
    column = {n.id: n.cluster if n.cluster in graph.clusters else "" for n in graph.nodes.values()}
    order = ([""] if "" in column.values() else []) + list(graph.clusters)
    g = nx.DiGraph()
    for node in sorted(graph.nodes.values(), key=lambda n: (order.index(column[n.id]), n.id)):
        g.add_node(node.id, subset=order.index(column[node.id]))
    tallest = max((sum(1 for c in column.values() if c == cluster) for cluster in order), default=1)
    # Subsets as sorted lists: by attribute, networkx groups them in sets, whose order changes run to run.
    subsets = {i: [n for n in g.nodes if g.nodes[n]["subset"] == i] for i in range(len(order))}
    layout = nx.multipartite_layout(
        g, subset_key={i: ids for i, ids in subsets.items() if ids}, align="vertical", scale=1.0
    )
    # The layout normalises both axes to one scale; stretch columns apart and rows to the tallest column.
    columns = sorted({round(float(x), 6) for x, _ in layout.values()})
    positions = {
        n: (COLUMN_SPACING * columns.index(round(float(x), 6)), float(y) * ROW_SPACING * tallest / 2)
        for n, (x, y) in layout.items()
    }
    with matplotlib.rc_context({"svg.hashsalt": "drgen", "svg.fonttype": "none", "font.family": "DejaVu Sans"}):
        figure, axes = plt.subplots(figsize=(3.6 * max(len(order), 1), 0.75 * tallest + 2))
        axes.set_axis_off()
        axes.set_title(graph.title, fontsize=12)
        for cluster in graph.clusters:
            xs = [positions[n][0] for n, c in column.items() if c == cluster]
            ys = [positions[n][1] for n, c in column.items() if c == cluster]
            color = CLUSTER_COLOR.get(cluster, "#374151")
            half = COLUMN_SPACING * 0.42
            axes.add_patch(
                FancyBboxPatch(
                    (min(xs) - half, min(ys) - ROW_SPACING / 2),
                    2 * half,
                    max(ys) - min(ys) + ROW_SPACING * 1.1,
                    boxstyle="round,pad=0.02",
                    fill=False,
                    linestyle="--",
                    edgecolor=color,
                )
            )
            axes.text(
                min(xs) - half + 0.05,
                max(ys) + ROW_SPACING * 0.55,
                graph.clusters[cluster],
                color=color,
                fontsize=9,
                va="bottom",
            )
        for kind, color in EDGE_COLOR.items():
            edges = [(e.source, e.target) for e in graph.sorted_edges() if e.kind == kind]
            nx.draw_networkx_edges(
                g,
                positions,
                edgelist=edges,
                ax=axes,
                edge_color=color,
                arrows=True,
                arrowstyle="-|>",
                connectionstyle="arc3,rad=0.08",
                node_size=2600,
                style="solid" if kind != "link" else "dashed",
            )
        for node in graph.nodes.values():
            x, y = positions[node.id]
            axes.text(
                x,
                y,
                node.label,
                ha="center",
                va="center",
                fontsize=7,
                bbox={
                    "boxstyle": "round,pad=0.3",
                    "facecolor": FILL.get(node.category, "#fff"),
                    "edgecolor": "#374151",
                },
            )
        axes.margins(0.08)
        svg, png = io.BytesIO(), io.BytesIO()
        figure.savefig(svg, format="svg", metadata={"Date": None})
        figure.savefig(png, format="png", dpi=110, metadata={"Software": None})
        plt.close(figure)
    return svg.getvalue(), png.getvalue()
