# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""slurm.conf read the way Slurm reads it, for the watcher (SlurmUser, SlurmdPort) and for
the settings facts: so that a play can say `slurm_config.settings.ClusterName`.

Slurm's rules: '#' starts a comment unless escaped as '\\#'; a backslash at the end of a line
joins the next; a line holds one or more `Key=Value` pairs, with spaces allowed around '=',
a value in double quotes taken without them; keys match in any case, and the last value
of a key wins. Lines that start with NodeName, PartitionName, NodeSet, DownNodes or
PowerAction are records: the whole line describes one node, partition..., and every such
line is kept. SlurmctldHost, Prolog and Epilog lines add to a list. `Include FILE` reads
FILE as if its lines stood there; a fetched set holds the included files by bare name.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

#: Lines that each describe one thing; every such line is kept, as a dict of its pairs.
RECORDS = ("NodeName", "PartitionName", "NodeSet", "DownNodes", "PowerAction", "FrontendName")
#: Keys that may be given several times, each adding to a list.
LISTS = ("SlurmctldHost", "Prolog", "Epilog", "PrologSlurmctld", "EpilogSlurmctld")
#: Slurm's own spelling of the other keys of slurm.conf (read_config.c's table, 26.05), so
#: that `clustername=lab` is still `settings.ClusterName`; unknown keys keep their spelling.
KNOWN = """
    AccountingStorageBackupHost AccountingStorageEnforce AccountingStorageExternalHost
    AccountingStorageHost AccountingStorageParameters AccountingStoragePass AccountingStoragePort
    AccountingStorageTRES AccountingStorageType AccountingStorageUser AccountingStoreFlags
    AccountingStoreJobComment AcctGatherEnergyType AcctGatherFilesystemType
    AcctGatherInfinibandType AcctGatherInterconnectType AcctGatherNodeFreq AcctGatherProfileType
    AllowSpecResourcesUsage AuthAltParameters AuthAltTypes AuthInfo AuthType BackupAddr
    BackupController BatchStartTimeout BcastExclude BcastParameters BurstBufferParameters
    BurstBufferType CertgenType CertgenParameters CertmgrType CertmgrParameters
    CliFilterParameters CliFilterPlugins ClusterName CommunicationParameters CompleteWait
    ControlAddr ControlMachine CoreSpecPlugin CpuFreqDef CpuFreqGovernors CredType CryptoType
    DataParserParameters DebugFlags DefMemPerCPU DefMemPerNode DependencyParameters
    DisableRootJobs EioTimeout EnforcePartLimits EpilogMsgTime EpilogTimeout ExtSensorsFreq
    ExtSensorsType FairShareDampeningFactor FastSchedule FederationParameters FirstJobId
    GetEnvTimeout GpuFreqDef GresTypes GroupUpdateForce GroupUpdateTime HashPlugin
    HealthCheckInterval HealthCheckNodeState HealthCheckProgram HealthCheckTimeout HttpParserType
    InactiveLimit InteractiveStepOptions JobAcctGatherFrequency JobAcctGatherParams
    JobAcctGatherType JobCompHost JobCompLoc JobCompParams JobCompPass JobCompPassScript
    JobCompPort JobCompType JobCompUser JobContainerType JobCredentialPrivateKey
    JobCredentialPublicCertificate JobFileAppend JobRequeue JobSubmitPlugins KeepAliveTime
    KillOnBadExit KillWait LaunchParameters LaunchType LicenseParameters Licenses LogTimeFormat
    MailDomain MailProg MaxArraySize MaxBatchRequeue MaxDBDMsgs MaxJobCount MaxJobId MaxMemPerCPU
    MaxMemPerNode MaxNodeCount MaxStepCount MaxTasksPerNode MCSParameters MCSPlugin MessageTimeout
    MetricsAuthUsers MetricsParameters MetricsType MinJobAge MpiDefault MpiParams NamespaceType
    NodeFeaturesPlugins OverTimeLimit PluginDir PlugStackConfig PowerParameters PowerPlugin
    PreemptExemptTime PreemptMode PreemptParameters PreemptType PrEpParameters PrEpPlugins
    PriorityCalcPeriod PriorityDecayHalfLife PriorityFavorSmall PriorityFlags PriorityMaxAge
    PriorityParameters PrioritySiteFactorParameters PrioritySiteFactorPlugin PriorityType
    PriorityUsageResetPeriod PriorityWeightAge PriorityWeightAssoc PriorityWeightFairshare
    PriorityWeightJobSize PriorityWeightPartition PriorityWeightQOS PriorityWeightTRES PrivateData
    ProctrackType PrologEpilogTimeout PrologFlags PrologTimeout PropagatePrioProcess
    PropagateResourceLimits PropagateResourceLimitsExcept RebootProgram ReconfigFlags RequeueExit
    RequeueExitHold ResumeFailProgram ResumeProgram ResumeRate ResumeTimeout ResvEpilog
    ResvOverRun ResvProlog ReturnToService RoutePlugin SallocDefaultCommand SbcastParameters
    SchedulerParameters SchedulerTimeSlice SchedulerType ScronParameters SelectType
    SelectTypeParameters SlurmctldAddr SlurmctldDebug SlurmctldHttpAuthParameters
    SlurmctldLogFile SlurmctldParameters SlurmctldPidFile SlurmctldPort SlurmctldPrimaryOffProg
    SlurmctldPrimaryOnProg SlurmctldSyslogDebug SlurmctldTimeout SlurmdDebug
    SlurmdHttpAuthParameters SlurmdLogFile SlurmdParameters SlurmdPort SlurmdSpoolDir
    SlurmdSyslogDebug SlurmdTimeout SlurmdUser SlurmSchedLogFile SlurmSchedLogLevel SlurmUser
    SrunEpilog SrunPortRange SrunProlog StateSaveLocation SuspendExcNodes SuspendExcParts
    SuspendExcStates SuspendProgram SuspendRate SuspendTime SuspendTimeout SwitchParameters
    SwitchType TaskEpilog TaskPlugin TaskPluginParam TaskProlog TCPTimeout TLSParameters TLSType
    TmpFS TopologyParam TopologyPlugin TrackWCKey TreeWidth UnkillableStepProgram
    UnkillableStepTimeout UrlParserType UsePAM VSizeFactor WaitTime
"""
_SPELLING = {name.lower(): name for name in KNOWN.split() + list(RECORDS) + list(LISTS)}
_RECORDS = frozenset(name.lower() for name in RECORDS)
_LISTS = frozenset(name.lower() for name in LISTS)
#: Includes nested deeper than this are a loop (Slurm stops far earlier).
MAX_DEPTH = 16


