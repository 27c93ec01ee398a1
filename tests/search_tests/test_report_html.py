"""report.html: the report's Markdown through Python-Markdown (``search.answer.report._html``)."""

from __future__ import annotations

import base64

from search.answer.report import _html

MARKDOWN = """# t <b>bold</b>

## Decision per in-domain size

- 10%: mixed wins
    - without the floor: local wins
- 50%: undetermined

| size | best configuration |
|---:|---|
| 10% | two-phase/mixed/class_weights <script>x</script> |

## Learning curves

![learning curves](learning_curves.png)

    annotation plan: f1 0.75
    a & b <c>
"""


def test_the_page_embeds_the_plots_and_renders_tables_lists_and_the_plan_block() -> None:
    page = _html(MARKDOWN, {"learning_curves": b"PNG"}, {"learning_curves": "learning_curves.png"})
    assert page.startswith('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>resweep report</title>')
    assert f'src="data:image/png;base64,{base64.b64encode(b"PNG").decode()}"' in page
    assert "learning_curves.png" not in page
    assert page.count("<table>") == 1 and page.count("<td") == 2
    assert "<td>two-phase/mixed/class_weights &lt;script&gt;x&lt;/script&gt;</td>" in page  # text, escaped
    assert "<h1>t &lt;b&gt;bold&lt;/b&gt;</h1>" in page
    assert "<li>10%: mixed wins<ul>\n<li>without the floor: local wins</li>" in page  # nested
    assert "<pre>annotation plan: f1 0.75\na &amp; b &lt;c&gt;\n</pre>" in page
    assert page.endswith("</body></html>\n")
