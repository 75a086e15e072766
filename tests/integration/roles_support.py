"""What the role's tests need beyond the lab: community.general (for the chroot connection,
taken from the `ansible` package on PyPI, since Galaxy is out of reach) and a Debian root file
system to build an image in."""
import glob
import os
import shutil
import subprocess
import sys
import zipfile

CACHE = os.environ.get("STRAW_TEST_CACHE", "/var/tmp/straw-slurm-test")
LAB_CACHE = os.environ.get("STRAW_LAB_CACHE", "/var/tmp/straw-slurm-lab")


def community_general() -> str:
    """A collections directory holding community.general, extracted once from PyPI's ansible."""
    target = os.path.join(CACHE, "test-collections")
    marker = os.path.join(target, "ansible_collections", "community", "general", "galaxy.yml")
    if os.path.exists(marker):
        return target
    download = os.path.join(CACHE, "ansible-wheel")
    os.makedirs(download, exist_ok=True)
    if not glob.glob(os.path.join(download, "ansible-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "ansible>=12,<13", "-d", download], check=True, stderr=subprocess.DEVNULL)
    (wheel,) = glob.glob(os.path.join(download, "ansible-*.whl"))
    partial = target + ".tmp"
    shutil.rmtree(partial, ignore_errors=True)
    prefix = "ansible_collections/community/general/"
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(prefix):
                archive.extract(name, partial)
    shutil.rmtree(target, ignore_errors=True)
    os.rename(partial, target)
    return target


def _mirror() -> str:
    for path in glob.glob("/etc/apt/sources.list.d/*.sources"):
        with open(path) as handle:
            for line in handle:
                if line.startswith("URIs:") and "security" not in line:
                    return line.split()[1]
    return "http://deb.debian.org/debian"


def _mounted_under(path: str) -> bool:
    with open("/proc/self/mounts") as handle:
        return any(line.split()[1].startswith(path.rstrip("/") + "/") for line in handle)


def debian_image() -> str:
    """A cached Debian bookworm root file system with python3 and munge, as a node image has."""
    image = os.path.join(LAB_CACHE, "image-bookworm")
    if os.path.exists(os.path.join(image, ".image-ready")):
        return image
    partial = image + ".tmp"
    if _mounted_under(partial):
        raise RuntimeError("%s has something mounted in it; unmount it by hand" % partial)
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run(["mmdebstrap", "--variant=essential", "--include=python3,munge",
                    "--aptopt=Acquire::Check-Valid-Until \"false\"", "bookworm", partial, _mirror()],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    open(os.path.join(partial, ".image-ready"), "w").close()
    os.rename(partial, image)
    return image


def copy_image(destination: str) -> str:
    """A private copy of the image for one test (it is written to)."""
    subprocess.run(["cp", "-a", debian_image(), destination], check=True)
    return destination


def processes_rooted_in(root: str) -> list:
    """PIDs whose root directory is inside root: what an image build must not leave running."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink("/proc/%s/root" % pid).startswith(root):
                    found.append(int(pid))
            except OSError:
                pass
    return found
