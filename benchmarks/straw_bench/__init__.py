"""The sections of benchmarks/run, one module each (wire, command, sizes, playbooks, users,
munge, watch, fleet), each measuring and then reporting its part of RESULTS.md; measuring holds
what they share, results the document around them."""
