# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keeps the docs site's pages in docs/docsite/rst/ from drifting from what they repeat.

* The guides are sections of README.md, which stays their one source: each is turned into the
  reStructuredText that antsibull-docs takes for a collection's extra docs.
* A code block of a hand-written page whose caption names a file of the repository (such as
  ``:caption: playbooks/fetch.yml``) holds that file, byte for byte.

  python3 tests/docs_guides.py          rewrite what differs
  python3 tests/docs_guides.py --check  change nothing; exit 1 naming each page that differs

Only the Markdown README.md uses is understood: paragraphs, ``*`` lists, fenced code, pipe
tables, code spans, bold and links. Anything else reaches Sphinx as text, and tests/docs.sh
builds with warnings as errors, so a construct this does not know shows there.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RST_DIR = os.path.join("docs", "docsite", "rst")
LABEL_PREFIX = "ansible_collections.straw.slurm.docsite."

#: (the README heading, without its hashes; the page's file and label under docs/docsite/rst)
GUIDES = [
    ("Staying current: `straw --watch`", "guide_watch"),
    ("Containers and images", "guide_containers"),
    ("Errors that name the cause", "guide_errors"),
]

FENCE = re.compile(r"^```(\S*)\s*$")
HEADING = re.compile(r"^(#{1,6}) (.*?)\s*$")
BULLET = re.compile(r"^[*-] ")
INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)\s]+)\)", re.S)
CAPTIONED = re.compile(r"^( *)\.\. code-block:: *\S*\n((?:\1   :[\w-]+:.*\n)*)", re.M)
UNDERLINES = "=-~^\"'"


def section(lines: list[str], heading: str) -> tuple[int, list[str]]:
    """The level of the README heading and the lines under it, up to the next heading of the
    same or a higher level (headings inside fenced code do not count)."""
    level = None
    body: list[str] = []
    fenced = False
    for line in lines:
        match = None if fenced else HEADING.match(line)
        if FENCE.match(line):
            fenced = not fenced
        if level is None:
            if match and match.group(2) == heading:
                level = len(match.group(1))
            continue
        if match and len(match.group(1)) <= level:
            break
        body.append(line)
    if level is None:
        raise SystemExit("docs_guides: README.md has no heading %r (tests/docs_guides.py names it)"
                         % heading)
    return level, body


def _fits_before(char: str) -> bool:
    """May inline markup start right after this character (docutils' rule)?"""
    return char.isspace() or char in "<" or unicodedata.category(char) in ("Ps", "Pi", "Pf", "Pd", "Po")


def _fits_after(char: str) -> bool:
    """May inline markup end right before this character?"""
    return char.isspace() or char in ">\\" or unicodedata.category(char) in ("Pe", "Pi", "Pf", "Pd", "Po")


def _text(text: str) -> str:
    """Plain text, with everything reStructuredText would read as markup escaped."""
    return re.sub(r"([\\*`|]|_(?!\w))", r"\\\1", text)


def _literal(code: str) -> str:
    return "``%s``" % code


def inline(text: str) -> str:
    """Markdown's inline markup as reStructuredText's. Markup that reST cannot nest (code in
    bold or in a link's text) keeps the code and drops the rest."""
    pieces: list[tuple[bool, str]] = []  # (is markup, reST)
    position = 0
    for match in INLINE.finditer(text):
        if match.start() > position:
            pieces.append((False, _text(text[position:match.start()])))
        code, bold, link_text, url = match.groups()
        if code is not None:
            pieces.append((True, _literal(code)))
        elif bold is not None:
            if "`" in bold:
                pieces.append((False, inline(bold)))
            else:
                pieces.append((True, "**%s**" % _text(bold)))
        elif re.match(r"https?://", url):
            label = link_text.replace("`", "")
            pieces.append((True, "`%s <%s>`__" % (label.replace("<", r"\<"), url)))
        else:  # a file of the repository: named, since the site has no copy of it
            pieces.append((False, "%s, %s" % (inline(link_text), _literal(url))))
        position = match.end()
    if position < len(text):
        pieces.append((False, _text(text[position:])))
    out = ""
    for index, (markup, rst) in enumerate(pieces):
        if markup and out and not _fits_before(out[-1]):
            out += "\\ "
        out += rst
        following = pieces[index + 1][1] if index + 1 < len(pieces) else ""
        if markup and following and not _fits_after(following[0]):
            out += "\\ "
    return out


def _cells(row: str) -> list[str]:
    """The cells of a pipe-table row; a | inside a code span is not a separator."""
    cells, current, in_code = [], "", False
    for char in row.strip()[1:-1] if row.strip().endswith("|") else row.strip()[1:]:
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return cells


