"""Signatures as a receiver checks them: with the standardwebhooks library, not our code."""

from __future__ import annotations

import base64

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from models.clock import utcnow
from services.events_out.signing import new_secret, signed_headers

BODY = '{"type":"payment.completed","timestamp":"2026-11-30T10:15:02+00:00","data":{}}'


class TestSigning:
    def test_a_secret_is_whsec_and_32_random_bytes(self):
        secret = new_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert new_secret() != secret

    def test_the_library_verifies_our_headers(self):
        secret = new_secret()
        headers = signed_headers([secret], "evt_1", utcnow(), BODY)
        assert headers["webhook-id"] == "evt_1"
        assert headers["webhook-signature"].startswith("v1,")
        assert Webhook(secret).verify(BODY, headers)["type"] == "payment.completed"

    def test_another_secret_or_body_does_not_verify(self):
        headers = signed_headers([new_secret()], "evt_1", utcnow(), BODY)
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(BODY, headers)

    def test_during_a_rotation_both_secrets_verify(self):
        new, old = new_secret(), new_secret()
        headers = signed_headers([new, old], "evt_2", utcnow(), BODY)
        assert len(headers["webhook-signature"].split(" ")) == 2
        for secret in (new, old):
            Webhook(secret).verify(BODY, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(BODY.replace("completed", "failed"), headers)
