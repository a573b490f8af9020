"""Configuration: defaults, and every invalid or contradictory setting named at startup."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet

from settings import AppEnv, ConfigurationError, RateLimit, load_settings

PRODUCTION_OK = {
    "app_env": "production",
    "jwt_secret": "p" * 40,
    "encryption_keys": Fernet.generate_key().decode(),
    "mongodb_url": "mongodb://db/?replicaSet=rs0",
    "redis_url": "redis://cache:6379/0",
    "razorpay_key_id": "rzp_live_x",
    "razorpay_key_secret": "secret",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in (
        "APP_ENV",
        "JWT_SECRET",
        "JWT_PUBLIC_KEY",
        "ENCRYPTION_KEYS",
        "MONGODB_URL",
        "REDIS_URL",
        "RAZORPAY_KEY_ID",
        "RAZORPAY_KEY_SECRET",
        "RAZORPAY_WEBHOOK_SECRET",
        "PAYPAL_CLIENT_ID",
        "PAYPAL_CLIENT_SECRET",
        "PAYPAL_WEBHOOK_ID",
        "RATE_LIMIT_INITIATE",
        "PAYMENT_MAX_ATTEMPTS",
    ):
        monkeypatch.delenv(name, raising=False)


class TestDefaults:
    def test_seed_defaults(self):
        settings = load_settings()
        assert settings.app_env is AppEnv.DEVELOPMENT
        assert settings.payment_max_attempts == 3
        assert settings.payment_timeout_minutes == 60
        assert settings.refund_timeout_hours == 24
        assert settings.reconciliation_interval_hours == 1
        assert settings.reconcile_pending_after_seconds == 300
        assert settings.rate_limit_initiate == "5/minute"
        assert settings.port == 8000

    def test_environment_variables_are_read(self, monkeypatch):
        monkeypatch.setenv("PAYMENT_MAX_ATTEMPTS", "5")
        monkeypatch.setenv("RATE_LIMIT_INITIATE", "10/second")
        settings = load_settings()
        assert settings.payment_max_attempts == 5
        assert (
            settings.initiate_rate_limit.count,
            settings.initiate_rate_limit.window_seconds,
        ) == (10, 1)

    def test_dotenv_file_is_read(self, tmp_path):
        (tmp_path / ".env").write_text("PAYMENT_TIMEOUT_MINUTES=15\n")
        assert load_settings().payment_timeout_minutes == 15

    def test_complete_production_configuration_loads(self):
        assert load_settings(**PRODUCTION_OK).is_production


class TestRefusals:
    @pytest.mark.parametrize(
        ("missing", "named"),
        [
            ("jwt_secret", "JWT_SECRET or JWT_PUBLIC_KEY"),
            ("encryption_keys", "ENCRYPTION_KEYS"),
            ("mongodb_url", "MONGODB_URL"),
            ("redis_url", "REDIS_URL"),
        ],
    )
    def test_production_without_a_required_variable(self, missing, named):
        config = {k: v for k, v in PRODUCTION_OK.items() if k != missing}
        with pytest.raises(ConfigurationError, match=named):
            load_settings(**config)

    def test_both_jwt_modes_at_once(self):
        with pytest.raises(ConfigurationError, match="JWT_SECRET and JWT_PUBLIC_KEY"):
            load_settings(jwt_secret="a" * 40, jwt_public_key="-----BEGIN PUBLIC KEY-----")

    def test_short_jwt_secret(self):
        with pytest.raises(ConfigurationError, match="JWT_SECRET"):
            load_settings(jwt_secret="short")

    def test_bad_fernet_key(self):
        with pytest.raises(ConfigurationError, match="ENCRYPTION_KEYS"):
            load_settings(encryption_keys="not-a-key")

    def test_several_fernet_keys_first_encrypts(self):
        first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        assert load_settings(encryption_keys=f"{first}, {second}").fernet_keys == (first, second)

    @pytest.mark.parametrize("value", ["5", "five/minute", "0/minute", "5/fortnight", ""])
    def test_bad_rate_limit(self, value):
        with pytest.raises(ConfigurationError, match="RATE_LIMIT_INITIATE"):
            load_settings(rate_limit_initiate=value)

    def test_bad_integer_is_named(self, monkeypatch):
        monkeypatch.setenv("PAYMENT_MAX_ATTEMPTS", "many")
        with pytest.raises(ConfigurationError, match="PAYMENT_MAX_ATTEMPTS"):
            load_settings()

    def test_out_of_range_is_named(self):
        with pytest.raises(ConfigurationError, match="PAYMENT_MAX_ATTEMPTS"):
            load_settings(payment_max_attempts=0)

    def test_unknown_app_env(self):
        with pytest.raises(ConfigurationError, match="APP_ENV"):
            load_settings(app_env="staging")

    def test_half_a_paypal_credential(self):
        with pytest.raises(ConfigurationError, match="PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET"):
            load_settings(paypal_client_id="id-only")

    def test_half_a_razorpay_credential(self):
        with pytest.raises(ConfigurationError, match="RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET"):
            load_settings(razorpay_key_id="rzp_test_only")


class TestWebhookSecrets:
    def test_unset_secrets_disable_their_endpoints_with_a_warning(self, caplog):
        settings = load_settings()
        assert settings.disabled_webhooks() == ["razorpay", "paypal"]
        with caplog.at_level(logging.WARNING, logger="paygraph.settings"):
            settings.warn_about_gaps()
        assert "RAZORPAY_WEBHOOK_SECRET is not set" in caplog.text
        assert "PAYPAL_WEBHOOK_ID is not set" in caplog.text

    def test_configured_secrets_enable_them(self):
        settings = load_settings(razorpay_webhook_secret="whsec", paypal_webhook_id="WH-1")
        assert settings.disabled_webhooks() == []


class TestRateLimit:
    def test_parse(self):
        limit = RateLimit.parse("5/minute")
        assert (limit.count, limit.window_seconds) == (5, 60)
