#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: config_facts
short_description: Fetch Slurm's configuration from slurmctld, the way configless slurmd does
version_added: 1.0.0
description:
  - Sends slurmctld the C(REQUEST_CONFIG) RPC that configless C(slurmd) and C(sackd) send, and
    returns the configuration files it answers with as facts.
  - Needs no Slurm daemon and no Slurm binaries on the target, only Python 3.8 or newer and
    its standard library (see the requirements for the two exceptions).
  - Speaks every Slurm release from 20.11 to 26.11 and finds the protocol version by itself.
  - Changes nothing on the target, so it also runs in check mode; use the
    M(straw.slurm.config_files) module or the P(straw.slurm.configless#role) role to write the files.
requirements:
  - Python 3.8 or newer on the target.
  - PyJWT on the target, only to mint a token there from O(jwt_key), or to sign auth/slurm
    tokens with O(slurm_key) or O(slurm_jwks).
  - dnspython on the target, only to find the controllers in DNS SRV records (O(servers) empty).
author:
  - straw.slurm developers (@straw-slurm)
options:
  servers:
    description:
      - Controllers to ask, in order, as V(host), V(host:port), V([ipv6]) or V([ipv6]:port).
      - The port defaults to 6817. The next controller is tried when one cannot be reached,
        does not answer, or is a backup in standby.
      - When empty, the controllers come from the DNS SRV records C(_slurmctld._tcp) (see
        O(srv_domain)), lowest priority first, as slurmd finds them. That needs dnspython.
    type: list
    elements: str
    default: []
  srv_domain:
    description:
      - Look up C(_slurmctld._tcp.<srv_domain>) instead of the resolver's search list.
    type: str
  srv_nameservers:
    description:
      - Name servers (V(address) or V(address:port)) to ask for the SRV records instead of
        the system's.
    type: list
    elements: str
    default: []
  auth:
    description:
      - How to authenticate. V(munge) encodes a credential through the local munged; V(jwt)
        sends a token (auth/jwt must be in the controller's C(AuthAltTypes)).
      - V(slurm) (Slurm 23.11+, C(AuthType=auth/slurm)) signs a fresh token for every request with
        O(slurm_key) or a key of O(slurm_jwks) (with PyJWT on the target), or, without a key,
        asks the local sack socket (of sackd or slurmd) to mint one.
    type: str
    choices: [munge, jwt, slurm]
    default: munge
  munge_socket:
    description:
      - Path of munged's socket. Defaults to C(/run/munge/munge.socket.2), then
        C(/var/run/munge/munge.socket.2).
      - Mutually exclusive with O(munge_key_path).
    type: path
  munge_key_path:
    description:
      - Path on the target of the cluster's C(munge.key). With it, O(auth=munge) makes its
        credentials from the key itself, in Python, and needs no munged on the target (image
        builds, containers).
      - The key may be a symlink (Kubernetes mounts secrets so); a key that its group or
        others can read is refused before any connection, as munged refuses it.
      - Whoever holds this key is root on the cluster. It is read on the target and never
        leaves it, and never appears in results or messages.
    type: path
  versions_cache:
    description:
      - Remember the protocol version each controller accepted in this file on the target
        (V(/var/cache/straw-slurm/versions) for root, else under C(~/.cache)), so that the next
        run needs one connection instead of a negotiation. It holds host, port and version
        only. A corrupt or foreign file is ignored; a remembered version that fails sends the
        module back to negotiating. Not written in check mode. An empty string turns it off.
    type: path
  jwt_token:
    description:
      - The token for O(auth=jwt), for example from C(scontrol token) or the
        P(straw.slurm.jwt_token#lookup) lookup. When neither this nor O(jwt_key) is set, the
        C(SLURM_JWT) environment variable of the module is used.
    type: str
  jwt_key:
    description:
      - Path on the target of the cluster's C(jwt_hs256.key) (C(AuthAltParameters=jwt_key=)), to
        mint a short-lived HS256 token there for O(auth=jwt), the way C(scontrol token) does (see
        O(jwt_user) and O(jwt_lifetime)). Needs PyJWT on the target.
      - Anyone holding this key is root on the cluster. Prefer the P(straw.slurm.jwt_token#lookup)
        lookup, which mints the token on the Ansible controller, and pass its token as
        O(jwt_token); then the key never reaches the targets.
    type: path
  slurm_key:
    description:
      - Path of the cluster's C(slurm.key) for O(auth=slurm). Defaults to C(/etc/slurm/slurm.key)
        (or C(SLURM_SACK_KEY)) when readable. Anyone holding this key is root on the cluster.
    type: path
  slurm_jwks:
    description:
      - Path of the cluster's C(slurm.jwks) for O(auth=slurm), instead of O(slurm_key). The key
        is chosen by O(slurm_kid), else the one marked C(use=default).
    type: path
  slurm_kid:
    description: The C(kid) of the key in O(slurm_jwks) to sign with.
    type: str
  sack_socket:
    description:
      - Path of a sack socket to get tokens from for O(auth=slurm), instead of a key. Defaults to
        C(SLURM_SACK_SOCKET), then C(/run/slurm/sack.socket), C(/run/slurmctld/sack.socket).
    type: path
  request:
    description:
      - V(slurmd) asks for the full set slurmd gets (and its spool directory); the controller
        grants it only to root or SlurmUser.
      - V(client) asks for the set Slurm's commands get; any authenticated user may have it.
    type: str
    choices: [slurmd, client]
    default: slurmd
  protocol:
    description:
      - V(auto) finds the newest protocol version the controller accepts. A release such as
        V(22.05) skips the probing.
    type: str
    default: auto
  timeout:
    description:
      - Seconds allowed for each controller (connect and reply).
      - A controller that took the connection but did not answer in time is given twice as long
        at the next pass, up to 120 seconds, so that hosts queued at a busy controller stay in
        its queue. The only controller given is given all the time O(retry_for) has left.
    type: float
    default: 10
  retries:
    description:
      - How many passes to make over the list of controllers before giving up; between passes
        the module waits up to 1, 2, 4... seconds, drawn at random so that hosts that failed
        together do not try again together.
    type: int
    default: 1
  retry_for:
    description:
      - Keep passing over the controllers for this many seconds while none answers and what
        failed may pass (a controller down, busy, in standby, or stalled by many hosts at once,
        as after a power cut), waiting longer each time, at random, up to 30 seconds.
      - V(0) makes no more than O(retries) passes.
    type: float
    default: 0
    version_added: 1.1.0
  tls:
    description:
      - Speak TLS to the controllers (Slurm 25.05+ with C(TLSType=tls/s2n)). Needs O(tls_ca).
    type: bool
    default: false
  tls_ca:
    description: The cluster's CA certificate (C(ca_cert.pem)); the controller's chain is verified against it.
    type: path
  tls_check_hostname:
    description:
      - Also check that the certificate names the controller. Slurm itself checks only the chain.
    type: bool
    default: false
notes:
  - The facts carry the files' contents; they are not secrets, but they can be large.
seealso:
  - module: straw.slurm.config_files
    description: Writes the files this module returns, atomically, with their owners and modes.
  - plugin: straw.slurm.jwt_token
    plugin_type: lookup
    description: >-
      Mints the token for O(jwt_token) on the Ansible controller, so that C(jwt_hs256.key)
      stays there.
  - name: Slurm's configless documentation
    link: https://slurm.schedmd.com/configless_slurm.html
    description: How a cluster serves its configuration (C(SlurmctldParameters=enable_configless)).
attributes:
  check_mode:
    support: full
    description: Fetching changes nothing, so it runs the same in check mode.
  diff_mode:
    support: none
  facts:
    support: full
  idempotent:
    support: full
    description: Fetching never changes anything, so it never reports a change.
  platform:
    platforms: posix
extends_documentation_fragment:
  - straw.slurm.jwt
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
"""

EXAMPLES = r"""
- name: Fetch the configuration with munge, as slurmd would
  straw.slurm.config_facts:
    servers: [ctl1.example.org, ctl2.example.org]

- name: Fetch the client set with a token minted on the Ansible controller
  straw.slurm.config_facts:
    servers: ["[2001:db8::10]:6817"]
    auth: jwt
    jwt_token: "{{ lookup('straw.slurm.jwt_token', jwt_key='/secrets/jwt_hs256.key') }}"
    request: client

- name: Show what slurm.conf says
  ansible.builtin.debug:
    msg: "{{ ansible_facts['slurm_config']['files']['slurm.conf']['content'] }}"

- name: Use its settings without parsing it
  ansible.builtin.debug:
    msg: >-
      Cluster {{ ansible_facts['slurm_config']['settings']['ClusterName'] }},
      controllers {{ ansible_facts['slurm_config']['settings']['SlurmctldHost'] | join(', ') }},
      partitions {{ ansible_facts['slurm_config']['settings']['PartitionName']
                    | map(attribute='PartitionName') | join(', ') }}
"""

RETURN = r"""
ansible_facts:
  description: Facts about the fetched configuration.
  returned: success
  type: dict
  contains:
    slurm_config:
      description: The configuration the controller sent.
      type: dict
      contains:
        files:
          description:
            - The files, keyed by name. Files the controller reports as absent are listed with
              C(exists=false); they are not there on the controller.
            - Each value has C(exists), C(executable) (a Prolog or Epilog script), C(content)
              (the text; null when absent or not UTF-8), C(content_base64) (set only when the
              bytes are not valid UTF-8), C(sha256) and C(size).
          type: dict
          sample:
            slurm.conf: {exists: true, executable: false, content: "ClusterName=lab\n",
                         content_base64: null, sha256: "5d1...", size: 16}
            topology.conf: {exists: false, executable: false, content: null,
                            content_base64: null, sha256: null, size: null}
        settings:
          description:
            - The settings of C(slurm.conf), parsed the way Slurm reads them, with its C(Include)
              lines followed through the fetched files. Empty when no C(slurm.conf) was sent.
            - Keys match in any case and are given in Slurm's spelling (C(clustername=lab) is
              C(ClusterName)); a value in double quotes is taken without them; the last value of a
              key wins. Values are strings.
            - C(NodeName), C(PartitionName), C(NodeSet), C(DownNodes), C(PowerAction) and
              C(FrontendName) lines are lists of records, one dict of the line's pairs each, as
              written. C(SlurmctldHost), C(Prolog), C(Epilog), C(PrologSlurmctld) and
              C(EpilogSlurmctld) are lists of strings.
          type: dict
          sample:
            ClusterName: lab
            SlurmctldHost: ["ctl1(10.0.0.1)", "ctl2(10.0.0.2)"]
            SlurmUser: slurm
            NodeName: [{NodeName: "n[1-4]", CPUs: "2", State: UNKNOWN}]
            PartitionName: [{PartitionName: debug, Nodes: ALL, Default: "YES"}]
        spool_dir:
          description: The controller's C(SlurmdSpoolDir); only with O(request=slurmd).
          type: str
          sample: /var/spool/slurmd
        controller:
          description: The controller that answered, as C(host:port).
          type: str
          sample: ctl1.example.org:6817
        release:
          description: The Slurm release whose protocol was spoken.
          type: str
          sample: "24.11"
        protocol_version:
          description: The protocol version that was spoken, as Slurm numbers it.
          type: int
          sample: 10752
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.straw.slurm.plugins.module_utils._target_python import TOO_OLD

# The library needs Python 3.8 or newer: on an older one it is not imported, and main says so
# in one line instead of a SyntaxError from inside the library.
if TOO_OLD is None:
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.auth.choose import credentials_for
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.client import Session
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.known_versions import default_path
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.transport import Network
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.errors import (
        MissingLibraryError, SlurmConfigError, worded)
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.facts import (
        files_as_facts, settings_fact)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            servers=dict(type='list', elements='str', default=[]),
            srv_domain=dict(type='str'),
            srv_nameservers=dict(type='list', elements='str', default=[]),
            auth=dict(type='str', default='munge', choices=['munge', 'jwt', 'slurm']),
            munge_socket=dict(type='path'),
            munge_key_path=dict(type='path', no_log=False),
            versions_cache=dict(type='path'),
            jwt_token=dict(type='str', no_log=True),
            jwt_key=dict(type='path', no_log=False),
            jwt_user=dict(type='str', default='slurm'),
            jwt_lifetime=dict(type='int', default=300),
            slurm_key=dict(type='path', no_log=False),
            slurm_jwks=dict(type='path'),
            slurm_kid=dict(type='str'),
            sack_socket=dict(type='path'),
            request=dict(type='str', default='slurmd', choices=['slurmd', 'client']),
            protocol=dict(type='str', default='auto'),
            timeout=dict(type='float', default=10),
            retries=dict(type='int', default=1),
            retry_for=dict(type='float', default=0),
            tls=dict(type='bool', default=False),
            tls_ca=dict(type='path'),
            tls_check_hostname=dict(type='bool', default=False),
        ),
        mutually_exclusive=[('jwt_token', 'jwt_key'), ('slurm_key', 'slurm_jwks'),
                            ('munge_socket', 'munge_key_path')],
        required_if=[('tls', True, ['tls_ca'])],
        supports_check_mode=True,
    )
    if TOO_OLD:
        module.fail_json(msg=TOO_OLD)
    p = module.params
    notes = []
    try:
        credentials = credentials_for(p['auth'], munge_socket=p['munge_socket'],
                                      munge_key=p['munge_key_path'],
                                      slurmd_set=p['request'] == 'slurmd',
                                      jwt_token=p['jwt_token'], jwt_key=p['jwt_key'],
                                      jwt_user=p['jwt_user'], jwt_lifetime=p['jwt_lifetime'],
                                      slurm_key=p['slurm_key'],
                                      slurm_jwks=p['slurm_jwks'], slurm_kid=p['slurm_kid'],
                                      sack_socket=p['sack_socket'],
                                      timeout=min(p['timeout'], 10), warnings=notes)
        servers = p['servers']
        if not servers:  # DNS SRV: the resolver is loaded only where it is used
            from ansible_collections.straw.slurm.plugins.module_utils._slurm.discovery import lookup
            servers = lookup(p['srv_domain'], p['srv_nameservers'], p['timeout'])
        tls = None
        if p['tls']:  # ssl is imported only where TLS is used
            from ansible_collections.straw.slurm.plugins.module_utils._slurm.tls import client_context
            tls = client_context(p['tls_ca'], p['tls_check_hostname'])
        session = Session(servers, credentials, request=p['request'], protocol=p['protocol'],
                          timeout=p['timeout'], retries=p['retries'], retry_for=p['retry_for'],
                          network=Network(tls),
                          versions_path=default_path() if p['versions_cache'] is None
                          else p['versions_cache'], remember=not module.check_mode)
        result = session.fetch()
    except MissingLibraryError as exc:
        module.fail_json(msg=missing_required_lib(exc.library, reason=exc.purpose))
    except SlurmConfigError as exc:
        module.fail_json(msg=str(exc))
    for warning in notes + result.warnings:
        module.warn(worded(warning))
    module.exit_json(changed=False, ansible_facts={'slurm_config': {
        'files': files_as_facts(result.files),
        'settings': settings_fact(result.files),
        'spool_dir': result.spool_dir,
        'controller': result.controller,
        'release': result.release,
        'protocol_version': result.protocol_version,
    }})


if __name__ == '__main__':
    main()
