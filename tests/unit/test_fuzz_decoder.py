"""A bounded coverage-guided fuzzing run of the decoder (atheris), seeded with valid replies
of every layout. Fails if the fuzzer finds any exception other than the client's own."""
import os
import subprocess
import sys

import pytest

from fixtures.hostile import seed_frames

FUZZER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz", "fuzz_decoder.py")


def test_bounded_fuzzing_run(tmp_path):
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, seed in enumerate(seed_frames()):
        (corpus / ("seed%d" % index)).write_bytes(seed)
    runs = os.environ.get("STRAW_FUZZ_RUNS", "200000")
    proc = subprocess.run([sys.executable, FUZZER, "-runs=%s" % runs, "-max_len=4096",
                           "-rss_limit_mb=1024", "-artifact_prefix=%s/" % tmp_path, str(corpus)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Done %s runs" % runs in proc.stdout
