"""Shared Hypothesis strategies: JSON as clients might send it, text as spreadsheets hold it."""
from hypothesis import strategies as st

# Any JSON value, including the awkward ones: huge ints, booleans, floats, nesting, odd keys.
scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
# Text with what spreadsheets and phones produce: CJK, full-width digits, control characters.
cell_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24)
