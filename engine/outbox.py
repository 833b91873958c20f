"""Delivery of outbox messages to customers, by channel.

Commands only write outbox rows; a worker delivers them here, so a slow or
broken gateway never blocks or undoes a command. Each message is claimed in
its own transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), sent, and
marked sent or failed; a message that fails is retried up to
:data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select

from .clock import Clock
from .db import Database
from .models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class Gateway(Protocol):
    def send(self, recipient: str, body: str, *, subject: str) -> None:
        """Deliver one message or raise; any exception counts as a failure."""
        ...


class LogGateway:
    """Writes messages to the log instead of sending them (the default)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, recipient: str, body: str, *, subject: str) -> None:
        # Never log the recipient: it is a phone number or an e-mail address.
        logger.info(
            "Message delivered to the log",
            extra={"channel": self.channel, "length": len(body)},
        )


class SmtpGateway:
    """E-mail over SMTP; host, port and sender from the environment."""

    def __init__(self, host: str, port: int, sender: str) -> None:
        self.host = host
        self.port = port
        self.sender = sender

    def send(self, recipient: str, body: str, *, subject: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(message)


def gateways_from_env() -> dict[str, Gateway]:
    """SMTP for e-mail when ``SMTP_HOST`` is set; the log for everything else."""
    gateways: dict[str, Gateway] = {
        "sms": LogGateway("sms"),
        "email": LogGateway("email"),
    }
    host = os.environ.get("SMTP_HOST")
    if host:
        gateways["email"] = SmtpGateway(
            host,
            int(os.environ.get("SMTP_PORT", "25")),
            os.environ.get("SMTP_SENDER", "complaints@localhost"),
        )
    return gateways


def deliver_pending(
    db: Database, clock: Clock, gateways: Mapping[str, Gateway], *, limit: int = 100
) -> int:
    """Send up to ``limit`` pending messages; return how many were sent."""
    with db.reading() as session:
        ids = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()

    sent = 0
    for message_id in ids:
        if _deliver_one(db, clock, gateways, message_id):
            sent += 1
    return sent


def _deliver_one(
    db: Database, clock: Clock, gateways: Mapping[str, Gateway], message_id: int
) -> bool:
    with db.transaction() as session:
        query = select(OutboxMessage).where(
            OutboxMessage.id == message_id, OutboxMessage.status == "pending"
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        message = session.scalar(query)
        if message is None:
            return False  # another worker has it, or it is done

        gateway = gateways.get(message.channel)
        message.attempts += 1
        try:
            if gateway is None:
                raise LookupError(f"No gateway for channel {message.channel!r}.")
            gateway.send(message.recipient, message.body, subject="投诉处理通知")
        except Exception as exc:
            message.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
            logger.warning(
                "Message delivery failed",
                extra={"message_id": message.id, "attempts": message.attempts},
            )
            return False

        message.status = "sent"
        message.sent_at = clock.now()
        return True
