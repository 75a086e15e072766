"""The docs site's guides are README.md's sections: the committed pages still say what the
README says, and the Markdown the README uses comes out as the reST Sphinx reads."""
import docs_guides


def test_the_committed_pages_match_the_readme_and_the_files_they_show():
    for path, text in docs_guides.expected().items():
        with open(docs_guides.os.path.join(docs_guides.ROOT, path), encoding="utf-8") as handle:
            assert handle.read() == text, "%s differs: run python3 tests/docs_guides.py" % path


def test_a_section_ends_at_its_next_peer_and_headings_in_code_do_not_count():
    readme = ["# title", "## One", "text", "```yaml", "# a comment, not a heading", "```",
              "### Inner", "more", "## Two", "other"]
    level, body = docs_guides.section(readme, "One")
    assert level == 2
    assert body == ["text", "```yaml", "# a comment, not a heading", "```", "### Inner", "more"]


def test_code_bold_and_links():
    inline = docs_guides.inline
    assert inline("run `straw --watch` now") == "run ``straw --watch`` now"
    assert inline("the `kid`s it names") == "the ``kid``\\ s it names"
    assert inline("x`a`/`b`") == "x\\ ``a``/``b``"
    assert inline("**Faults.** A `x`") == "**Faults.** A ``x``"
    assert inline("**`--check`** writes") == "``--check`` writes"
    assert inline("see [the docs](https://slurm.schedmd.com/) here") == \
        "see `the docs <https://slurm.schedmd.com/>`__ here"
    assert inline("([its README](examples/container/README.md))") == \
        "(its README, ``examples/container/README.md``)"


def test_plain_text_is_not_read_as_markup():
    inline = docs_guides.inline
    assert inline("a | b * c") == "a \\| b \\* c"
    assert inline("tls_ca and name_ here") == "tls_ca and name\\_ here"


def test_lists_tables_and_fences():
    lines = ["para", "graph", "", "* one", "  more", "* two", "", "| | a | b |", "|---|---|---|",
             "| x | `p|q` | |", "", "```sh", "cmd --flag", "```"]
    assert docs_guides.convert(2, "Title", lines) == [
        "Title", "=====", "",
        "para", "graph", "",
        "* one", "  more", "* two", "",
        ".. list-table::", "   :header-rows: 1", "",
        "   * -", "     - a", "     - b",
        "   * - x", "     - ``p|q``", "     -", "",
        ".. code-block:: sh", "", "   cmd --flag"]


def test_a_captioned_block_holds_the_file():
    page = ("Intro\n\n.. code-block:: yaml\n   :caption: playbooks/fetch.yml\n\n   old\n   lines\n\n"
            "After.\n")
    with open(docs_guides.os.path.join(docs_guides.ROOT, "playbooks", "fetch.yml"), encoding="utf-8") as handle:
        playbook = handle.read()
    text = docs_guides.captioned(page)
    assert "   old" not in text and text.endswith("\n\nAfter.\n")
    assert "\n".join(line[3:] for line in text.split("\n")[5:-3]) == playbook.rstrip("\n")
    assert docs_guides.captioned(text) == text
