"""A call that passes the literal flag a helper tests for an early exit (`if not
check_reachability: return True`) runs only what the helper does before that exit
(FunctionFact.exit_flag, pre_exit_callees; CallFact.flags). Held-out S32c: notte's page
loads call `is_valid_url(url, check_reachability=False)`, whose HEAD request comes after the
exit, and were reported as blocking."""

from __future__ import annotations

import textwrap

from optadvisor.api import scan_source

CODE = textwrap.dedent("""
    from urllib.parse import urlparse

    import requests


    def head(url):
        return requests.head(url, timeout=5)


    def is_valid_url(url, check_reachability=True):
        try:
            if urlparse(url).scheme not in ("http", "https"):
                return False
            if not check_reachability:
                return True
            return head(url).status_code < 400
        except requests.RequestException:
            return False


    def probe_first(url, quick=False):
        response = head(url)
        if quick:
            return response.ok
        return response.status_code


    async def goto(url):
        return is_valid_url(url, check_reachability=False)


    async def check(url):
        return is_valid_url(url)


    async def check_explicit(url):
        return is_valid_url(url, check_reachability=True)


    async def probe(url):
        return probe_first(url, quick=True)
""")


def test_a_flag_that_takes_the_early_exit_skips_what_follows_it():
    recs, error = scan_source(CODE, select=("OPT104",))
    assert error is None
    # Not `goto` (it passes the exit's flag); `probe` passes one too, but its request comes
    # before the exit.
    assert sorted(r.symbol for r in recs) == ["check", "check_explicit", "probe"]
