"""Heartbeat bodies and intervals: whatever a client posts, never a 500 (through the fast path and
Flask), and the parsers raise only their documented errors."""
import json

from hypothesis import given
from hypothesis import strategies as st

from lms.inputs import MAX_ID
from lms.learning import intervals as iv
from lms.learning.services import ProgressError, parse_heartbeat

from .strategies import json_values

numbers = st.integers(min_value=-2**70, max_value=2**70) | st.floats() | st.booleans()
heartbeats = st.fixed_dictionaries({}, optional={
    "lesson": numbers | st.text(max_size=5), "client_id": st.text(max_size=70) | numbers,
    "seq": numbers, "position": numbers | st.text(max_size=5),
    "intervals": st.lists(st.lists(numbers, max_size=3) | numbers, max_size=5) | json_values,
    "csrf_token": st.text(max_size=5)})


@given(body=heartbeats | json_values)
def test_parse_heartbeat_raises_only_progress_errors(body):
    try:
        lesson, raw, position, client_id, seq = parse_heartbeat(body)
    except ProgressError:
        return
    assert type(lesson) is int and 0 < lesson <= MAX_ID and type(seq) is int
    assert isinstance(position, float) and isinstance(client_id, str)


@given(raw=json_values | st.lists(st.lists(numbers, min_size=2, max_size=2), max_size=6),
       duration=st.floats(min_value=0.5, max_value=10_000))
def test_intervals_parse_raises_only_interval_errors(raw, duration):
    try:
        parsed = iv.parse(raw, duration)
    except iv.IntervalError:
        return
    assert all(0 <= start < end <= duration for start, end in parsed)


def test_arbitrary_bodies_never_500(app, client, make_user, login):
    login(client, make_user("learner"))
    token = client.csrf_token()

    @given(body=heartbeats | json_values)
    def post(body):
        data = json.dumps(body)
        response = client.post("/api/v1/progress", data=data, content_type="application/json",
                               headers={"X-CSRFToken": token})
        assert response.status_code < 500, (data[:200], response.status_code)
        assert response.is_json

    post()
