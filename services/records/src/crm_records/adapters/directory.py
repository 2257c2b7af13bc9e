"""What records asks other services: stage contexts and funnels' stages from pipeline (cached), users
from identity.

Stage contexts and the stages of a funnel (the board's columns) are cached per company for `ttl`
seconds and dropped at once when pipeline announces FunnelChanged or FieldsChanged for the
company (see entrypoints/consumer.py). Calls carry the caller's token; background work signs a
service token for the company instead.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import grpc

from crm_platform.auth import TokenSigner
from crm_platform.context import Principal
from crm_platform.errors import AppError, FieldCollector, NotFound
from crm_platform.rpc import call_metadata, make_channel, service_config
from crm_records.domain.model import BoardStage, FieldDef, Rules, StageContext

PIPELINE_SERVICE = "crm.pipeline.v1.PipelineService"
DIRECTORY_SERVICE = "crm.identity.v1.DirectoryService"


# The board's stages when the cache lacks them. Without waiting for a pipeline that is known to be
# down (its channel in TRANSIENT_FAILURE: gRPC then fails the call at once, and the channel's retry
# policy tries twice more within ~0.5 s), and at most this long for one that hangs: under the
# gateway's 2 s deadline, so the caller gets records' 503 `service_unavailable`, not a timeout.
FUNNEL_TIMEOUT = 1.0


class DependencyUnavailable(AppError):
    """A service records depends on did not answer (HTTP 503)."""

    status = grpc.StatusCode.UNAVAILABLE


def _token(principal: Principal, signer: TokenSigner | None, callee: str) -> str:
    """The user's own token inside a user's request; outside one (the consumer), a service token of
    records for `callee` (which grants what `crm_platform.service_calls` lists, nothing else)."""
    if principal.token and principal.kind == "user":
        return principal.token
    if signer is None:
        raise DependencyUnavailable("service_unavailable", "No credentials for a background call")
    return signer.sign_service(caller="records", callee=callee, company_id=principal.company_id,
                               user_id=principal.user_id or "system", ttl=_dt.timedelta(minutes=5))


def _unavailable(exc: grpc.RpcError, what: str) -> DependencyUnavailable:
    return DependencyUnavailable("service_unavailable", f"{what} did not answer: {exc.code().name}")


class _Generations:
    """How many times each company's cache was invalidated: an answer fetched before an invalidation
    (the change raced the fetch) must not be stored after it."""

    def __init__(self):
        self._counts: dict[str, int] = {}

    def bump(self, company_id: str) -> None:
        self._counts[company_id] = self._counts.get(company_id, 0) + 1

    def of(self, company_id: str) -> int:
        return self._counts.get(company_id, 0)


class StageDirectory:
    """Stage contexts, default stages and funnels' stages from pipeline, cached per company."""

    def __init__(self, address: str, ttl: float = 60.0, timeout: float = 3.0, signer: TokenSigner | None = None):
        self.address = address
        self.ttl = ttl
        self.timeout = timeout
        self.signer = signer
        self._channel = None
        self._stub = None
        self._lock = threading.Lock()
        self._contexts: dict[tuple[str, str], tuple[float, StageContext]] = {}
        self._defaults: dict[tuple[str, str], tuple[float, str]] = {}
        self._funnels: dict[tuple[str, str], tuple[float, tuple[BoardStage, ...]]] = {}
        self._generations = _Generations()
        self.trusted: Callable[[], bool] = lambda: True  # False: changes could go unnoticed, keep nothing

    def _pipeline(self):
        from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc

        with self._lock:
            if self._stub is None:
                self._channel = make_channel(self.address, service_config(
                    [PIPELINE_SERVICE], [(PIPELINE_SERVICE, m) for m in ("GetStageContext", "GetDefaultStage",
                                                                          "GetFunnel")]))
                self._stub = pgrpc.PipelineServiceStub(self._channel)
            return self._stub

    def _call(self, method: str, request, principal: Principal, timeout: float | None = None,
              wait_for_ready: bool = True):
        return getattr(self._pipeline(), method)(request, timeout=timeout or self.timeout,
                                                 wait_for_ready=wait_for_ready,
                                                 metadata=call_metadata(_token(principal, self.signer, "pipeline")))

    def invalidate(self, company_id: str) -> None:
        """Forget everything cached for a company (its funnel, fields or rules changed)."""
        with self._lock:
            self._generations.bump(company_id)
            for cache in (self._contexts, self._defaults, self._funnels):
                for key in [k for k in cache if k[0] == company_id]:
                    cache.pop(key, None)

    def context(self, principal: Principal, stage_id: str, timeout: float | None = None) -> StageContext | None:
        """The stage's context, or None when the stage is not in the caller's company."""
        return self._cached(self._contexts, (principal.company_id, stage_id),
                            lambda: self._fetch_context(principal, stage_id, timeout))

    def cached_context(self, principal: Principal, stage_id: str) -> StageContext | None:
        """The stage's context when a fresh one is cached, else None (nothing is fetched)."""
        hit = self._contexts.get((principal.company_id, stage_id))
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def _cached(self, cache: dict, key: tuple[str, str], fetch: Callable[[], Any]):
        """The cached value of `key`, else `fetch()`'s, kept unless None (or raced by an invalidation)."""
        hit = cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        generation = self._generations.of(key[0])
        value = fetch()
        if value is not None:
            self._keep(cache, key, value, generation)
        return value

    def _keep(self, cache: dict, key: tuple[str, str], value, generation: int) -> None:
        with self._lock:
            if self.trusted() and self._generations.of(key[0]) == generation:
                cache[key] = (time.monotonic() + self.ttl, value)

    def resolve(self, principal: Principal, errors: FieldCollector, stage_id: str, entity: str,
                field_name: str = "stage_id") -> StageContext | None:
        """The context of a stage the caller named (or the default one); a field error when unusable."""
        if not stage_id:
            stage_id = self.default_stage_id(principal, entity)
        ctx = self.context(principal, stage_id)
        if ctx is None or ctx.entity != entity:
            errors.add(field_name, "unknown_reference")
            return None
        return ctx

    def require(self, principal: Principal, stage_id: str) -> StageContext:
        """The context of a stage a stored record is in (it must exist)."""
        ctx = self.context(principal, stage_id)
        if ctx is None:
            raise NotFound("stage_not_found", "The record's stage no longer exists", stage_id=stage_id)
        return ctx

    def default_stage_id(self, principal: Principal, entity: str) -> str:
        """Where new records of `entity` go when no stage is given."""
        return self._cached(self._defaults, (principal.company_id, entity),
                            lambda: self._fetch_default(principal, entity))

    def funnel_stages(self, principal: Principal, funnel_id: str) -> tuple[BoardStage, ...]:
        """The stages of one of the caller's funnels in its order (groups, then positions).

        Raises NotFound `funnel_not_found` for a funnel that is missing or another company's (not cached).
        """
        return self._cached(self._funnels, (principal.company_id, funnel_id),
                            lambda: self._fetch_funnel_stages(principal, funnel_id))

    def _fetch_context(self, principal: Principal, stage_id: str, timeout: float | None = None) -> StageContext | None:
        from crm.pipeline.v1 import pipeline_service_pb2 as ppb

        try:
            resp = self._call("GetStageContext", ppb.GetStageContextRequest(stage_id=stage_id), principal, timeout)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise _unavailable(exc, "pipeline") from exc
        return StageContext(
            stage_id=resp.stage.id, funnel_id=resp.stage.funnel_id, group_key=resp.stage.group_key,
            entity=resp.entity, name=resp.stage.name, color=resp.stage.color, funnel_version=resp.funnel_version,
            fields={f.key: FieldDef(f.key, f.type, tuple(f.options), f.name) for f in resp.fields},
            rules=Rules(tuple(resp.rules.required), tuple(resp.rules.one_time), tuple(resp.rules.autodate),
                        tuple(resp.rules.autonumber)))

    def _fetch_funnel_stages(self, principal: Principal, funnel_id: str) -> tuple[BoardStage, ...]:
        from crm.pipeline.v1 import pipeline_service_pb2 as ppb

        try:  # a read with nothing to show without the stages: fail at once when pipeline is known down
            funnel = self._call("GetFunnel", ppb.GetFunnelRequest(id=funnel_id), principal,
                                timeout=FUNNEL_TIMEOUT, wait_for_ready=False).funnel
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("funnel_not_found", "Funnel not found") from exc
            raise _unavailable(exc, "pipeline") from exc
        return tuple(BoardStage(stage_id=s.id, name=s.name, color=s.color, group_key=g.key)
                     for g in funnel.groups for s in g.stages)

    def _fetch_default(self, principal: Principal, entity: str) -> str:
        from crm.pipeline.v1 import pipeline_service_pb2 as ppb

        try:
            return self._call("GetDefaultStage", ppb.GetDefaultStageRequest(entity=entity), principal).stage.id
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("funnel_not_found", f"The company has no {entity} funnel") from exc
            raise _unavailable(exc, "pipeline") from exc


