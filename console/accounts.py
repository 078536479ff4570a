"""Console accounts: scrypt password hashes, login sessions (stored hashed) and CSRF tokens."""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from console.models import ConsoleSession, ConsoleUser
from core import clock
from core.auth import Role
from core.errors import ApiError
from dispatch.models import Technician

SESSION_TTL = timedelta(hours=12)
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,63}$")
MIN_PASSWORD = 8
DISPLAY_NAME_MAX = 120  # console_users.display_name
# scrypt cost: ~50 ms and 16 MiB per login on this class of machine (RFC 7914 interactive range).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# Verifying against this when the username is unknown keeps login time the same either way.
_DUMMY_HASH: str | None = None
ROLE_LABELS = {
    Role.admin: "管理员",
    Role.agent: "坐席",
    Role.knowledge_engineer: "知识工程师",
    Role.supervisor: "主管",
    Role.technician: "技术员",
}


def hash_password(password: str) -> str:
    """The stored form of a password: scrypt with a random salt and its parameters."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether password matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, want = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got.hex(), want)


def create_user(
    *,
    db: Session,
    username: str,
    role: Role,
    password: str,
    display_name: str | None = None,
    technician_id: int | None = None,
) -> ConsoleUser:
    """A new enabled account; 409 if the username is taken, 422 for a bad name or password;
    technician_id links a technician login to its row in the dispatch registry (the field
    app, /console/tech)."""
    if not USERNAME.match(username):
        raise ApiError(
            422,
            "invalid_username",
            "A username is 2-64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
        )
    _check_password(password)
    if display_name and (
        len(display_name) > DISPLAY_NAME_MAX or any(ch < " " or ch == "\x7f" for ch in display_name)
    ):
        raise ApiError(
            422,
            "invalid_display_name",
            f"A display name is at most {DISPLAY_NAME_MAX} characters, none of them control.",
        )
    if db.scalar(select(ConsoleUser.id).where(ConsoleUser.username == username)) is not None:
        raise ApiError(409, "duplicate_username", f"User {username!r} exists already.")
    if technician_id is not None:
        _check_technician(db, role, technician_id)
    user = ConsoleUser(
        username=username,
        display_name=display_name or username,
        role=role.value,
        password_hash=hash_password(password),
        disabled=False,
        created_at=clock.now(),
        technician_id=technician_id,
    )
    db.add(user)
    db.flush()
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ApiError(
            422, "weak_password", f"A password needs at least {MIN_PASSWORD} characters."
        )


def _check_technician(
    db: Session, role: Role, technician_id: int, user_id: int | None = None
) -> None:
    """A technician login may be linked to an existing technician that no other login has."""
    if role is not Role.technician:
        raise ApiError(422, "not_a_technician", "Only a technician login can be linked to one.")
    if db.get(Technician, technician_id) is None:
        raise ApiError(404, "not_found", f"No technician #{technician_id}.")
    taken = select(ConsoleUser.id).where(
        ConsoleUser.technician_id == technician_id, ConsoleUser.id != (user_id or 0)
    )
    if db.scalar(taken) is not None:
        raise ApiError(
            409, "technician_linked", f"Technician #{technician_id} has a login already."
        )


def list_users(*, db: Session) -> list[ConsoleUser]:
    """Every console account, by username."""
    return list(db.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))


def get_user(*, db: Session, username: str) -> ConsoleUser:
    """The account with this username; 404 if there is none."""
    user = db.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
    if user is None:
        raise ApiError(404, "not_found", f"No user {username!r}.")
    return user


def _end_sessions(db: Session, user: ConsoleUser) -> None:
    db.execute(update(ConsoleSession).where(ConsoleSession.user_id == user.id).values(revoked=True))


def _keep_an_admin(db: Session, user: ConsoleUser) -> None:
    """Refuse to take the last enabled admin away: nobody could manage accounts in the console
    any more."""
    if user.role != Role.admin.value or user.disabled:
        return
    others = select(ConsoleUser.id).where(
        ConsoleUser.role == Role.admin.value,
        ConsoleUser.disabled.is_(False),
        ConsoleUser.id != user.id,
    )
    if db.scalar(others) is None:
        raise ApiError(409, "last_admin", f"{user.username!r} is the last enabled admin.")


def set_disabled(*, db: Session, username: str, disabled: bool) -> ConsoleUser:
    """Disable (or re-enable) an account; disabling also ends its sessions (409 for the last
    enabled admin)."""
    user = get_user(db=db, username=username)
    if disabled:
        _keep_an_admin(db, user)
        _end_sessions(db, user)
    user.disabled = disabled
    db.flush()
    return user


def set_role(*, db: Session, username: str, role: Role) -> ConsoleUser:
    """Give an account another role (409 for the last enabled admin); a login that stops being
    a technician's loses its link to the technician row."""
    user = get_user(db=db, username=username)
    if role.value != user.role:
        _keep_an_admin(db, user)
        user.role = role.value
        if role is not Role.technician:
            user.technician_id = None
    db.flush()
    return user


