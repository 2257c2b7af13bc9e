"""Password reset: a request is queued at once (the same answer for any e-mail), the mail worker turns it
into a one-time token and an e-mail in the user's language, and the token sets a new password once."""

from __future__ import annotations

import datetime as _dt
import secrets

from sqlalchemy import select, update

from crm_platform.db import utcnow
from crm_platform.errors import FieldCollector, InvalidArgument
from crm_platform.wakeup import Wakeup
from crm_identity.adapters.orm import Company, OutgoingMail, RefreshSession, ResetRequest, ResetToken, User
from crm_identity.domain import model
from crm_identity.service_layer.base import HASHER, IdentityBase, new_id, sha256

# A reset request was queued: the mail worker (crm_identity.adapters.mailer.MailWorker) waits on this.
RESET_REQUESTED = Wakeup("crm_identity_reset")


class PasswordUseCases(IdentityBase):
    # ---- password reset -----------------------------------------------------------------
    def forgot_password(self, *, email: str, crm_id: str = "", language: str = "ru", caller: str = "") -> None:
        """Queue the request; the mail worker decides whether anything is sent (constant-time answer).
        Limited per account (known or not: the same answer) and per caller."""
        self.limiter.forgot(model.normalize_email(email), caller or "unknown")
        with self.units.write(None) as uow:
            s = uow.session
            s.add(ResetRequest(email=model.normalize_email(email)[:320], crm_id=model.normalize_crm_id(crm_id)[:16],
                               language=mail_language(language), created_at=utcnow()))
            RESET_REQUESTED.mark(s)  # the mail worker wakes when this commits

    def process_reset_requests(self, limit: int = 50) -> int:
        """Turn queued requests into tokens and e-mails (one per matching account); mailers running at
        once take different requests (PostgreSQL: SKIP LOCKED; SQLite writers go one after another)."""
        with self.units.write(None) as uow:
            s = uow.session
            q = select(ResetRequest).where(ResetRequest.processed_at.is_(None)).order_by(ResetRequest.id).limit(limit)
            if not self.db.is_sqlite:  # several mailers: each request is taken by one (SQLite: BEGIN IMMEDIATE)
                q = q.with_for_update(skip_locked=True)
            requests = s.execute(q).scalars().all()
            for req in requests:
                q = select(User, Company).join(Company, Company.id == User.company_id).where(
                    User.email == req.email, User.active.is_(True))
                if req.crm_id:
                    q = q.where(Company.crm_id == req.crm_id)
                for user, company in s.execute(q).all():
                    token = secrets.token_urlsafe(32)
                    now = utcnow()
                    s.add(ResetToken(id=new_id(), company_id=user.company_id, user_id=user.id,
                                     token_hash=sha256(token), created_at=now, expires_at=now + self.reset_ttl))
                    subject, body = reset_mail(req.language, user.first_name, company, f"{self.public_url}/reset"
                                               f"#token={token}", int(self.reset_ttl.total_seconds() // 60))
                    s.add(OutgoingMail(recipient=user.email, subject=subject, body=body, created_at=now))
                req.processed_at = utcnow()
            return len(requests)

    def reset_password(self, *, token: str, password: str, caller: str = "") -> None:
        """Set a new password with a valid token; burn it and end every session of the user.

        The user's row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers take the database in
        turn) before the token is checked: resets of one user run one after the other, and each sees the
        tokens the previous one burned, so a token sets a password once. Limited per caller."""
        self.limiter.reset(caller or "unknown")
        errors = FieldCollector()
        password = model.check_password(errors, "password", password)
        errors.raise_if_any()
        token_hash = sha256(token or "")

        def usable(row) -> bool:
            return row is not None and row.used_at is None and \
                row.expires_at.replace(tzinfo=_dt.timezone.utc) >= utcnow()

        with self.db.session() as s:  # a wrong link fails before the password is hashed
            row = s.execute(select(ResetToken.user_id, ResetToken.company_id, ResetToken.used_at,
                                   ResetToken.expires_at).where(ResetToken.token_hash == token_hash)).first()
        if not usable(row):
            raise InvalidArgument("reset_token_invalid", "The reset link is invalid or expired")
        password_hash = HASHER.hash(password)
        now = utcnow()
        with self.units.write(row.company_id) as uow:
            s = uow.session
            user = s.execute(select(User).where(User.id == row.user_id).with_for_update()).scalar_one_or_none()
            if user is None or not user.active or not usable(s.execute(select(ResetToken).where(
                    ResetToken.token_hash == token_hash)).scalar_one_or_none()):
                raise InvalidArgument("reset_token_invalid", "The reset link is invalid or expired")
            user.password_hash = password_hash
            s.execute(update(ResetToken).where(ResetToken.user_id == user.id, ResetToken.used_at.is_(None))
                      .values(used_at=now))
            s.execute(update(RefreshSession).where(RefreshSession.user_id == user.id,
                                                   RefreshSession.revoked_at.is_(None)).values(revoked_at=now))


def mail_language(language: str) -> str:
    """The language of the e-mail for an Accept-Language value: Uzbek, English, else Russian."""
    code = (language or "").strip().lower()[:2]
    return code if code in RESET_TEXT else "ru"


RESET_TEXT = {
    "uz": ("CRM parolini tiklash",
           "Assalomu alaykum, {name}!\n\n«{company}» CRM (CRM ID {crm_id}) uchun yangi parol o‘rnatish uchun "
           "havolani oching:\n\n{link}\n\nHavola {minutes} daqiqa davomida va faqat bir marta ishlaydi. Agar "
           "parolni tiklashni so‘ramagan bo‘lsangiz, bu xatga e’tibor bermang.\n"),
    "ru": ("Смена пароля в CRM",
           "Здравствуйте, {name}!\n\nЧтобы задать новый пароль для CRM «{company}» (CRM ID {crm_id}), перейдите по "
           "ссылке:\n\n{link}\n\nСсылка действует {minutes} минут и только один раз. Если вы не запрашивали смену "
           "пароля, просто проигнорируйте это письмо.\n"),
    "en": ("Reset your CRM password",
           "Hello {name},\n\nTo set a new password for the CRM \"{company}\" (CRM ID {crm_id}), open this link:\n\n"
           "{link}\n\nThe link works once and for {minutes} minutes. If you did not ask for this, ignore this "
           "e-mail.\n"),
}


def reset_mail(language: str, name: str, company: Company, link: str, minutes: int) -> tuple[str, str]:
    """Subject and body of the password reset e-mail."""
    subject, body = RESET_TEXT.get(language, RESET_TEXT["ru"])
    return subject, body.format(name=name, company=company.name, crm_id=model.format_crm_id(company.crm_id),
                                link=link, minutes=minutes)