def _table(rows: list[str]) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", ""]
    for number, row in enumerate(rows):
        if number == 1:
            continue  # the |---|---| line
        for column, cell in enumerate(_cells(row)):
            text = inline(cell)
            out.append(("   * -" if column == 0 else "     -") + (" " + text if text else ""))
    return out + [""]


def convert(level: int, title: str, lines: list[str]) -> list[str]:
    """The reST of a README section's body (its heading becomes the page's title)."""
    out = [title, "=" * len(title), ""]
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        heading = HEADING.match(line)
        if not line.strip():
            index += 1
        elif fence:
            end = index + 1
            while end < len(lines) and not FENCE.match(lines[end]):
                end += 1
            out += [".. code-block:: %s" % (fence.group(1) or "text"), ""]
            out += [("   " + code).rstrip() for code in lines[index + 1:end]]
            out.append("")
            index = end + 1
        elif heading:
            text = inline(heading.group(2))
            depth = len(heading.group(1)) - level
            out += [text, UNDERLINES[min(depth, len(UNDERLINES) - 1)] * len(text), ""]
            index += 1
        elif line.startswith("|"):
            end = index
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            out += _table(lines[index:end])
            index = end
        elif BULLET.match(line):
            end = index + 1
            while end < len(lines) and lines[end].startswith("  ") and lines[end].strip():
                end += 1
            text = "\n".join(item.strip() for item in [line[2:]] + lines[index + 1:end])
            out += ("* " + inline(text).replace("\n", "\n  ")).split("\n")
            index = end
            if index < len(lines) and not BULLET.match(lines[index]):
                out.append("")
        else:
            end = index + 1
            while end < len(lines) and lines[end].strip() and not (
                    FENCE.match(lines[end]) or HEADING.match(lines[end])
                    or BULLET.match(lines[end]) or lines[end].startswith("|")):
                end += 1
            out += inline("\n".join(lines[index:end])).split("\n") + [""]
            index = end
    while out and not out[-1]:
        out.pop()
    return out


def guide(readme: list[str], heading: str, name: str) -> str:
    level, body = section(readme, heading)
    head = [
        ".. Made from README.md, its section %r, by tests/docs_guides.py:" % heading,
        "   edit README.md, then run python3 tests/docs_guides.py (tests/docs.sh fails until then).",
        "",
        ".. _%s%s:" % (LABEL_PREFIX, name),
        "",
    ]
    return "\n".join(head + convert(level, inline(heading), body)) + "\n"


def captioned(text: str) -> str:
    """The page with each code block whose caption names a repository file holding that file."""
    out, position = "", 0
    for match in CAPTIONED.finditer(text):
        caption = re.search(r":caption: *(\S+)", match.group(2))
        if not caption or not os.path.isfile(os.path.join(ROOT, caption.group(1))):
            continue
        indent = match.group(1) + "   "
        end = match.end()
        # The block's body: lines indented deeper than the directive, or blank, up to the
        # first line that is neither.
        body = re.match(r"(?:%s.*\n|[ \t]*\n)*" % re.escape(indent), text[end:])
        block_end = end + (body.end() if body else 0)
        with open(os.path.join(ROOT, caption.group(1)), encoding="utf-8") as handle:
            source = handle.read()
        lines = [(indent + line).rstrip() for line in source.rstrip("\n").split("\n")]
        out += text[position:end] + "\n" + "\n".join(lines) + "\n\n"
        position = block_end
    return out + text[position:]


def expected() -> dict[str, str]:
    """Each page this keeps, by its path under the repository, as it should read."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read().split("\n")
    pages = {os.path.join(RST_DIR, name + ".rst"): guide(readme, heading, name) for heading, name in GUIDES}
    for name in sorted(os.listdir(os.path.join(ROOT, RST_DIR))):
        path = os.path.join(RST_DIR, name)
        if name.endswith(".rst") and path not in pages:
            with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
                pages[path] = captioned(handle.read())
    return pages


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    stale = []
    for path, text in expected().items():
        full = os.path.join(ROOT, path)
        try:
            with open(full, encoding="utf-8") as handle:
                current = handle.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        stale.append(path)
        if not check:
            with open(full, "w", encoding="utf-8") as handle:
                handle.write(text)
    if check and stale:
        print("docs_guides: %s no longer match%s README.md and the files they show; run"
              " python3 tests/docs_guides.py" % (", ".join(stale), "es" if len(stale) == 1 else ""),
              file=sys.stderr)
        return 1
    for path in stale:
        print("docs_guides: wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
