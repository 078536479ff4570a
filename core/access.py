"""The access-policy mechanism: one table of role × operation, enforced by one dependency.

The table itself names every domain's routes, so it lives in the composition root
(hotline/policy.py) and is handed over with `use_policy`. The app applies `guard` to every
route: an operation missing from the table is refused (403 `no_policy`), a caller without a
token gets 401, a role the table does not name 403. Object rules are checks of the route's
path parameters (e.g. `ticket_id`: the technician holds the ticket) for the roles a rule
names in `own`; the domain supplies them and the table says where they apply. The console's
pages are in the same table (`page` rules): the console's own guard applies them to a login
session (`page_admits`), since a browser sends a cookie, not a token.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from core.auth import Principal, Role, authorize, bearer_token
from core.deps import DB
from core.errors import ApiError

# (session, caller, path parameter value) -> whether the caller may act on that object.
ObjectCheck = Callable[[Session, Principal, str], bool]
# (session, request) -> the person a browser's login session belongs to, or None.
BrowserLogin = Callable[[Session, HTTPConnection], Principal | None]


@dataclass(frozen=True)
class Rule:
    """Who may call one operation: roles; `public` needs no token (e.g. a signed link);
    callers of a role in `own` act only on objects they own (the path parameters that have an
    object check); `browser`: a page a person reads, so a browser's login session of one of the
    roles admits too (the API description: Swagger cannot send a token when it loads it);
    `page`: a console page, opened only with a console login session of one of the roles (no
    token reaches it)."""

    roles: frozenset[Role] = frozenset()
    public: bool = False
    own: frozenset[Role] = field(default_factory=frozenset)
    browser: bool = False
    page: bool = False


_policy: dict[str, Rule] | None = None
_object_checks: dict[str, ObjectCheck] = {}
_browser_login: BrowserLogin | None = None


def operation(method: str, path: str) -> str:
    """The table's key of an operation: 'GET /api/v1/tickets/{ticket_id}'."""
    return f"{method.upper()} {path}"


def use_policy(
    policy: Mapping[str, Rule],
    object_checks: Mapping[str, ObjectCheck],
    browser_login: BrowserLogin | None = None,
) -> None:
    """Install the table, the object checks (keyed by path parameter name) and how a
    browser's login session is read (for `browser` rules)."""
    global _policy, _object_checks, _browser_login
    _policy = dict(policy)
    _object_checks = dict(object_checks)
    _browser_login = browser_login


def policy() -> dict[str, Rule]:
    """The installed table."""
    if _policy is None:
        raise RuntimeError("no access policy installed (hotline.policy.install)")
    return _policy


def rule_for(key: str) -> Rule:
    """The rule of an operation; 403 `no_policy` when the table does not name it."""
    rule = policy().get(key)
    if rule is None:
        raise ApiError(
            403, "no_policy", f"'{key}' has no entry in the access policy, so nobody may call it."
        )
    return rule


def route_path(conn: HTTPConnection) -> str:
    """The path the matched route declares, with its routers' prefixes ('/tickets/{ticket_id}');
    inside a mounted app, without the mount's prefix."""
    # A router included in another router: FastAPI keeps the route's own path on "route" and
    # the full one (with every prefix) on the effective route (empty there for WebSockets).
    context = conn.scope.get("fastapi", {}).get("effective_route_context")
    return getattr(context, "path_format", "") or conn.scope["route"].path_format


def _route_key(conn: HTTPConnection) -> str:
    return operation(conn.scope.get("method") or "WEBSOCKET", route_path(conn))


def page_admits(key: str, role: Role) -> bool:
    """Whether a console login of `role` may open page `key` (a public page admits anyone);
    403 `no_policy` when the table does not name it."""
    rule = rule_for(key)
    return rule.public or (rule.page and role in rule.roles)


def check(
    db: Session,
    key: str,
    plain: str | None,
    path_params: Mapping[str, str],
    rule: Rule | None = None,
) -> Principal | None:
    """Apply the rule of operation `key` (looked up unless given) to a token and the route's
    path parameters: the caller (None for a public operation), or a 401/403 ApiError."""
    rule = rule or rule_for(key)
    if rule.public:
        return None
    who = authorize(db=db, plain=plain, roles=tuple(rule.roles))
    if who.role in rule.own:
        for name, value in path_params.items():
            object_check = _object_checks.get(name)
            if object_check is not None and not object_check(db, who, str(value)):
                raise ApiError(
                    403,
                    "not_assigned",
                    f"{name} {value} is not one of your assignments: a {who.role.value} acts "
                    "only on their own.",
                )
    return who


def guard(conn: HTTPConnection, db: Session = DB) -> None:
    """Dependency the app applies to every HTTP route: enforce the table."""
    if conn.scope["type"] != "http":
        return  # WebSockets accept first and close with a code: they call `check` themselves
    key, plain = _route_key(conn), bearer_token(conn)
    rule = rule_for(key)
    if plain is None and rule.browser and _browser_login is not None:
        person = _browser_login(db, conn)
        if person is not None and person.role in rule.roles:
            conn.state.principal = person
            return
    conn.state.principal = check(db, key, plain, conn.path_params, rule)


def caller(conn: HTTPConnection) -> Principal:
    """Dependency: the principal `guard` admitted (routes whose rule needs a token)."""
    who = getattr(conn.state, "principal", None)
    if who is None:
        raise ApiError(
            401, "unauthenticated", "Missing API token: send 'Authorization: Bearer <token>'."
        )
    return who


def websocket_caller(db: Session, conn: HTTPConnection, plain: str | None) -> Principal:
    """The principal of a WebSocket's token under the table's rule for its route."""
    who = check(db, _route_key(conn), plain, conn.path_params)
    assert who is not None, "a WebSocket door is never public in the policy"
    return who
