"""A Debian chroot with the packages a benchmark runs beside the lab's controllers (sackd,
configless slurmd), built once with mmdebstrap from the lab's mirror and kept."""
import os
import shutil
import subprocess

import lab

READY = ".bench-ready"  # in a finished chroot


def ready(root):
    return os.path.exists(os.path.join(root, READY))


def build(root, suite, packages, needed):
    """(root, None) once root is a chroot of Debian suite with packages (comma-separated),
    built now unless it is there; (None, why) when it cannot be, naming the package needed
    when the suite lacks it. The build's log is root + ".log"."""
    if ready(root):
        return root, None
    if not shutil.which("mmdebstrap"):
        return None, "mmdebstrap is missing, so its chroot cannot be built"
    temporary = root + ".tmp"
    if lab.mounts_under(temporary):
        return None, "%s has mounts; unmount them by hand" % temporary
    shutil.rmtree(temporary, ignore_errors=True)
    log_path = root + ".log"
    with open(log_path, "w") as log:
        built = subprocess.run(["mmdebstrap", '--aptopt=Acquire::Check-Valid-Until "false"',
                                "--variant=essential", "--include=" + packages,
                                suite, temporary, lab.mirror()], stdout=log,
                               stderr=subprocess.STDOUT, check=False)
    if built.returncode != 0:
        with open(log_path, errors="replace") as handle:
            text = handle.read()
        shutil.rmtree(temporary, ignore_errors=True)
        if needed in text and ("Unable to locate" in text or "no installation candidate" in text):
            return None, "Debian %s has no %s package" % (suite, needed)
        return None, "mmdebstrap failed (log: %s)" % log_path
    open(os.path.join(temporary, READY), "w").close()
    os.rename(temporary, root)
    return root, None
