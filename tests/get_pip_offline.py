"""A stand-in for the get-pip bootstrap script that ansible-test downloads from the internet.

ansible-test creates each sanity-test virtualenv without pip, then runs the get-pip script
(cached under ~/.ansible/test/cache/) with pip's install arguments, e.g. "pip==24.2". This
does the same offline: ensurepip installs the pip that Python bundles, and that pip installs
what was asked for. ansible-test runs it with a filtered environment, so tests/sanity.sh
writes the caller's pip settings (index, CA bundle, ...) into SETTINGS below, and they become
the virtualenv's own pip.conf for every later pip call in it.
"""
import os
import subprocess
import sys

SETTINGS = {}  # filled in by tests/sanity.sh
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main() -> None:
    if SETTINGS:
        with open(os.path.join(sys.prefix, "pip.conf"), "w") as handle:
            handle.write("[global]\n")
            for name, value in sorted(SETTINGS.items()):
                handle.write("%s = %s\n" % (name, value))
    # In its own process: ensurepip points PIP_CONFIG_FILE at /dev/null in the process it runs in.
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                          stdout=subprocess.DEVNULL)
    arguments = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    if arguments:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + arguments)


if __name__ == "__main__":
    main()
