"""`paygraph token`: a token the API accepts; refused in production; a bad variable named."""

from __future__ import annotations

from tests.support.cli import clean_env, run


class TestTokenCommand:
    def test_mints_a_token_the_api_accepts(self, tokens, tmp_path):
        from tests.conftest import TEST_JWT_SECRET

        result = run(
            ["token", "--customer", "cust-7", "--admin"],
            env=clean_env(JWT_SECRET=TEST_JWT_SECRET),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        principal = tokens.verify(result.stdout.strip())
        assert principal.customer_id == "cust-7" and principal.is_admin

    def test_refuses_in_production(self, tmp_path):
        result = run(
            ["token", "--customer", "c"],
            env=clean_env(APP_ENV="production", JWT_SECRET="x" * 40),
            cwd=tmp_path,
        )
        assert result.returncode != 0
        assert "production" in result.stderr
        assert result.stdout == ""

    def test_invalid_configuration_names_the_variable(self, tmp_path):
        result = run(
            ["token", "--customer", "c"],
            env=clean_env(PAYMENT_MAX_ATTEMPTS="lots", JWT_SECRET="x" * 40),
            cwd=tmp_path,
        )
        assert result.returncode == 2
        assert "PAYMENT_MAX_ATTEMPTS" in result.stderr
