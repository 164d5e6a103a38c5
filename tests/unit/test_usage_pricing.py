"""What a message costs a clinic (`chalicelib.meter.pricing`) and the price table in settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.core.words import Channel
from chalicelib.meter.pricing import billing_month, charge_for, is_billing_month, sms_segment_price
from chalicelib.settings import PriceTable, Settings, SettingsError, local_environment

PRICES = PriceTable(sms_segment_usd=(("1", 0.00831), ("44", 0.0395), ("4420", 0.05)), other_sms_segment_usd=0.07)


def test_a_us_sms_of_one_segment_costs_the_us_price() -> None:
    charge = charge_for(PriceTable(), Channel.SMS, "+14155550100", "Clinic: reminder of your appointment.")

    assert (charge.sms_segments, charge.cost_usd) == (1, 0.00831)


def test_a_long_unicode_sms_costs_every_segment() -> None:
    body = "Clinic: reminder ’" + "x" * 100  # the curly quote makes it UCS-2: 118 units, 2 segments

    assert charge_for(PRICES, Channel.SMS, "+14155550100", body).cost_usd == pytest.approx(2 * 0.00831)


def test_the_country_is_the_longest_listed_calling_code_that_starts_the_number() -> None:
    assert sms_segment_price(PRICES, "+447700900123") == 0.0395
    assert sms_segment_price(PRICES, "+442071234567") == 0.05
    assert sms_segment_price(PRICES, "+4915123456789") == 0.07  # Germany is not listed


def test_an_email_costs_the_email_price_and_no_segments() -> None:
    charge = charge_for(PRICES, Channel.EMAIL, "pat@example.org", "x" * 5000)

    assert (charge.sms_segments, charge.cost_usd) == (0, 0.0001)


def test_usage_months_are_utc_calendar_months() -> None:
    new_york_evening = datetime(2026, 11, 30, 20, 0, tzinfo=timezone(timedelta(hours=-5)))

    assert billing_month(new_york_evening) == "2026-12"
    assert billing_month(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == "2026-11"
    assert [is_billing_month(m) for m in ("2026-12", "2026-00", "2026-1", "26-12")] == [True, False, False, False]


def test_prices_are_overridden_by_carecue_prices() -> None:
    env = {
        **local_environment("dev"),
        "CARECUE_PRICES": '{"sms_segment_usd": {"1": 0.0075, "44": 0.04}, "email_usd": 0.00012}',
        "CARECUE_DEFAULT_SPEND_CAP_USD": "25",
    }

    settings = Settings.from_env(env)

    assert settings.prices == PriceTable(
        sms_segment_usd=(("1", 0.0075), ("44", 0.04)), other_sms_segment_usd=0.00831, email_usd=0.00012
    )
    assert settings.default_spend_cap_usd == 25.0
    assert Settings.from_env(local_environment("dev")).prices == PriceTable()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CARECUE_PRICES", "{not json"),
        ("CARECUE_PRICES", '{"sms_segment_usd": {"+1": 0.01}}'),
        ("CARECUE_PRICES", '{"email_usd": -1}'),
        ("CARECUE_PRICES", '{"sms": 0.01}'),
        ("CARECUE_DEFAULT_SPEND_CAP_USD", "lots"),
        ("CARECUE_DEFAULT_SPEND_CAP_USD", "-5"),
    ],
)
def test_a_bad_price_setting_fails_fast_and_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**local_environment("dev"), name: value})


def test_a_whatsapp_template_costs_metas_rate_for_the_country_plus_the_aws_fee_and_free_form_only_the_fee() -> None:
    argentina = charge_for(PriceTable(), Channel.WHATSAPP, "+5491155550100", "x", template=True)
    brazil = charge_for(PriceTable(), Channel.WHATSAPP, "+5511955550100", "x", template=True)
    free_form = charge_for(PriceTable(), Channel.WHATSAPP, "+5491155550100", "x")

    assert (argentina.channel, argentina.sms_segments, argentina.cost_usd) == (Channel.WHATSAPP, 0, 0.0375)
    assert brazil.cost_usd == pytest.approx(0.0135)
    assert free_form.cost_usd == 0.005


def test_the_whatsapp_prices_are_set_like_the_sms_ones() -> None:
    table = PriceTable.from_json('{"whatsapp_template_usd": {"34": 0.02}, "whatsapp_aws_fee_usd": 0.004}')

    assert charge_for(table, Channel.WHATSAPP, "+34600000000", "x", template=True).cost_usd == pytest.approx(0.024)
    with pytest.raises(SettingsError, match="whatsapp_template_usd"):
        PriceTable.from_json('{"whatsapp_template_usd": {"Spain": 0.02}}')
