"""watch.conf_value: one key of a fetched slurm.conf, read the way Slurm reads it (keys in any
case, comments, the last one wins), which decides whose pushes are trusted (SlurmUser) and
where pushes arrive (SlurmdPort)."""

from _slurm.watch import conf_value

CONF = b"""# SlurmUser=commented
ClusterName=lab
slurmuser=first   # a comment after it
SLURMDPORT=6818
NodeName=n[1-4] CPUs=2 Port=7001
#SlurmdPort=1
SlurmUser=slurm#trailing comment, no space
"""


def test_keys_in_any_case_and_the_last_one_wins():
    assert conf_value(CONF, "SlurmUser") == "slurm"
    assert conf_value(CONF, "slurmuser") == "slurm"
    assert conf_value(CONF, "SlurmdPort") == "6818"
    assert conf_value(CONF, "ClusterName") == "lab"


def test_comments_are_not_read():
    assert conf_value(b"# SlurmUser=x\n", "SlurmUser") is None
    assert conf_value(b"ClusterName=a # SlurmUser=x\n", "SlurmUser") is None
    assert conf_value(b"SlurmUser=a\n#SlurmUser=b\n", "SlurmUser") == "a"


def test_absent_or_no_content_is_none():
    assert conf_value(CONF, "AuthType") is None
    assert conf_value(b"", "SlurmUser") is None
    assert conf_value(None, "SlurmUser") is None


def test_a_key_is_not_a_suffix_or_prefix_of_another():
    assert conf_value(b"SlurmUserName=x\nMySlurmUser=y\n", "SlurmUser") is None
    assert conf_value(b"SlurmdPort=6818\n", "Port") is None


def test_windows_line_ends_and_tabs():
    assert conf_value(b"ClusterName=a\r\n\tSlurmUser=slurm\r\n", "SlurmUser") == "slurm"


def test_empty_value():
    assert conf_value(b"SlurmUser=\n", "SlurmUser") == ""


def test_spaces_around_the_equals_sign():
    assert conf_value(b"SlurmUser = slurm\n", "SlurmUser") == "slurm"
    assert conf_value(b"SlurmdPort= 6818\n", "SlurmdPort") == "6818"


def test_quoted_values():
    assert conf_value(b'SlurmUser="slurm"\n', "SlurmUser") == "slurm"
    assert conf_value(b'SlurmdPort="6818"\n', "SlurmdPort") == "6818"
