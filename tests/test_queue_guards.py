"""Which tests find a queue empty (visitor._emptied): past a guard that leaves while the
queue is empty, or after `while q.empty():`, a `q.get()` takes an item that is there
(held-out S33: lmql's token poller). A test that says the queue has items, or compares
with something else, is no such guard."""

from __future__ import annotations

import libcst as cst
import pytest

from optadvisor.analyze.visitor import _emptied


@pytest.mark.parametrize("test,queue", [
    ("q.empty()", "q"),
    ("q.qsize() == 0", "q"),
    ("not q.qsize()", "q"),
    ("self.q.qsize() < 1", "self.q"),
    ("q.qsize() <= 0", "q"),
    ("not q.empty()", ""),
    ("q.empty() == False", ""),
    ("q.qsize() > 5", ""),
    ("q.qsize()", ""),
    ("q.qsize() == 1", ""),
    ("not (q.qsize() == 0)", ""),
    ("q.full()", ""),
])
def test_a_test_for_an_empty_queue_names_it(test: str, queue: str):
    assert _emptied(cst.parse_expression(test)) == queue