def set_password(*, db: Session, username: str, password: str) -> ConsoleUser:
    """Reset an account's password (422 if too short); its open sessions end, so whoever knew
    the old one is logged out."""
    user = get_user(db=db, username=username)
    _check_password(password)
    user.password_hash = hash_password(password)
    _end_sessions(db, user)
    db.flush()
    return user


def link_technician(*, db: Session, username: str, technician_id: int | None) -> ConsoleUser:
    """Link a technician login to its technician row (the field app, /console/tech), or unlink
    it with None; 422 for a login of another role, 404 for an unknown technician, 409 when
    that technician has another login."""
    user = get_user(db=db, username=username)
    if technician_id is not None:
        _check_technician(db, Role(user.role), technician_id, user.id)
    user.technician_id = technician_id
    db.flush()
    return user


def authenticate(*, db: Session, username: str, password: str) -> ConsoleUser | None:
    """The enabled user with these credentials, or None (same cost whether or not it exists)."""
    global _DUMMY_HASH
    user = db.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
    if user is None:
        _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(8))
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, user.password_hash) or user.disabled:
        return None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, db: Session, user: ConsoleUser) -> str:
    """A new login session for user; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    db.add(
        ConsoleSession(
            token_hash=_digest(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + SESSION_TTL,
            revoked=False,
        )
    )
    user.last_login_at = now
    db.flush()
    return token


def lookup_session(*, db: Session, token: str | None) -> tuple[ConsoleSession, ConsoleUser] | None:
    """The live session and its enabled user for a cookie value, or None."""
    if not token:
        return None
    row = db.execute(
        select(ConsoleSession, ConsoleUser)
        .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
        .where(ConsoleSession.token_hash == _digest(token))
    ).first()
    if row is None:
        return None
    sess, user = row
    if sess.revoked or user.disabled or sess.expires_at <= clock.now():
        return None
    return sess, user


def end_session(*, db: Session, token: str | None) -> None:
    """Log out: the cookie value stops working at once."""
    if token:
        db.execute(
            update(ConsoleSession)
            .where(ConsoleSession.token_hash == _digest(token))
            .values(revoked=True)
        )


def ensure_demo_users(*, db: Session) -> dict[str, str]:
    """One demo login per role (username = role name) with a fresh random password.

    Returns username → password for the accounts created now; existing ones are left alone.
    """
    created = {}
    for role in Role:
        name = role.value.replace("_", "-")
        if db.scalar(select(ConsoleUser.id).where(ConsoleUser.username == name)) is None:
            password = secrets.token_urlsafe(9)
            create_user(
                db=db, username=name, role=role, password=password, display_name=ROLE_LABELS[role]
            )
            created[name] = password
    return created
