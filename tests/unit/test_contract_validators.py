"""The compiled validator (fastjsonschema, the hot path) and ``jsonschema`` (the error messages) agree.

``validate`` trusts the compiled validator's "valid"; a disagreement would let through a payload the
contract's reference implementation refuses, or give a refusal without a precise reason. Checked on valid
events, on structure-aware mutations of them (the ingest property test's generators) and on arbitrary JSON.
"""

from __future__ import annotations

import json
from typing import Any

import fastjsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistics.contracts import ContractError, _fast_validator, _validator, kind_of, parse, versions
from tests.integration.functions.ingest_inputs import mutated, valid_events

KINDS = ("shipment", "warehouse")


def _verdicts(payload: Any) -> list[tuple[str, int, bool, bool]]:
    """(kind, version, fast says valid, jsonschema says valid) for every schema of every kind."""
    out = []
    for kind in KINDS:
        for version in versions(kind):
            try:
                _fast_validator(kind, version)(payload)
                fast = True
            except fastjsonschema.JsonSchemaException:
                fast = False
            precise = not any(True for _ in _validator(kind, version).iter_errors(payload))
            out.append((kind, version, fast, precise))
    return out


def _assert_agree(payload: Any) -> None:
    for kind, version, fast, precise in _verdicts(payload):
        assert fast == precise, f"{kind} v{version}: fastjsonschema={fast} jsonschema={precise} on {payload!r:.300}"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(valid_events("m-1"))
def test_valid_events_are_valid_for_both(payload: dict[str, Any]) -> None:
    kind = kind_of(payload)
    verdicts = {(k, v): (fast, precise) for k, v, fast, precise in _verdicts(payload)}
    assert verdicts[(kind, payload["schema_version"])] == (True, True)
    _assert_agree(payload)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated("m-1"))
def test_mutated_events_get_the_same_verdict(value: bytes) -> None:
    try:
        payload = parse(value)
    except ContractError:
        return  # refused before schema validation: nothing for the validators to disagree on
    _assert_agree(payload)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=300)
@given(_json)
def test_arbitrary_json_gets_the_same_verdict(payload: Any) -> None:
    _assert_agree(json.loads(json.dumps(payload)))


def test_patterns_end_at_the_very_end_for_both() -> None:
    """``$`` must not match before a trailing newline (ECMA-262), in both validators."""
    from tests.unit.test_contracts import SHIPMENT_V1

    payload = {**SHIPMENT_V1, "shipment_id": "s-1\n"}
    assert _verdicts(payload)[0][2:] == (False, False)
