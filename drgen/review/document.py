"""A tiny document model rendered twice: Markdown (REVIEW.md) and self-contained HTML (review.html).

The report is assembled once as sections of paragraphs, bullet lists and tables; the two renderers only
differ in syntax, so the Markdown and the HTML can never disagree. Inline markup in text is limited to
```code``` spans and ``**bold**``; a newline inside a table cell is a line break.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    # one CSS class per row ("" for none): HTML marks rows such as data loss (``danger``); Markdown has no
    # classes, so the row's own text must say it too (bold and a marker)
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Raw:
    """Markup only one format can carry well (an inline SVG in HTML; an image link in Markdown)."""

    html: str
    markdown: str


Block = Para | Bullets | Table | Raw


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self

    def sub(self, title: str) -> Section:
        child = Section(title)
        self.children.append(child)
        return child


@dataclass
class Document:
    title: str
    intro: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str) -> Section:
        section = Section(title)
        self.sections.append(section)
        return section


DANGER = "danger"  # the row class for what loses data (red in the HTML)
DANGER_MARK = "⚠"  # what Markdown shows in its place, inside bold text


def table(
    headers: list[str] | tuple[str, ...],
    rows: list[list[str]] | list[tuple[str, ...]],
    classes: list[str] | tuple[str, ...] = (),
) -> Table:
    return Table(tuple(headers), tuple(tuple(str(c) for c in row) for row in rows), tuple(classes))


def code(text: str) -> str:
    """Text as an inline code span (backticks inside become quotes: spans cannot nest)."""
    return f"`{text.replace('`', chr(39))}`" if text else ""


def slug(title: str) -> str:
    return _SLUG.sub("-", title.lower()).strip("-")


# -- Markdown ------------------------------------------------------------------------------------------
def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for block in doc.intro:
        out += [_md_block(block), ""]
    out += ["## Contents", ""]
    out += [f"- [{s.title}](#{slug(s.title)})" for s in doc.sections]
    out.append("")
    for section in doc.sections:
        out += _md_section(section, 2)
    return "\n".join(out).rstrip("\n") + "\n"


def _md_section(section: Section, level: int) -> list[str]:
    out = ["#" * level + " " + section.title, ""]
    for block in section.blocks:
        out += [_md_block(block), ""]
    for child in section.children:
        out += _md_section(child, min(level + 1, 6))
    return out


def _md_block(block: Block) -> str:
    if isinstance(block, Para):
        return block.text
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, Raw):
        return block.markdown
    header = "| " + " | ".join(_md_cell(h) for h in block.headers) + " |"
    rule = "|" + "|".join("---" for _ in block.headers) + "|"
    rows = ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
    return "\n".join([header, rule, *rows])


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>") or " "


# -- HTML ----------------------------------------------------------------------------------------------
STYLE = """
*,*::before,*::after{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0;background:#f6f7f9}
main{max-width:1280px;margin:0 auto;padding:24px 32px;background:#fff}
h1{font-size:26px;margin:0 0 12px}
h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #d0d7de;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 6px}h4{font-size:14px;margin:16px 0 4px}
table{border-collapse:collapse;margin:8px 0 16px;width:100%;max-width:100%;font-size:13px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef1f4}tr:nth-child(even) td{background:#fafbfc}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f4;padding:0 3px;border-radius:3px;
word-break:break-all;overflow-wrap:anywhere}
pre{max-width:100%;white-space:pre-wrap;overflow-wrap:anywhere}img{max-width:100%;height:auto}
strong{color:#9a3412}nav ul{columns:2}
figure{margin:8px 0;max-width:100%;overflow-x:auto;border:1px solid #d0d7de}
figure svg{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{padding:4px 8px;border-top:1px solid #d0d7de;font-size:13px;background:#fafbfc}
tr.danger td,tr.danger td strong{color:#b91c1c}tr.danger td{background:#fef2f2}
""".strip()


def to_html(doc: Document) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(doc.title)}</title>",
        f"<style>\n{STYLE}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_inline(doc.title)}</h1>",
    ]
    parts += [_html_block(b) for b in doc.intro]
    parts.append('<nav><h2 id="contents">Contents</h2><ul>')
    parts += [f'<li><a href="#{slug(s.title)}">{_inline(s.title)}</a></li>' for s in doc.sections]
    parts.append("</ul></nav>")
    for section in doc.sections:
        parts += _html_section(section, 2)
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _html_section(section: Section, level: int) -> list[str]:
    tag = f"h{min(level, 6)}"
    out = [f'<section><{tag} id="{slug(section.title)}">{_inline(section.title)}</{tag}>']
    out += [_html_block(b) for b in section.blocks]
    for child in section.children:
        out += _html_section(child, level + 1)
    out.append("</section>")
    return out


def _html_block(block: Block) -> str:
    if isinstance(block, Para):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Raw):
        return block.html
    head = "".join(f"<th>{_inline(h)}</th>" for h in block.headers)
    classes = block.classes + ("",) * (len(block.rows) - len(block.classes))
    body = "".join(
        (f'<tr class="{html.escape(css)}">' if css else "<tr>")
        + "".join(f"<td>{_inline(c)}</td>" for c in row)
        + "</tr>"
        for row, css in zip(block.rows, classes, strict=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _inline(text: str) -> str:
    """Escape, then turn `code` and **bold** into tags and newlines into line breaks."""
    out = []
    last = 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        if match.group(1) is not None:
            out.append(f"<code>{html.escape(match.group(1))}</code>")
        else:
            out.append(f"<strong>{html.escape(match.group(2))}</strong>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out).replace("\n", "<br>")
