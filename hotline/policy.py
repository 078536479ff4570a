"""The access policy: which role may call which operation, and on whose objects.

One table, keyed by 'METHOD /path' exactly as the routes declare them; core.access enforces
it for every route (hotline/app.py applies its guard), and an operation missing here is
refused. tests/test_access_policy.py calls every operation of the OpenAPI document as every
role and as a technician on someone else's objects, and fails on a route without an entry.
docs/security.md shows the table (`hotline access-policy` prints it).

Roles: admin, supervisor, agent, knowledge engineer, technician; PUBLIC needs no token (the
customer's signed link, health probes). `own=TECH`: a technician acts only on the objects
(path parameters in OBJECT_CHECKS) of their own open assignments.
"""

from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from console import accounts
from console.web import COOKIE
from core import access
from core.access import Rule
from core.auth import Principal, Role
from dispatch import ownership

ADMIN = Role.admin
SUP = Role.supervisor
AGENT = Role.agent
KE = Role.knowledge_engineer
TECH = Role.technician
ROLES = (ADMIN, SUP, AGENT, KE, TECH)


def allow(*roles: Role, own: Role | None = None) -> Rule:
    """A rule for roles; `own`: that role only on its own objects."""
    return Rule(roles=frozenset(roles), own=frozenset({own}) if own else frozenset())


PUBLIC = Rule(public=True)
STAFF = allow(*ROLES)  # any signed-in role
DESCRIPTION = Rule(roles=frozenset(ROLES), browser=True)  # a token, or a console login


def page(*roles: Role) -> Rule:
    """A console page for roles' console logins (no token opens it)."""
    return Rule(roles=frozenset(roles), page=True)


SIGNED_IN = page(*ROLES)  # any console login
DESK = page(ADMIN, SUP, AGENT)  # review queue, tickets, imports
CURATION = page(ADMIN, KE)  # the knowledge base
BOARDS = page(ADMIN, SUP)  # supervisors' boards
FIELD = page(TECH)  # the technician's app (like its API, the technician's own)
# Accounts, API tokens, webhooks and the phone read log: admins, as their API operations.
SYSTEM = page(ADMIN)

# Path parameter -> whose object it names (applies where a rule says own=).
OBJECT_CHECKS: dict[str, access.ObjectCheck] = {
    "ticket_id": ownership.owns_ticket,
    "assignment_id": ownership.owns_assignment,
    "reservation_id": ownership.owns_reservation,
    "order_id": ownership.owns_transfer,
    "tech_id": ownership.owns_technician,
    "hardware_id": ownership.owns_device,
}

