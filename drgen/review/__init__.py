"""The change-board review of a rendered bundle: REVIEW.md, review.html, diagram.svg/.png (the architecture) and
diagram-full.svg/.png (every resource).

``build_review`` and ``build_diagram`` return file contents (bytes) and write nothing; ``write_review`` puts
them into the bundle directory.
"""

from drgen.review.diagram import build_diagram
from drgen.review.report import REVIEW_HTML, REVIEW_MD, build_review
from drgen.review.write import write_review

__all__ = ["REVIEW_HTML", "REVIEW_MD", "build_diagram", "build_review", "write_review"]
