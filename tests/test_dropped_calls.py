"""FunctionFact.dropped_callees: what a plain def calls only to drop the result (a statement,
an `if` test, a local only tests read). A coroutine called only so never runs (link's
`_never_run`; held-out S32: GenAIComps' `async def check_health` called from `__init__`)."""

from __future__ import annotations

import textwrap

from optadvisor.analyze import analyze_bytes
from optadvisor.analyze.catalog import load_catalog

CODE = textwrap.dedent("""
    class Service:
        def __init__(self):
            self.check_health()
            ok = self.probe()
            if not ok:
                print("down")
            while not self.ready():
                pass
            if not self.warm():
                pass

        def kept(self):
            state = self.probe()
            print(state)
            result = self.fetch()
            return result

        def listed(self):
            state = self.probe()
            if state:
                print("up")
            return [state]

        def twice(self):
            self.check_health()
            return self.check_health()

        async def check_health(self): ...
        async def probe(self): ...
        async def ready(self): ...
        async def warm(self): ...
        async def fetch(self): ...
""")


def test_a_plain_def_drops_what_it_only_tests_or_leaves_as_a_statement():
    facts = analyze_bytes("svc.py", CODE.encode(), load_catalog(), 1 << 20)
    coroutines = {"check_health", "probe", "ready", "warm", "fetch"}
    dropped = {fn.name: {name.rsplit(".", 1)[-1] for name in fn.dropped_callees} & coroutines
               for fn in facts.functions}
    # `while not self.ready()` is a loop test, not an `if` test: not counted as dropped.
    assert dropped["__init__"] == {"check_health", "probe", "warm"}
    # Printed, returned, or also returned at another site: kept.
    assert dropped["kept"] == set() and dropped["twice"] == set()
    # Read in a test and also put in a list that is returned: kept.
    assert dropped["listed"] == set()
