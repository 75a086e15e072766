"""The container examples, for real and offline: a Debian base image made with mmdebstrap
(examples/container/base-image, cached), the example image built by examples/container/build
(buildah bud, chroot isolation), straw run inside it against a lab controller (JWT, the
entrypoint's exec, a MUNGE key mounted as Kubernetes does), the role building an image over
the containers.podman.buildah connection, and the AWX execution environment definition
checked by ansible-builder. buildah keeps its images in a private store under the test cache
(CONTAINERS_STORAGE_CONF), never in the host's."""
import fcntl
import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

from _slurm.auth.jwt import mint_token
from lab import ROOT, down, up
from roles_support import CACHE, play, recap

EXAMPLES = os.path.join(ROOT, "examples", "container")
BASE = "localhost/straw-test-base:bookworm"  # cached across runs; everything else is removed
TAG = "localhost/straw-test-example:%d" % os.getpid()
STORE = os.path.join(CACHE, "containers")
PORT = 17360  # this file's own controller (and 17361, its SlurmdPort)
SECRETS = "/run/secrets"

pytestmark = pytest.mark.skipif(shutil.which("buildah") is None,
                                reason="buildah is missing (tests/env.sh installs it)")


def _storage_env(driver: str) -> dict:
    """buildah's environment: a private store and chroot isolation (no OCI runtime here)."""
    conf = os.path.join(STORE, driver + ".conf")
    if not os.path.exists(conf):
        os.makedirs(STORE, exist_ok=True)
        with open(conf + ".tmp", "w") as handle:
            handle.write('[storage]\ndriver = "%s"\ngraphroot = "%s"\nrunroot = "/run/straw-slurm-test/%s"\n'
                         % (driver, os.path.join(STORE, driver), driver))
        os.rename(conf + ".tmp", conf)
    return dict(os.environ, CONTAINERS_STORAGE_CONF=conf, BUILDAH_ISOLATION="chroot")


@pytest.fixture(scope="module")
def env():
    """overlay where the kernel mounts it (fast, shares layers), else vfs (copies)."""
    for driver in ("overlay", "vfs"):
        candidate = _storage_env(driver)
        probe = subprocess.run("c=$(buildah from scratch) && buildah mount \"$c\" >/dev/null && buildah rm \"$c\"",
                               shell=True, env=candidate, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60, check=False)
        if probe.returncode == 0:
            return candidate
    pytest.fail("buildah can use neither overlay nor vfs storage here")