POLICY: dict[str, Rule] = {
    # the API's own description (hotline/app.py serves it behind this rule): a token, or a
    # browser logged in to the console
    "GET /openapi.json": DESCRIPTION,
    "GET /docs": DESCRIPTION,
    "GET /redoc": DESCRIPTION,
    # health probes (core.health)
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    # core.auth_api
    "GET /api/v1/me": STAFF,
    "POST /api/v1/tokens": allow(ADMIN),
    "GET /api/v1/tokens": allow(ADMIN),
    "DELETE /api/v1/tokens/{token_id}": allow(ADMIN),
    # core.phone_reads_api: who read whose full number
    "GET /api/v1/audit/phone-reads": allow(ADMIN),
    # intake.api
    "POST /api/v1/intake/text": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/intake/audio": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/intake/jobs/{job_id}": allow(ADMIN, SUP, AGENT),
    # intake.import_api
    "POST /api/v1/imports/excel": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/imports/wechat": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/imports/template": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/imports": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/imports/{batch_id}": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/imports/{batch_id}/rows": allow(ADMIN, SUP, AGENT),
    # intake.bridges.api
    "GET /api/v1/tickets/{ticket_id}/enrichments": allow(ADMIN, SUP, AGENT, TECH, own=TECH),
    "POST /api/v1/tickets/{ticket_id}/enrich": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/bridges/connectors": allow(ADMIN, SUP, AGENT),
    # tickets.recurrence_api
    "GET /api/v1/predictions/recurring": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/predictions/recurring/scan": allow(ADMIN, SUP),
    "GET /api/v1/predictions/alerts": allow(ADMIN, SUP, AGENT),
    # intake.openai_api
    "POST /v1/audio/transcriptions": allow(ADMIN, SUP, AGENT, KE),
    # intake.stream_api
    "WEBSOCKET /api/v1/intake/stream": allow(ADMIN, SUP, AGENT),
    # intake.calls_api
    "POST /api/v1/calls": allow(ADMIN, AGENT),
    "GET /api/v1/calls/{call_id}": allow(ADMIN, AGENT),
    # intake.fork_api
    "WEBSOCKET /api/v1/intake/fork": allow(ADMIN, SUP, AGENT),
    # triage.api
    "GET /api/v1/triage/calibration": allow(ADMIN, SUP, KE),
    "POST /api/v1/triage/preview": allow(ADMIN, SUP, AGENT, KE),
    "POST /api/v1/triage/field-chain": allow(ADMIN, SUP, AGENT, KE),
    # tickets.api
    "GET /api/v1/tickets": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/tickets/{ticket_id}": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/tickets/{ticket_id}/history": allow(ADMIN, SUP, AGENT),
    "PATCH /api/v1/tickets/{ticket_id}": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/tickets/{ticket_id}/transition": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/tickets/{ticket_id}/review": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/reviews/corrections": allow(ADMIN, SUP, KE),
    # tickets.kb_gaps_api
    "GET /api/v1/kb/gaps": allow(ADMIN, SUP, KE),
    "POST /api/v1/kb/gaps/refresh": allow(ADMIN, KE),
    "POST /api/v1/kb/gaps/{cluster_ref}/draft": allow(ADMIN, KE),
    "GET /api/v1/kb/confusions": allow(ADMIN, SUP, KE),
    "GET /api/v1/kb/health": allow(ADMIN, SUP, KE),
    # tickets.desk_api
    "POST /api/v1/tickets/{ticket_id}/close": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/tickets/{ticket_id}/cancel": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/tickets/{ticket_id}/merge": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/tickets/{ticket_id}/duplicates": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/tickets/{ticket_id}/notes": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/tickets/{ticket_id}/attachments": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/tickets/{ticket_id}/attachments": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/tickets/{ticket_id}/attachments/{attachment_id}": allow(ADMIN, SUP, AGENT),
    # knowledge_base.api
    "GET /api/v1/kb/entries": STAFF,
    "GET /api/v1/kb/entries/{entry_id}": STAFF,
    "POST /api/v1/kb/entries": allow(ADMIN, KE),
    "PATCH /api/v1/kb/entries/{entry_id}": allow(ADMIN, KE),
    "POST /api/v1/kb/entries/{entry_id}/publish": allow(ADMIN, KE),
    "POST /api/v1/kb/entries/{entry_id}/review": allow(ADMIN, KE),
    "POST /api/v1/kb/entries/{entry_id}/reject": allow(ADMIN, KE),
    "POST /api/v1/kb/entries/{entry_id}/retire": allow(ADMIN, KE),
    "GET /api/v1/kb/entries/{entry_id}/history": STAFF,
    "POST /api/v1/kb/import": allow(ADMIN, KE),
    "GET /api/v1/kb/export": STAFF,
    "GET /api/v1/kb/search": STAFF,
    # sla.api
    "GET /api/v1/sla/calendars": allow(ADMIN, SUP),
    "POST /api/v1/sla/calendars": allow(ADMIN),
    "GET /api/v1/sla/calendars/{calendar_id}": allow(ADMIN, SUP),
    "PUT /api/v1/sla/calendars/{calendar_id}/years/{year}": allow(ADMIN),
    "GET /api/v1/sla/holidays": STAFF,
    "PUT /api/v1/sla/holidays/{year}": allow(ADMIN),
    "POST /api/v1/sla/holidays/{year}/confirm": allow(ADMIN),
    "GET /api/v1/sla/policies": allow(ADMIN, SUP),
    "POST /api/v1/sla/policies": allow(ADMIN),
    "PATCH /api/v1/sla/policies/{policy_id}": allow(ADMIN),
    "GET /api/v1/sla/regions": allow(ADMIN, SUP),
    "PUT /api/v1/sla/regions/{region}": allow(ADMIN),
    "GET /api/v1/sla/departments": STAFF,
    "POST /api/v1/sla/departments": allow(ADMIN),
    "POST /api/v1/sla/defaults": allow(ADMIN),
    "GET /api/v1/sla/tickets/{ticket_id}": allow(ADMIN, SUP, AGENT, KE, TECH, own=TECH),
    "POST /api/v1/sla/tickets/{ticket_id}/viewed": allow(ADMIN, TECH, own=TECH),
    "POST /api/v1/sla/callbacks/call": allow(ADMIN, AGENT, TECH),
    "POST /api/v1/sla/tickets/{ticket_id}/pauses": allow(ADMIN, SUP, AGENT, TECH, own=TECH),
    "POST /api/v1/sla/tickets/{ticket_id}/collaborations": allow(ADMIN, SUP, AGENT, TECH, own=TECH),
    "GET /api/v1/sla/collaborations": STAFF,
    "GET /api/v1/sla/collaborations/{collaboration_id}": STAFF,
    "POST /api/v1/sla/collaborations/{collaboration_id}/answer": allow(ADMIN, SUP, AGENT, KE),
    "GET /api/v1/sla/attainment": allow(ADMIN, SUP),
    "GET /api/v1/sla/at-risk": allow(ADMIN, SUP),
    "GET /api/v1/sla/escalations": allow(ADMIN, SUP),
    # dispatch.api
    "POST /api/v1/dispatch/technicians": allow(ADMIN, SUP),
    "GET /api/v1/dispatch/technicians": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/dispatch/technicians/near": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/dispatch/technicians/{tech_id}": allow(ADMIN, SUP, AGENT),
    "PATCH /api/v1/dispatch/technicians/{tech_id}": allow(ADMIN, SUP),
    "POST /api/v1/dispatch/technicians/{tech_id}/location": allow(ADMIN, SUP, TECH, own=TECH),
    # A GPS trail: supervisors only (docs/security.md, personal data by need).
    "GET /api/v1/dispatch/technicians/{tech_id}/locations": allow(ADMIN, SUP),
    "GET /api/v1/dispatch/me": allow(TECH),
    "POST /api/v1/dispatch/me/location": allow(TECH),
    "POST /api/v1/dispatch/me/availability": allow(TECH),
    "POST /api/v1/dispatch/assignments/{assignment_id}/accept": allow(ADMIN, SUP, TECH, own=TECH),
    "POST /api/v1/dispatch/assignments/{assignment_id}/decline": allow(ADMIN, SUP, TECH, own=TECH),
    "GET /api/v1/dispatch/assignments/{assignment_id}": allow(ADMIN, SUP, TECH, own=TECH),
    "GET /api/v1/dispatch/me/jobs": allow(TECH),
    "GET /api/v1/dispatch/assignments/{assignment_id}/job": allow(ADMIN, SUP, TECH, own=TECH),
    "POST /api/v1/dispatch/assignments/{assignment_id}/actions": allow(TECH),
    "GET /api/v1/dispatch/ratings": allow(ADMIN, SUP, AGENT),
    "GET /api/v1/dispatch/pending": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/dispatch/rematch": allow(ADMIN, SUP),
    "GET /api/v1/dispatch/tickets/{ticket_id}": allow(ADMIN, SUP, AGENT),
    "POST /api/v1/dispatch/tickets/{ticket_id}/dispatch": allow(ADMIN, SUP),
    "POST /api/v1/dispatch/tickets/{ticket_id}/reassign": allow(ADMIN, SUP),
    # core.notify_api
    "GET /api/v1/notifications/dead": allow(ADMIN, SUP),
    "POST /api/v1/notifications/{delivery_id}/retry": allow(ADMIN, SUP),
    # console.customer
    "GET /c/{token}": PUBLIC,
    "POST /c/{token}/rating": PUBLIC,
    "POST /c/{token}/window": PUBLIC,
    # dispatch.parts_api
    "POST /api/v1/dispatch/devices": allow(ADMIN, SUP, TECH),
    "GET /api/v1/dispatch/devices/{hardware_id}": allow(ADMIN, SUP, AGENT, TECH, own=TECH),
    "POST /api/v1/dispatch/skus": allow(ADMIN, SUP),
    "GET /api/v1/dispatch/skus": allow(ADMIN, SUP, AGENT, TECH),
    "POST /api/v1/dispatch/warehouses": allow(ADMIN, SUP),
    "GET /api/v1/dispatch/warehouses": allow(ADMIN, SUP, AGENT, TECH),
    "GET /api/v1/dispatch/warehouses/{warehouse_id}": allow(ADMIN, SUP, AGENT, TECH),
    "GET /api/v1/dispatch/stock": allow(ADMIN, SUP, AGENT, TECH),
    "POST /api/v1/dispatch/stock": allow(ADMIN, SUP),
    "POST /api/v1/dispatch/reservations": allow(ADMIN, SUP),
    "GET /api/v1/dispatch/reservations": allow(ADMIN, SUP, AGENT, TECH),
    "POST /api/v1/dispatch/reservations/{reservation_id}/release": allow(
        ADMIN, SUP, TECH, own=TECH
    ),
    "POST /api/v1/dispatch/reservations/{reservation_id}/consume": allow(
        ADMIN, SUP, TECH, own=TECH
    ),
    "GET /api/v1/dispatch/transfers": allow(ADMIN, SUP, AGENT, TECH),
    "POST /api/v1/dispatch/transfers/{order_id}": allow(ADMIN, SUP, TECH, own=TECH),
    "POST /api/v1/dispatch/import/{kind}": allow(ADMIN, SUP),
    # The console's pages (console/app.py PAGES): a console login session, never a token.
    # console.login
    "GET /console/login": PUBLIC,
    "POST /console/login": PUBLIC,
    "POST /console/logout": SIGNED_IN,
    "GET /console/": SIGNED_IN,
    "GET /console/me": SIGNED_IN,
    # console.desk
    "GET /console/tickets": DESK,
    "GET /console/tickets/new": DESK,
    "POST /console/tickets/new": DESK,
    "POST /console/tickets/{ticket_id}/close": DESK,
    "POST /console/tickets/{ticket_id}/cancel": DESK,
    "POST /console/tickets/{ticket_id}/merge": DESK,
    "POST /console/tickets/{ticket_id}/note": DESK,
    "POST /console/tickets/{ticket_id}/attachments": DESK,
    "GET /console/tickets/{ticket_id}/attachments/{attachment_id}": DESK,
    # console.review
    "GET /console/review": DESK,
    "GET /console/review/rows": DESK,
    "POST /console/review/bulk": DESK,
    "GET /console/review/{ticket_id}": DESK,
    "GET /console/review/{ticket_id}/audio": DESK,
    "POST /console/review/{ticket_id}": DESK,
    # console.kb_gaps
    "GET /console/kb/gaps": CURATION,
    "POST /console/kb/gaps/refresh": CURATION,
    "POST /console/kb/gaps/{report_id}/{cluster_id}/draft": CURATION,
    "GET /console/kb/confusions": CURATION,
    "GET /console/kb/health": CURATION,
    # console.kb_transfer
    "GET /console/kb/transfer": CURATION,
    "POST /console/kb/transfer": CURATION,
    "GET /console/kb/transfer/export": CURATION,
    # console.curation
    "GET /console/kb": CURATION,
    "GET /console/kb/new": CURATION,
    "POST /console/kb/new": CURATION,
    "GET /console/kb/try": CURATION,
    "POST /console/kb/try": CURATION,
    "GET /console/kb/{entry_id}": CURATION,
    "POST /console/kb/{entry_id}": CURATION,
    "POST /console/kb/{entry_id}/submit": CURATION,
    "POST /console/kb/{entry_id}/publish": CURATION,
    "POST /console/kb/{entry_id}/reject": CURATION,
    "POST /console/kb/{entry_id}/retire": CURATION,
    "GET /console/kb/{entry_id}/history": CURATION,
    # console.boards
    "GET /console/boards": BOARDS,
    "GET /console/boards/sla": BOARDS,
    "GET /console/boards/sla/live": BOARDS,
    "GET /console/boards/dispatch": BOARDS,
    "POST /console/boards/dispatch/{ticket_id}/reassign": BOARDS,
    # console.imports
    "GET /console/imports": DESK,
    "GET /console/imports/template": DESK,
    "POST /console/imports/excel": DESK,
    "POST /console/imports/wechat": DESK,
    "GET /console/imports/{batch_id}": DESK,
    "GET /console/imports/{batch_id}/status": DESK,
    # console.holidays
    "GET /console/holidays": page(ADMIN),
    "POST /console/holidays/{year}": page(ADMIN),
    # console.tech
    "GET /console/tech": FIELD,
    "GET /console/tech/offers/{assignment_id}": FIELD,
    "POST /console/tech/actions": FIELD,
    # console.users
    "GET /console/users": SYSTEM,
    "POST /console/users": SYSTEM,
    "GET /console/users/{user_id}": SYSTEM,
    "POST /console/users/{user_id}/role": SYSTEM,
    "POST /console/users/{user_id}/technician": SYSTEM,
    "POST /console/users/{user_id}/status": SYSTEM,
    "POST /console/users/{user_id}/password": SYSTEM,
    # console.tokens
    "GET /console/tokens": SYSTEM,
    "POST /console/tokens": SYSTEM,
    "POST /console/tokens/{token_id}/revoke": SYSTEM,
    # console.webhooks
    "GET /console/webhooks": SYSTEM,
    "POST /console/webhooks/regions": SYSTEM,
    "POST /console/webhooks/regions/{region}/delete": SYSTEM,
    "POST /console/webhooks/departments": SYSTEM,
    "POST /console/webhooks/departments/{department_id}/delete": SYSTEM,
    # console.audit (the read log, like GET /api/v1/audit/phone-reads)
    "GET /console/audit/phone-reads": SYSTEM,
}


def markdown() -> str:
    """The table as Markdown, one row per operation (docs/security.md holds this text)."""
    heads = ("admin", "supervisor", "agent", "knowledge engineer", "technician")
    lines = [
        "| operation | " + " | ".join(heads) + " |",
        "|---|" + "---|" * len(heads),
    ]
    for key, rule in POLICY.items():
        if rule.public:
            cells = ["public (no token)"] + [""] * (len(heads) - 1)
        else:
            cells = [
                ("own" if role in rule.own else "yes") if role in rule.roles else "—"
                for role in ROLES
            ]
        how = (
            " (token or console login)" if rule.browser else " (console login)" if rule.page else ""
        )
        lines.append(f"| `{key}`{how} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _console_login(db: Session, conn: HTTPConnection) -> Principal | None:
    """The person whose console login cookie the request carries."""
    found = accounts.lookup_session(db=db, token=conn.cookies.get(COOKIE))
    if found is None:
        return None
    _session, user = found
    return Principal(0, user.username, Role(user.role))


def install() -> None:
    """Hand the table, the object checks and the console's login to core.access."""
    access.use_policy(POLICY, OBJECT_CHECKS, _console_login)
