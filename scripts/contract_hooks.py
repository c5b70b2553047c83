"""Schemathesis hooks for the contract test (ContractTests; docs/testing.md): request bodies of the
package media type, which schemathesis cannot make up by itself.

SCHEMATHESIS_HOOKS=contract_hooks (with PYTHONPATH=scripts). SEALGATE_CONTRACT_PACKAGES names, one per
line, files of sealed packages to send among the generated bodies (a unit's real package: accepted once,
then answered as a replay), beside random bytes and mangled copies of those files.
"""

import os

import schemathesis
from hypothesis import strategies as st

MEDIA_TYPE = "application/vnd.sealgate.package"


def _real_packages():
    listed = os.environ.get("SEALGATE_CONTRACT_PACKAGES", "")
    out = []
    for path in filter(None, listed.splitlines()):
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def _mangled(data):
    """One byte of a real package flipped, or the package cut short: refused with a code, never a 5xx."""
    return st.one_of(
        st.integers(min_value=0, max_value=len(data) - 1).map(lambda i: data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1 :]),
        st.integers(min_value=0, max_value=len(data)).map(lambda n: data[:n]),
    )


_packages = _real_packages()
_strategies = [st.binary(max_size=4096)]
if _packages:
    _strategies.append(st.sampled_from(_packages))
    _strategies.extend(_mangled(p) for p in _packages)

schemathesis.openapi.media_type(MEDIA_TYPE, st.one_of(*_strategies))
