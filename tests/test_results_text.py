"""Each model's ``results.json`` text (``outputs.model_text``) is encoded by the standard
library's C encoder and indented afterwards: the bytes must be those of
``json.dumps(indent=2, ensure_ascii=False, allow_nan=False)`` nested as deep as results.json
holds them, for any JSON value, and for every model of the bundled specs."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from specrun.outputs import INDENT, _indented

# strings made of what could be taken for structure: brackets, commas, quotes, escapes
_TEXT = st.text(
    alphabet=st.sampled_from(list('ab[]{},:" \\/\n\t\x00\x1f\x7fé中\U0001f600')), max_size=6
) | st.text(max_size=4)
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(_TEXT, children, max_size=4)
        | st.dictionaries(st.integers() | st.booleans() | st.none(), children, max_size=2)
    ),
    max_leaves=25,
)


def _standard(value: object, level: int) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    return text.replace("\n", "\n" + INDENT * level)


@given(value=_JSON_VALUES, level=st.integers(0, 3))
@settings(max_examples=400, deadline=None)
def test_indented_text_is_the_standard_librarys(value: object, level: int):
    assert _indented(value, level) == _standard(value, level)


def test_indented_text_of_structure_inside_strings_and_empty_containers():
    value = {
        "grid[window=w1,se=hc1]": {"a,b": [], "{}": {}, '"[': [[], {}, [1.5e-07, "]"]]},
        '中文 \\ "x"': [None, True, -0.0, 10**30, 1e16],
    }
    for level in range(3):
        assert _indented(value, level) == _standard(value, level)
