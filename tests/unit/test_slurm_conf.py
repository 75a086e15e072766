"""slurm_conf: a fetched slurm.conf read the way Slurm reads it (keys in any case, comments,
continuations, the last value winning, records and lists, includes), which decides whose
pushes are trusted (SlurmUser), where pushes arrive (SlurmdPort), and what the settings facts
say."""

from _slurm.messages import ConfigFile
from _slurm.facts import settings_fact
from _slurm.slurm_conf import includes, settings
from _slurm.slurm_conf import value as conf_value

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


def test_settings_in_slurms_spelling_with_records_and_lists():
    conf = b"""clustername=lab
SlurmctldHost=ctl1(10.0.0.1)
SLURMCTLDHOST=ctl2
NodeName=n[1-4] CPUs=2 State=UNKNOWN
nodename=gpu1 Gres=gpu:4 Feature="a b"
PartitionName=debug Nodes=ALL Default=YES
Prolog=one.sh
Prolog=two.sh
SlurmctldPort=6817 SlurmdPort=6818
ClusterName=final
"""
    got = settings("slurm.conf", {"slurm.conf": conf}.get)
    assert got["ClusterName"] == "final"
    assert got["SlurmctldHost"] == ["ctl1(10.0.0.1)", "ctl2"]
    assert got["NodeName"] == [{"NodeName": "n[1-4]", "CPUs": "2", "State": "UNKNOWN"},
                               {"NodeName": "gpu1", "Gres": "gpu:4", "Feature": "a b"}]
    assert got["PartitionName"] == [{"PartitionName": "debug", "Nodes": "ALL", "Default": "YES"}]
    assert got["Prolog"] == ["one.sh", "two.sh"]
    assert got["SlurmctldPort"] == "6817" and got["SlurmdPort"] == "6818"
    assert "Port" not in got and "CPUs" not in got


def test_includes_are_followed_through_the_fetched_files():
    files = [ConfigFile("slurm.conf", b"ClusterName=lab\ninclude nodes.conf\nInclude /etc/slurm/parts.conf\n"
                        b"Include missing.conf\n", True, False),
             ConfigFile("nodes.conf", b"NodeName=n1\nSlurmUser=slurm\n", True, False),
             ConfigFile("parts.conf", b"PartitionName=p Nodes=n1\n", True, False),
             ConfigFile("topology.conf", None, False, False)]
    got = settings_fact(files)
    assert got == {"ClusterName": "lab", "NodeName": [{"NodeName": "n1"}], "SlurmUser": "slurm",
                   "PartitionName": [{"PartitionName": "p", "Nodes": "n1"}]}
    assert includes(files[0].content) == ["nodes.conf", "/etc/slurm/parts.conf", "missing.conf"]
    assert settings_fact([]) == {}


def test_an_include_loop_ends():
    assert settings("a.conf", {"a.conf": b"X=1\nInclude b.conf\n", "b.conf": b"Include a.conf\n"}.get) == {"X": "1"}


def test_escaped_hashes_and_continued_lines():
    conf = b"MailProg=/bin/mail\\#x # comment\nSchedulerParameters=a,\\\nb\n"
    got = settings("slurm.conf", {"slurm.conf": conf}.get)
    assert got == {"MailProg": "/bin/mail#x", "SchedulerParameters": "a,b"}