def buildah(env, *args, check=True, timeout=120, stdin=None):
    # Never the inherited stdin: buildah run leaves it non-blocking (Ansible then refuses).
    proc = subprocess.run(["buildah"] + [str(a) for a in args], env=env, input=stdin,
                          stdin=subprocess.DEVNULL if stdin is None else None,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("buildah %s failed (%d):\n%s" % (args[0], proc.returncode, proc.stderr.decode()[-3000:]))
    return proc


def has_image(env, name):
    return buildah(env, "inspect", "--type", "image", name, check=False).returncode == 0


@pytest.fixture(scope="module")
def base(env):
    """The Debian base image, built once (about a minute and a half) and kept in the store."""
    with open(os.path.join(STORE, "base.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not has_image(env, BASE):
            subprocess.run([os.path.join(EXAMPLES, "base-image"), BASE], env=env, check=True, timeout=900)
    return BASE


@pytest.fixture(scope="module")
def image(env, base):
    proc = subprocess.run([os.path.join(EXAMPLES, "build"), base, TAG], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    yield TAG
    buildah(env, "rmi", TAG, check=False)


@pytest.fixture(scope="module")
def controller():
    c = up("26.05", name="image", port=PORT)
    yield c
    down(c)


class Container:
    """A working container of a test, removed with everything written into it."""

    count = 0

    def __init__(self, env, image):
        Container.count += 1
        self.env = env
        self.name = "straw-test-%d-%d" % (os.getpid(), Container.count)
        buildah(env, "from", "--pull=never", "--name", self.name, image)

    def run(self, *command, environ=None, timeout=120):
        flags = []
        for key, value in (environ or {}).items():
            flags += ["--env", "%s=%s" % (key, value)]
        return buildah(self.env, "run", "--isolation", "chroot", "--network", "host", *flags,
                       self.name, "--", *command, check=False, timeout=timeout)

    def put(self, data: bytes, path: str, mode: str = "0400") -> None:
        """A file written as a mounted secret is: owned by root, the given mode."""
        staged = os.path.join(self.root(), path.lstrip("/"))
        os.makedirs(os.path.dirname(staged), exist_ok=True)
        with open(staged, "wb") as handle:
            handle.write(data)
        os.chmod(staged, int(mode, 8))

    def root(self) -> str:
        return buildah(self.env, "mount", self.name).stdout.decode().strip()

    def files(self, directory: str) -> dict:
        """{name: (bytes, mode)} of what directory holds, straw's state file left out."""
        path = os.path.join(self.root(), directory.lstrip("/"))
        found = {}
        for name in os.listdir(path):
            if not name.startswith("."):
                with open(os.path.join(path, name), "rb") as handle:
                    found[name] = (handle.read(), os.stat(os.path.join(path, name)).st_mode & 0o7777)
        return found

    def remove(self):
        buildah(self.env, "rm", self.name, check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def config(env, image):
    return json.loads(buildah(env, "inspect", "--type", "image", image).stdout)["OCIv1"]["config"]


def same_as_controller(controller, files, at_least=("slurm.conf",)):
    for name in at_least:
        assert name in files, sorted(files)
    for name, (content, _mode) in files.items():
        assert content == controller.expected(name), name


def test_scripts_are_shellcheck_clean():
    scripts = [os.path.join(EXAMPLES, name) for name in ("build", "base-image")]
    proc = subprocess.run(["shellcheck"] + scripts, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout


def test_build_puts_straw_on_the_path(env, image):
    settings = config(env, image)
    assert settings["Entrypoint"] == ["straw", "--auth", "jwt", "--request", "client", "-o", "/run/slurm/conf", "--"]
    assert settings["Cmd"] == ["sh", "-c", 'exec cat "$SLURM_CONF"']
    assert [e for e in settings.get("Env", []) if not e.startswith("PATH=")] == []  # no secret, no server
    with Container(env, image) as c:
        proc = c.run("sh", "-c", 'command -v straw && stat -c %a "$(command -v straw)" && straw --version')
        assert proc.returncode == 0, proc.stderr
        where, mode, version = proc.stdout.decode().splitlines()
        assert (where, mode) == ("/usr/local/bin/straw", "755") and version.startswith("straw (straw.slurm) ")


def test_jwt_token_file_fetches_the_client_files(env, image, controller):
    with Container(env, image) as c:
        c.put(mint_token(controller.jwt_key, "slurm").encode(), SECRETS + "/slurm-jwt/token")
        proc = c.run("straw", "--auth", "jwt", "--jwt-token-file", SECRETS + "/slurm-jwt/token",
                     "--request", "client", "-o", "/etc/slurm",
                     environ={"SLURM_CONF_SERVER": controller.server})
        assert proc.returncode == 0, proc.stderr
        same_as_controller(controller, c.files("/etc/slurm"))


def test_the_entrypoint_execs_the_service(env, image, controller):
    """ENTRYPOINT + CMD as a runtime would run them: the default CMD prints the slurm.conf
    found through SLURM_CONF; another command's exit status is the container's."""
    settings = config(env, image)
    environ = {"SLURM_CONF_SERVER": controller.server, "SLURM_JWT": mint_token(controller.jwt_key, "slurm")}
    with Container(env, image) as c:
        proc = c.run(*(settings["Entrypoint"] + settings["Cmd"]), environ=environ)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == controller.expected("slurm.conf")
        proc = c.run(*settings["Entrypoint"], "sh", "-c", 'test "$SLURM_CONF" = /run/slurm/conf/slurm.conf && exit 7',
                     environ=environ)
        assert proc.returncode == 7, proc.stderr
        same_as_controller(controller, c.files("/run/slurm/conf"))
        # Without a token, straw fails and the service never starts.
        proc = c.run(*settings["Entrypoint"], "sh", "-c", "echo started", environ={"SLURM_CONF_SERVER": controller.server})
        assert proc.returncode == 2 and b"started" not in proc.stdout


def kubernetes():
    with open(os.path.join(EXAMPLES, "kubernetes.yaml")) as handle:
        (deployment,) = list(yaml.safe_load_all(handle))
    return deployment["spec"]["template"]["spec"]


def test_the_kubernetes_manifest_wires_straw_to_the_service():
    pod = kubernetes()
    assert "fsGroup" not in pod.get("securityContext", {})  # it would make the key group-readable
    (init,), (main,) = pod["initContainers"], pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    output = init["args"][init["args"].index("-o") + 1]
    assert "emptyDir" in volumes["slurm-conf"] and mounts["slurm-conf"] == output
    assert volumes["munge-key"]["secret"]["defaultMode"] == 0o400
    key = init["args"][init["args"].index("--munge-key") + 1]
    assert os.path.dirname(key) == mounts["munge-key"]
    assert [e["name"] for e in init["env"]] == ["SLURM_CONF_SERVER"]
    assert {m["name"]: m["mountPath"] for m in main["volumeMounts"]}["slurm-conf"] == output
    assert {e["name"]: e["value"] for e in main["env"]}["SLURM_CONF"] == output + "/slurm.conf"


def test_the_kubernetes_init_container_fetches_with_a_mounted_munge_key(env, image, controller):
    """The manifest's own command and arguments, with the key laid out as Kubernetes mounts a
    Secret (munge.key -> ..data/munge.key -> a timestamped directory), mode 0400."""
    init = kubernetes()["initContainers"][0]
    key = init["args"][init["args"].index("--munge-key") + 1]
    output = init["args"][init["args"].index("-o") + 1]
    with open(controller.munge_key, "rb") as handle:
        secret = handle.read()
    with Container(env, image) as c:
        directory = os.path.dirname(key)
        c.put(secret, directory + "/..2026_01_01_00_00_00.1/munge.key")
        root = os.path.join(c.root(), directory.lstrip("/"))
        os.symlink("..2026_01_01_00_00_00.1", os.path.join(root, "..data"))
        os.symlink("..data/munge.key", os.path.join(root, "munge.key"))
        # readOnlyRootFilesystem: straw writes into the emptyDir (made before it starts) only.
        assert c.run("sh", "-c", "mkdir -p %s && touch /.marker" % output).returncode == 0
        proc = c.run(*(init["command"] + init["args"]), environ={"SLURM_CONF_SERVER": controller.server})
        if proc.returncode != 0 and any(m in proc.stderr for m in (b"not implemented", b"ImportError", b"No module")):
            pytest.xfail("MUNGE from the key is not finished: %s" % proc.stderr.decode()[-300:])
        assert proc.returncode == 0, proc.stderr
        same_as_controller(controller, c.files(output))
        if init["securityContext"].get("readOnlyRootFilesystem"):
            changed = c.run("find", "/", "-xdev", "-newer", "/.marker").stdout.decode().split()
            runtime = {"/run", "/run/.containerenv", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}
            # Besides the output, only straw.slurm's cache (the version the controller took),
            # which a read-only root leaves unwritten, and the fetch succeeds all the same.
            cache = ("/var/cache", "/var/cache/straw-slurm", "/var/cache/straw-slurm/versions")
            assert [p for p in changed if p not in runtime and p not in cache
                    and not p.startswith(output + "/")] == [output]
        # The key as a pod with fsGroup would get it: group-readable, refused.
        os.chmod(os.path.join(root, "..2026_01_01_00_00_00.1", "munge.key"), 0o440)
        proc = c.run(*(init["command"] + init["args"]), environ={"SLURM_CONF_SERVER": controller.server})
        assert proc.returncode == 2 and secret not in proc.stderr


def containers_podman() -> str:
    """A collections directory holding containers.podman (its buildah connection), extracted
    once from PyPI's ansible, as roles_support does for community.general."""
    target = os.path.join(CACHE, "test-collections-podman")
    if os.path.exists(os.path.join(target, "ansible_collections", "containers", "podman", "MANIFEST.json")):
        return target
    download = os.path.join(CACHE, "ansible-wheel")
    os.makedirs(download, exist_ok=True)
    if not glob.glob(os.path.join(download, "ansible-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "ansible>=12,<13",
                        "-d", download], check=True, stderr=subprocess.DEVNULL, timeout=600)
    (wheel,) = glob.glob(os.path.join(download, "ansible-*.whl"))
    partial = target + ".%d.tmp" % os.getpid()
    prefix = "ansible_collections/containers/podman/"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(partial, [n for n in archive.namelist() if n.startswith(prefix)])
    shutil.rmtree(target, ignore_errors=True)
    os.rename(partial, target)
    return target


def role_has(variable):
    with open(os.path.join(ROOT, "roles", "configless", "defaults", "main.yml")) as handle:
        return any(line.startswith(variable + ":") for line in handle)


def files_holding(root: str, secret: bytes) -> list:
    """The regular files under root that contain secret (an image's whole tree: a second)."""
    found = []
    for directory, _subdirectories, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    if secret in handle.read():
                        found.append(path)
    return found


def test_the_role_builds_a_client_image_over_buildah(env, base, controller, ansible_env, tmp_path):
    """The image build of the role's README, with a container for a host: the controller
    fetches (the token never enters the image), the container gets the files and the command."""
    install = role_has("configless_install_command")
    committed = "localhost/straw-test-client:%d" % os.getpid()
    with Container(env, base) as work:
        inventory = tmp_path / "inventory.ini"
        inventory.write_text("localhost ansible_connection=local\n"
                             "%s ansible_connection=containers.podman.buildah ansible_python_interpreter=/usr/bin/python3\n"
                             % work.name)
        # A token, not the key: with a key the role wants PyJWT in the image, to mint with later.
        token = mint_token(controller.jwt_key, "slurm")
        role_vars = dict(configless_servers=[controller.server], configless_auth="jwt",
                         configless_jwt_token=token, configless_fetch_from="localhost",
                         configless_request="client", configless_services=False, configless_packages=False)
        if install:
            role_vars["configless_install_command"] = True
        (tmp_path / "play.yml").write_text(play(role_vars, hosts=work.name))
        run_env = dict(ansible_env, **{k: env[k] for k in ("CONTAINERS_STORAGE_CONF", "BUILDAH_ISOLATION")})
        run_env["ANSIBLE_PIPELINING"] = "1"  # one buildah run per task, not four
        run_env["ANSIBLE_COLLECTIONS_PATH"] = ansible_env["ANSIBLE_COLLECTIONS_PATH"] + ":" + containers_podman()
        playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        proc = subprocess.run([playbook, "-i", str(inventory), str(tmp_path / "play.yml")], env=run_env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        assert recap(proc.stdout)[work.name][2] == 0
        buildah(env, "commit", "--quiet", work.name, committed)
    try:
        with Container(env, committed) as check:
            files = check.files("/etc/slurm")
            same_as_controller(controller, files)
            assert not os.path.exists(os.path.join(check.root(), "etc", "straw-slurm"))  # no credentials
            assert not files_holding(check.root(), token.encode())
            if install:
                proc = check.run("/usr/local/sbin/straw", "--version")
                assert proc.returncode == 0 and proc.stdout.startswith(b"straw (straw.slurm) "), proc.stderr
                assert oct(os.stat(os.path.join(check.root(), "usr/local/sbin/straw")).st_mode & 0o777) == "0o755"
    finally:
        buildah(env, "rmi", committed, check=False)
    if not install:
        pytest.skip("the role has no configless_install_command yet: the command was not checked")


def ansible_builder() -> str:
    """ansible-builder from the lint virtualenv (tests/lint.sh installs it there)."""
    lint = os.path.join(CACHE, "lint-venv", "bin")
    if not os.path.exists(os.path.join(lint, "ansible-builder")):
        if not os.path.exists(os.path.join(lint, "pip")):
            pytest.skip("no lint virtualenv to hold ansible-builder: run tests/lint.sh once")
        subprocess.run([os.path.join(lint, "pip"), "install", "-q", "--disable-pip-version-check", "ansible-builder"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    return os.path.join(lint, "ansible-builder")


def test_the_execution_environment_takes_the_collections_python_needs(tmp_path):
    """The AWX definition of examples/ as it is: the collection from the release tarball
    (tests/release writes it to dist/), named with galaxy.yml's version. ansible-builder makes
    the build context, and its introspection, run on the installed collection, finds what
    meta/execution-environment.yml declares (PyJWT, dnspython; no system package)."""
    builder = ansible_builder()
    bin_dir = os.path.dirname(sys.executable)
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = yaml.safe_load(handle)["version"]
    # The example's layout, with the tarball where tests/release puts it.
    example = tmp_path / "examples" / "container"
    example.mkdir(parents=True)
    shutil.copy(os.path.join(EXAMPLES, "execution-environment.yml"), str(example))
    subprocess.run([os.path.join(bin_dir, "ansible-galaxy"), "collection", "build", ROOT, "--output-path",
                    str(tmp_path / "dist")], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=300)
    (tarball,) = glob.glob(str(tmp_path / "dist" / "straw-slurm-*.tar.gz"))
    assert os.path.basename(tarball) == "straw-slurm-%s.tar.gz" % version
    with open(os.path.join(EXAMPLES, "execution-environment.yml")) as handle:
        definition = yaml.safe_load(handle)
    assert definition["version"] == 3
    assert definition["dependencies"]["galaxy"]["collections"] == [
        {"name": "/build/collections/" + os.path.basename(tarball), "type": "file"}]
    assert definition["additional_build_files"] == [
        {"src": "../../dist/" + os.path.basename(tarball), "dest": "collections"}]
    context = tmp_path / "context"
    proc = subprocess.run([builder, "create", "-f", str(example / "execution-environment.yml"), "--context",
                           str(context)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout
    containerfile = (context / "Containerfile") if (context / "Containerfile").exists() else (context / "Dockerfile")
    assert definition["images"]["base_image"]["name"] in containerfile.read_text()
    assert (context / "_build" / "collections" / os.path.basename(tarball)).is_file()
    assert yaml.safe_load((context / "_build" / "requirements.yml").read_text()) == {
        "collections": definition["dependencies"]["galaxy"]["collections"]}
    introspect = context / "_build" / "scripts" / "introspect.py"
    assert introspect.is_file()
    installed = tmp_path / "installed"
    subprocess.run([os.path.join(bin_dir, "ansible-galaxy"), "collection", "install", "--offline", "-p",
                    str(installed), tarball], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=120)
    proc = subprocess.run([os.path.join(os.path.dirname(builder), "python"), str(introspect), "introspect",
                           "--sanitize", str(installed)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout
    found = yaml.safe_load(proc.stdout.split("---", 1)[1])
    assert sorted(line.split("#")[0].strip() for line in found["python"]) == ["PyJWT>=2.8", "dnspython>=2.3"]
    assert all("straw.slurm" in line for line in found["python"])
    assert not found.get("system")
