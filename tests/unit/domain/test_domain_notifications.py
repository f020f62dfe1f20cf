"""Notification rules: what counts as a change, who is contacted, and quiet hours across zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logistics.domain.notifications import (
    DEFAULT_CUSTOMER_STATUSES,
    StatusChange,
    customer_channels,
    deliver_at,
    status_change,
)
from logistics.domain.status import Status

S = Status


def snapshot(status: str | None, **extra) -> dict:
    item = {"merchant_id": "m-1", "shipment_id": "s-1", **extra}
    if status is not None:
        item["status"] = status
    return item


# --- status_change ----------------------------------------------------------------------------------


def test_status_change_between_two_snapshots():
    new = snapshot("OUT_FOR_DELIVERY", status_event_id="e7", status_changed_at="2024-05-01T08:00:00.000Z")
    change = status_change(snapshot("IN_TRANSIT", status_event_id="e3"), new)
    assert change == StatusChange(
        merchant_id="m-1",
        shipment_id="s-1",
        old_status=S.IN_TRANSIT,
        new_status=S.OUT_FOR_DELIVERY,
        status_event_id="e7",
        changed_at="2024-05-01T08:00:00.000Z",
        state=new,
    )
    assert change.key == "m-1#s-1#OUT_FOR_DELIVERY#e7"


def test_first_snapshot_is_a_change_from_nothing():
    change = status_change(None, snapshot("CREATED", status_event_id="e1"))
    assert change is not None
    assert (change.old_status, change.new_status) == (None, S.CREATED)
    assert status_change({}, snapshot("CREATED")).old_status is None
    assert status_change(snapshot(None), snapshot("CREATED")).old_status is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (snapshot("IN_TRANSIT", sub_status="a"), snapshot("IN_TRANSIT", sub_status="b")),  # same status
        (snapshot("DELIVERED"), snapshot("DELIVERED", status_event_id="other")),
        (snapshot("IN_TRANSIT"), None),  # deleted item (REMOVE)
        (snapshot("IN_TRANSIT"), {}),
        (None, snapshot(None)),  # no status at all
        (None, None),
    ],
)
def test_no_change(old, new):
    assert status_change(old, new) is None


def test_missing_optional_fields_become_empty_strings():
    change = status_change(None, snapshot("PICKED_UP"))
    assert (change.status_event_id, change.changed_at) == ("", "")
    assert change.key == "m-1#s-1#PICKED_UP#"


def test_same_change_has_the_same_key_and_different_changes_differ():
    old, new = snapshot("IN_TRANSIT"), snapshot("DELIVERED", status_event_id="d1")
    assert status_change(old, new).key == status_change(snapshot("PICKED_UP"), new).key
    assert status_change(old, new).key != status_change(old, snapshot("DELIVERED", status_event_id="d2")).key


# --- customer_channels -------------------------------------------------------------------------------


def test_default_customer_statuses_leave_out_warehouse_internals():
    assert frozenset(S) - DEFAULT_CUSTOMER_STATUSES == {S.CREATED, S.PROCESSING}
    assert S.READY_TO_SHIP in DEFAULT_CUSTOMER_STATUSES and S.EXCEPTION in DEFAULT_CUSTOMER_STATUSES


@pytest.mark.parametrize(
    ("customer", "status", "expected"),
    [
        ({"contact_ref": "c", "channels": ["email", "sms"]}, S.DELIVERED, ["email", "sms"]),
        ({"contact_ref": "c", "channels": ["push"]}, S.OUT_FOR_DELIVERY, ["push"]),
        ({"contact_ref": "c", "channels": ["email"]}, S.PROCESSING, []),  # not wanted
        ({"contact_ref": "c", "channels": []}, S.DELIVERED, []),  # opted out of everything
        ({"contact_ref": "c"}, S.DELIVERED, []),
        ({"contact_ref": "c", "channels": None}, S.DELIVERED, []),
        (None, S.DELIVERED, []),
        ({}, S.DELIVERED, []),
    ],
)
def test_customer_channels(customer, status, expected):
    assert customer_channels(customer, status, DEFAULT_CUSTOMER_STATUSES) == expected


def test_customer_channels_with_a_merchant_choice_and_a_copy():
    customer = {"contact_ref": "c", "channels": ["email"]}
    only_delivered = frozenset({S.DELIVERED})
    assert customer_channels(customer, S.OUT_FOR_DELIVERY, only_delivered) == []
    channels = customer_channels(customer, S.DELIVERED, only_delivered)
    channels.append("sms")
    assert customer["channels"] == ["email"]  # the caller got a copy


# --- deliver_at ------------------------------------------------------------------------------------


def z(hour: int, minute: int = 0, day: int = 1, month: int = 5, year: int = 2024) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def quiet(start: str, end: str, tz: str | None = None) -> dict:
    customer: dict = {"contact_ref": "c", "quiet_hours": {"start": start, "end": end}}
    if tz is not None:
        customer["timezone"] = tz
    return customer


@pytest.mark.parametrize("customer", [None, {}, {"contact_ref": "c"}, {"contact_ref": "c", "quiet_hours": None}])
def test_no_quiet_hours_means_now(customer):
    assert deliver_at(z(3), customer) == z(3)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (z(22, 30), z(8, day=2)),  # after the start: the end is tomorrow
        (z(21, 0), z(8, day=2)),  # the start itself is quiet
        (z(0, 0), z(8)),  # after midnight: the end is today
        (z(3, 15), z(8)),
        (z(7, 59), z(8)),
        (z(8, 0), z(8, 0)),  # the end itself is not quiet
        (z(12, 0), z(12, 0)),
        (z(20, 59), z(20, 59)),
    ],
)
def test_quiet_hours_wrapping_midnight_in_utc(now, expected):
    assert deliver_at(now, quiet("21:00", "08:00", "UTC")) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [(z(13, 0), z(14, 0)), (z(12, 0), z(14, 0)), (z(14, 0), z(14, 0)), (z(11, 59), z(11, 59)), (z(23), z(23))],
)
def test_quiet_hours_within_one_day(now, expected):
    assert deliver_at(now, quiet("12:00", "14:00")) == expected  # no timezone: UTC


@pytest.mark.parametrize("now", [z(22), z(21, 59), z(3), z(12)])
def test_start_equal_to_end_is_no_quiet_window(now):
    assert deliver_at(now, quiet("22:00", "22:00", "Europe/Berlin")) == now


def test_berlin_summer_time():
    # 20:30Z is 22:30 CEST: quiet until 07:00 CEST, which is 05:00Z
    assert deliver_at(z(20, 30), quiet("22:00", "07:00", "Europe/Berlin")) == z(5, day=2)
    # 19:30Z is 21:30 CEST: not yet quiet
    assert deliver_at(z(19, 30), quiet("22:00", "07:00", "Europe/Berlin")) == z(19, 30)


def test_new_york_daylight_time():
    # 02:00Z on May 2 is 22:00 EDT on May 1: quiet until 08:00 EDT on May 2, 12:00Z
    assert deliver_at(z(2, day=2), quiet("21:00", "08:00", "America/New_York")) == z(12, day=2)
    # the same UTC instant is 04:00 in Berlin: also quiet there, but until 06:00Z
    assert deliver_at(z(2, day=2), quiet("21:00", "08:00", "Europe/Berlin")) == z(6, day=2)


def test_berlin_spring_forward_night_is_an_hour_shorter():
    # 23:00 CET on March 30 -> 07:00 CEST on March 31 (the clocks jump at 02:00): 05:00Z, 7 hours later, not 8
    now = z(22, day=30, month=3)
    result = deliver_at(now, quiet("22:00", "07:00", "Europe/Berlin"))
    assert result == z(5, day=31, month=3)
    assert result - now == timedelta(hours=7)


def test_new_york_fall_back_night_is_an_hour_longer():
    # 23:00 EDT on Nov 2 -> 07:00 EST on Nov 3 (the clocks go back at 02:00): 12:00Z
    now = z(3, day=3, month=11)
    assert deliver_at(now, quiet("22:00", "07:00", "America/New_York")) == z(12, day=3, month=11)
    assert deliver_at(now, quiet("22:00", "07:00", "America/New_York")) - now == timedelta(hours=9)


def test_quiet_end_inside_the_spring_forward_gap():
    # 02:30 does not exist in Berlin on March 31 2024; the end resolves with the pre-jump offset: 01:30Z,
    # which the wall clock shows as 03:30 CEST, after the quiet hours.
    now = z(0, 30, day=31, month=3)  # 01:30 CET
    result = deliver_at(now, quiet("01:00", "02:30", "Europe/Berlin"))
    assert result == z(1, 30, day=31, month=3)
    assert result.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "03:30 CEST"


def test_result_keeps_the_callers_timezone():
    tokyo = timezone(timedelta(hours=9))
    now = z(22, 30).astimezone(tokyo)
    result = deliver_at(now, quiet("21:00", "08:00", "UTC"))
    assert result == z(8, day=2)
    assert result.utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "../../etc/passwd"])
def test_unknown_timezone_falls_back_to_utc(tz):
    assert deliver_at(z(22), quiet("21:00", "08:00", tz)) == z(8, day=2)


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]
HHMM = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))


@settings(max_examples=300, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)),
    start=HHMM,
    end=HHMM,
    tz=st.sampled_from(ZONES),
)
def test_deferred_time_is_never_early_never_quiet_and_within_a_day(now, start, end, tz):
    customer = quiet(start, end, tz)
    result = deliver_at(now, customer)
    assert result >= now
    assert result - now <= timedelta(hours=25)
    assert deliver_at(result, customer) == result  # a deferred message is due when it comes due
    if result != now:
        local = now.astimezone(ZoneInfo(tz)).time().replace(second=0, microsecond=0)
        s, e = (datetime.strptime(t, "%H:%M").time() for t in (start, end))
        assert (s <= local < e) if s < e else (local >= s or local < e)
