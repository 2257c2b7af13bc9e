"""Identity use cases, one module each, composed into the one object the entrypoints call:

- `accounts`: sign-up, login, token refresh, logout, session checks;
- `passwords`: the reset request, the mail worker's tokens and e-mails, the reset itself;
- `directory`: users, groups and roles;
- `base`: what they share (units of work, the token signer, password hashing, issuing tokens).
"""

from __future__ import annotations

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm_platform.topics import topics_in
from crm_identity.service_layer.accounts import AccountUseCases
from crm_identity.service_layer.directory import DirectoryUseCases
from crm_identity.service_layer.passwords import PasswordUseCases

TOPICS = topics_in(ev)


class IdentityService(AccountUseCases, PasswordUseCases, DirectoryUseCases):
    """The identity use cases over one database."""
