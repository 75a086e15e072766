#!/usr/bin/env bash
# The documentation, checked and built:
#   * the docs site's guides still say what README.md says (tests/docs_guides.py --check);
#   * antsibull-docs' linter is clean: every module's, the lookup's and the role's docs, the
#     extra docs, links.yml, and every cross-reference (M(), P(), O(), :ansplugin:, :ansopt:)
#     resolved against what ansible-doc sees, rstcheck on the generated and the extra RST;
#   * the HTML site builds with antsibull-docs and Sphinx, warnings as errors, offline.
# The site lands in docs/build/html (never committed). Its own virtualenv is cached, as
# tests/lint.sh caches its own.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOCS=${STRAW_TEST_CACHE:-/var/tmp/straw-slurm-test}/docs-venv
stamp=$(sha256sum < "$ROOT/tests/docs-requirements.txt" | cut -c1-16)
if [[ ! -x $DOCS/bin/sphinx-build || $(cat "$DOCS/.stamp" 2>/dev/null) != "$stamp" ]]; then
  rm -rf "$DOCS"
  python3 -m venv "$DOCS"
  "$DOCS/bin/pip" install -q --disable-pip-version-check -r "$ROOT/tests/docs-requirements.txt" 2>"$DOCS.log"
  echo "$stamp" > "$DOCS/.stamp"
fi
cd "$ROOT"
"$DOCS/bin/python" tests/docs_guides.py --check

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/collections/ansible_collections/straw"
ln -s "$ROOT" "$work/collections/ansible_collections/straw/slurm"
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_LOCAL_TEMP=$work/tmp PATH=$DOCS/bin:$PATH

antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs \
  --validate-collection-refs all --disallow-unknown-collection-refs "$ROOT"

# The collection's pages. It is on no Galaxy server: its name links to this site's index, and
# it installs from the release tarball.
version=$(sed -n 's/^version: *//p' galaxy.yml)
cat > "$work/antsibull-docs.cfg" <<CFG
collection_url = {
  straw.slurm = index.html
}
collection_install = {
  straw.slurm = "ansible-galaxy collection install straw-slurm-$version.tar.gz"
}
CFG
mkdir -m 0755 "$work/rst"
antsibull-docs --config-file "$work/antsibull-docs.cfg" collection --use-current \
  --squash-hierarchy --fail-on-error --dest-dir "$work/rst" straw.slurm

# Offline: intersphinx downloads nothing. The pages refer to a few labels of Ansible's own
# docs; they are listed here, in a local inventory. A new one fails the build (nitpicky) and
# belongs in this list.
"$DOCS/bin/python" - "$work/ansible.inv" <<'PY'
import sys, zlib
labels = [  # label, page (and anchor) under docs.ansible.com/projects/ansible/latest/, title
    ("common_return_values", "reference_appendices/common_return_values.html#common-return-values",
     "Return Values"),
    ("ansible_configuration_settings", "reference_appendices/config.html#ansible-configuration-settings",
     "Ansible Configuration Settings"),
    ("ansible_collections.ansible.builtin.copy_module",
     "collections/ansible/builtin/copy_module.html#ansible-collections-ansible-builtin-copy-module",
     "ansible.builtin.copy module"),
    ("ansible_collections.ansible.builtin.copy_module__parameter-content",
     "collections/ansible/builtin/copy_module.html#parameter-content", "content"),
    # each module's page says it has an action plugin (plugins/action: the old-Python line)
    ("action_plugins", "plugins/action.html#action-plugins", "Action plugins"),
]
body = "".join("%s std:label -1 %s %s\n" % entry for entry in labels)
with open(sys.argv[1], "wb") as handle:
    handle.write(b"# Sphinx inventory version 2\n# Project: Ansible\n# Version: latest\n"
                 b"# The remainder of this file is compressed using zlib.\n")
    handle.write(zlib.compress(body.encode("utf-8")))
PY
cat > "$work/conf.py" <<CONF
project = 'straw.slurm'
copyright = 'straw.slurm contributors'
title = html_short_title = 'straw.slurm $version'
extensions = ['sphinx.ext.intersphinx', 'sphinx_antsibull_ext']
intersphinx_mapping = {
    'ansible': ('https://docs.ansible.com/projects/ansible/latest/', '$work/ansible.inv'),
}
pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'
html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = 'any'
nitpicky = True
html_theme_options = {
    'topbar_links': {
        'Slurm documentation': 'https://slurm.schedmd.com/',
        'Ansible documentation': 'https://docs.ansible.com/',
    },
}
CONF
rm -rf docs/build
sphinx-build -q -W --keep-going -j auto -b html -c "$work" -d "$work/doctrees" "$work/rst" docs/build/html
echo "docs: the guides match README.md, antsibull-docs lint is clean, and the site builds without a warning: docs/build/html/index.html"
