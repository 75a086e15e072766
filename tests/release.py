"""Builds the release artefacts of straw.slurm from a commit, byte for byte the same on every run
(tests/release runs it; see its usage there).

  straw-slurm-VERSION.tar.gz   the collection: `ansible-galaxy collection build` of the
                               commit's tree, then rewritten deterministically
  straw                        bin/straw as one file (bin/straw-pyz), bytecode for this Python
  SHA256SUMS                   the digests of both, as sha256sum writes them

What would differ between two builds, and what is done about it:
  * the files' mtimes, and stray files of the working tree: the tree is the commit's, exported
    with `git archive`, and every member of the tarball gets SOURCE_DATE_EPOCH (the commit's
    time) as its mtime;
  * MANIFEST.json's and FILES.json's mtimes and the gzip header's timestamp (ansible-galaxy
    takes the current time): SOURCE_DATE_EPOCH, with no file name in the gzip header;
  * the order of FILES.json and of the members (ansible-galaxy lists directories in the order
    the file system returns them): sorted by name, and MANIFEST.json's digest of FILES.json
    computed again. ansible-galaxy checks every digest when it installs the tarball;
  * owners and pax headers (fractional mtimes): uid and gid 0, no user or group names, no
    pax header beyond the ones long names need;
  * the single file: bin/straw-pyz already writes sorted members with fixed timestamps.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USAGE = "usage: tests/release [DIR] [--commit COMMIT]   (DIR defaults to dist/)\n"


def git(*args):
    return subprocess.run(["git", "-C", ROOT] + list(args), check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()


def export(commit, destination):
    """The commit's tree, as git holds it, in destination."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", "--format=tar", commit], check=True,
                             stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tree:
        for member in tree.getmembers():
            if not (member.isfile() or member.isdir() or member.issym()):
                raise RuntimeError("%s: unexpected member type in the commit" % member.name)
            name = os.path.normpath(member.name)
            if name.startswith(("/", "..")):
                raise RuntimeError("%s: a path outside the tree" % member.name)
        if hasattr(tarfile, "data_filter"):
            tree.extractall(destination, filter="data")
        else:
            tree.extractall(destination)  # checked above: files, directories and links inside


def json_bytes(value):
    """JSON as ansible-galaxy writes MANIFEST.json and FILES.json."""
    return json.dumps(value, indent=True).encode("utf-8")


def normalise(built, out, epoch):
    """Rewrites the tarball ansible-galaxy built: FILES.json and the members sorted by name,
    MANIFEST.json's digest of FILES.json made again, every time SOURCE_DATE_EPOCH."""
    with tarfile.open(built, "r:gz") as source:
        members = {member.name: member for member in source.getmembers()}
        contents = {name: source.extractfile(member).read()
                    for name, member in members.items() if member.isfile()}
    files = json.loads(contents["FILES.json"])
    files["files"].sort(key=lambda entry: (entry["name"] != ".", entry["name"]))
    contents["FILES.json"] = json_bytes(files)
    manifest = json.loads(contents["MANIFEST.json"])
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(contents["FILES.json"]).hexdigest()
    contents["MANIFEST.json"] = json_bytes(manifest)
    order = ["MANIFEST.json", "FILES.json"] + sorted(n for n in members if n not in ("MANIFEST.json", "FILES.json"))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as target:
        for name in order:
            member = members[name]
            info = tarfile.TarInfo(name)
            info.type = member.type
            info.mode = member.mode
            info.linkname = member.linkname
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if member.isfile():
                info.size = len(contents[name])
                target.addfile(info, io.BytesIO(contents[name]))
            else:
                target.addfile(info)
    with open(out, "wb") as handle, \
            gzip.GzipFile(filename="", mode="wb", fileobj=handle, compresslevel=9, mtime=epoch) as packed:
        packed.write(raw.getvalue())


def build(destination, commit):
    commit = git("rev-parse", "--verify", commit + "^{commit}")
    epoch = int(git("log", "-1", "--format=%ct", commit))
    os.makedirs(destination, exist_ok=True)
    galaxy = shutil.which("ansible-galaxy", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if galaxy is None:
        raise RuntimeError("ansible-galaxy is not installed beside %s or on PATH" % sys.executable)
    work = tempfile.mkdtemp(prefix="straw-release.")
    try:
        tree = os.path.join(work, "tree")
        export(commit, tree)
        subprocess.run([galaxy, "collection", "build", "--output-path", os.path.join(work, "built"), tree],
                       check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, SOURCE_DATE_EPOCH=str(epoch)))
        (built,) = os.listdir(os.path.join(work, "built"))
        tarball = os.path.join(destination, built)
        normalise(os.path.join(work, "built", built), tarball, epoch)
        single = os.path.join(destination, "straw")
        subprocess.run([sys.executable, os.path.join(tree, "bin", "straw-pyz"), single], check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sums = []
    for path in sorted([tarball, single], key=os.path.basename):
        with open(path, "rb") as handle:
            sums.append("%s  %s\n" % (hashlib.sha256(handle.read()).hexdigest(), os.path.basename(path)))
    with open(os.path.join(destination, "SHA256SUMS"), "w") as handle:
        handle.writelines(sums)
    return commit, [tarball, single, os.path.join(destination, "SHA256SUMS")]


def main(argv):
    args = list(argv)
    commit = "HEAD"
    if "--commit" in args:
        index = args.index("--commit")
        if index + 1 >= len(args):
            sys.stderr.write(USAGE)
            return 2
        commit = args.pop(index + 1)
        args.pop(index)
    if args in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0
    if len(args) > 1 or (args and args[0].startswith("-")):
        sys.stderr.write(USAGE)
        return 2
    destination = os.path.abspath(args[0] if args else os.path.join(ROOT, "dist"))
    if commit == "HEAD" and git("status", "--porcelain", "--untracked-files=no"):
        sys.stderr.write("release: the working tree has uncommitted changes; building the last commit without them\n")
    try:
        commit, paths = build(destination, commit)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        sys.stderr.write("release: %s\n" % error)
        return 1
    sys.stdout.write("release: built from commit %s with %s\n" % (commit[:12], sys.executable))
    for path in paths:
        sys.stdout.write("  %s\n" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
