"""Coverage-guided fuzzing of the reply decoder with atheris (libFuzzer).

  python tests/fuzz/fuzz_decoder.py [libFuzzer options] [corpus directories]

Any exception other than the client's own SlurmConfigError is a finding.
"""
import os
import sys

import atheris

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "plugins", "module_utils"))

with atheris.instrument_imports():
    from _slurm.errors import SlurmConfigError
    from _slurm.messages import decode_reply


def one_input(data: bytes) -> None:
    try:
        decode_reply(data)
    except SlurmConfigError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
