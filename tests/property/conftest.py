"""Hypothesis for the parsers that take outside input: modest example counts, no deadline (the
machine is shared), no example database on disk, so the suite stays quick and leaves nothing."""
from hypothesis import HealthCheck, settings

settings.register_profile(
    "xiangxue", max_examples=40, deadline=None, database=None, derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile("xiangxue")