def lines(text: str) -> "Iterator[str]":
    """The logical lines of a file: comments cut, continuations joined, blank lines left out."""
    pending = ""
    for raw in text.splitlines():
        kept = _uncomment(raw) if "#" in raw else raw
        if kept.endswith("\\"):
            pending += kept[:-1]
            continue
        line, pending = (pending + kept).strip(), ""
        if line:
            yield line
    if pending.strip():
        yield pending.strip()


def _uncomment(raw: str) -> str:
    """raw up to its first '#' that is not escaped, with '\\#' read as '#'."""
    out, index = [], 0
    while True:
        found = raw.find("#", index)
        if found < 0:
            out.append(raw[index:])
            break
        if found > 0 and raw[found - 1] == "\\":
            out.append(raw[index:found - 1] + "#")
            index = found + 1
            continue
        out.append(raw[index:found])
        break
    return "".join(out)


def pairs(line: str) -> "List[Tuple[str, str]]":
    """The Key=Value pairs of one logical line, in order ([] when it holds none)."""
    out = []
    rest = line
    while rest:
        key, equals, after = rest.partition("=")
        key = key.strip()
        if not equals or not key or any(c.isspace() for c in key):
            break  # not a pair: Slurm refuses the line; we keep what came before
        after = after.lstrip()
        if after.startswith('"'):
            value, _quote, rest = after[1:].partition('"')
        else:
            end = 0
            while end < len(after) and not after[end].isspace():
                end += 1
            value, rest = after[:end], after[end:]
        out.append((key, value))
        rest = rest.strip()
    return out


def settings(name: str, read: "Callable[[str], Optional[bytes]]") -> "Dict[str, Any]":
    """The settings of the file name and what it includes (read(name) gives a file's bytes,
    None when it is not there): plain keys to strings in Slurm's spelling, records and lists
    to lists, the last value of a plain key winning."""
    out: "Dict[str, Any]" = {}
    _read_into(out, name, read, 0)
    return out


def _read_into(out: "Dict[str, Any]", name: str, read: "Callable[[str], Optional[bytes]]",
               depth: int) -> None:
    content = read(name) if depth <= MAX_DEPTH else None
    if content is None:
        return
    for line in lines(content.decode("utf-8", "replace")):
        words = line.split(None, 1)
        if words[0].lower() == "include" and len(words) == 2:
            _read_into(out, words[1].strip().strip('"'), read, depth + 1)
            continue
        found = pairs(line)
        if not found:
            continue
        first = found[0][0].lower()
        if first in _RECORDS:
            record = {_SPELLING.get(key.lower(), key) if index == 0 else key: value
                      for index, (key, value) in enumerate(found)}
            out.setdefault(_SPELLING[first], []).append(record)
            continue
        for key, value in found:
            lower = key.lower()
            spelled = _SPELLING.get(lower, key)
            if lower in _LISTS:
                out.setdefault(spelled, []).append(value)
            else:
                out.pop(spelled, None)  # moved to the end: dicts keep the order keys were last set
                out[spelled] = value


def value(content: "Optional[bytes]", key: str) -> "Optional[str]":
    """The value of one plain key of one file (no includes followed), or None."""
    if not content:
        return None
    found = settings("slurm.conf", lambda _name: content).get(_SPELLING.get(key.lower(), key))
    return found if isinstance(found, str) else None


def includes(content: bytes) -> "List[str]":
    """The file names of a configuration's Include lines."""
    if b"nclude" not in content and b"NCLUDE" not in content:
        return []  # the common case, decided without splitting a large file into lines
    names = []
    for line in lines(content.decode("utf-8", "replace")):
        words = line.split(None, 1)
        if len(words) == 2 and words[0].lower() == "include":
            names.append(words[1].strip().strip('"'))
    return names