@dataclass(frozen=True)
class UserInfo:
    """What records keeps of a user: whether they may be responsible, and their name for display."""

    id: str
    name: str
    active: bool


class UserDirectory:
    """Users of the company, from identity's DirectoryService.BatchGetUsers, cached per user.

    An entry lives `ttl` seconds and is dropped at once when identity announces UserUpdated or
    UserDeactivated for that user (entrypoints/consumer.py), so a deactivated user stops being
    accepted as responsible within the event's delivery time (~0.1-0.3 s), at worst `ttl`.
    """

    def __init__(self, address: str, timeout: float = 3.0, signer: TokenSigner | None = None, ttl: float = 60.0):
        self.address = address
        self.timeout = timeout
        self.signer = signer
        self.ttl = ttl
        self._stub = None
        self._lock = threading.Lock()
        self._users: dict[tuple[str, str], tuple[float, UserInfo]] = {}
        self._generations = _Generations()
        self.trusted: Callable[[], bool] = lambda: True  # False: changes could go unnoticed, keep nothing

    def _directory(self):
        from crm.identity.v1 import identity_service_pb2_grpc as igrpc

        with self._lock:
            if self._stub is None:
                channel = make_channel(self.address, service_config(
                    [DIRECTORY_SERVICE], [(DIRECTORY_SERVICE, "BatchGetUsers")]))
                self._stub = igrpc.DirectoryServiceStub(channel)
            return self._stub

    def invalidate(self, company_id: str, user_id: str = "") -> None:
        """Forget a user (or every user of a company)."""
        with self._lock:
            self._generations.bump(company_id)
            for key in [k for k in self._users if k[0] == company_id and (not user_id or k[1] == user_id)]:
                self._users.pop(key, None)

    def users(self, principal: Principal, ids: set[str], timeout: float | None = None) -> dict[str, UserInfo]:
        """The users of the caller's company among `ids` (unknown ids are left out)."""
        ids = {i for i in ids if i}
        now = time.monotonic()
        found: dict[str, UserInfo] = {}
        missing = []
        for user_id in ids:
            hit = self._users.get((principal.company_id, user_id))
            if hit and hit[0] > now:
                found[user_id] = hit[1]
            else:
                missing.append(user_id)
        if missing:
            from crm.identity.v1 import identity_service_pb2 as ipb

            generation = self._generations.of(principal.company_id)
            try:
                resp = self._directory().BatchGetUsers(
                    ipb.BatchGetUsersRequest(ids=sorted(missing)), timeout=timeout or self.timeout,
                    metadata=call_metadata(_token(principal, self.signer, "identity")), wait_for_ready=True)
            except grpc.RpcError as exc:
                raise _unavailable(exc, "identity") from exc
            fetched = {u.id: UserInfo(u.id, f"{u.first_name} {u.last_name}".strip(), u.active) for u in resp.users}
            expires = time.monotonic() + self.ttl
            with self._lock:
                if self.trusted() and self._generations.of(principal.company_id) == generation:
                    if len(self._users) > 100_000:
                        self._users.clear()
                    for user_id, user in fetched.items():  # unknown ids are asked again next time
                        self._users[(principal.company_id, user_id)] = (expires, user)
            found.update(fetched)
        return found

    def successor(self, principal: Principal, user_id: str) -> str:
        """Who takes over the work of the deactivated `user_id` (`service_layer.deactivation`), asked of
        identity afresh: the user who deactivated them (`principal.user_id`, the event's actor) while
        that is another active user of the company, else the company's longest-standing active
        administrator other than them; "" when there is none."""
        from crm.identity.v1 import identity_service_pb2 as ipb

        actor = principal.user_id
        if actor and actor not in ("system", user_id):
            self.invalidate(principal.company_id, actor)
            found = self.users(principal, {actor}).get(actor)
            if found is not None and found.active:
                return actor
        md = call_metadata(_token(principal, self.signer, "identity"))
        try:
            roles = self._directory().ListRoles(ipb.ListRolesRequest(), timeout=self.timeout, metadata=md,
                                                wait_for_ready=True).roles
            users = self._directory().ListUsers(ipb.ListUsersRequest(), timeout=self.timeout, metadata=md,
                                                wait_for_ready=True).users
        except grpc.RpcError as exc:
            raise _unavailable(exc, "identity") from exc
        admin_roles = {r.id for r in roles if r.permissions.admin}
        admins = sorted((u.created_at, u.id) for u in users if u.active and u.role_id in admin_roles
                        and u.id != user_id)
        return admins[0][1] if admins else ""

    def check_responsible(self, principal: Principal, errors: FieldCollector, user_id: str,
                          field_name: str = "responsible_id") -> None:
        """Record a field error unless `user_id` is an active user of the caller's company."""
        user = self.users(principal, {user_id}).get(user_id)
        if user is None:
            errors.add(field_name, "unknown_reference")
        elif not user.active:
            errors.add(field_name, "user_inactive")
