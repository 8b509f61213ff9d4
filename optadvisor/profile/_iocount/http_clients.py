"""The HTTP client patches: urllib, requests, httpx (sync and async) and aiohttp, each
request counted as one call of its URL's shape, with its method as the operation."""

from .wrapping import replace, wraps


def patch_urllib(counter, module):
    def make(original):
        def open(self, fullurl, *args, **kwargs):
            try:
                if isinstance(fullurl, str):
                    url = fullurl
                    method = "POST" if (args and args[0] is not None) or \
                        kwargs.get("data") is not None else "GET"
                else:
                    url = fullurl.full_url
                    method = fullurl.get_method()
            except Exception:
                url, method = str(fullurl), "GET"
            return counter.timed("http", "urllib", method, url,
                                 lambda: original(self, fullurl, *args, **kwargs))
        return open

    replace(module.OpenerDirector, "open", make)
    return "urllib"


def patch_requests(counter, module):
    def make(original):
        def request(self, method, url, *args, **kwargs):
            return counter.timed("http", "requests", str(method).upper(), url,
                                 lambda: original(self, method, url, *args, **kwargs))
        return request

    replace(module.Session, "request", make)
    return "requests"


def patch_httpx(counter, module):
    sync_cls = getattr(module, "Client", None)
    async_cls = getattr(module, "AsyncClient", None)
    def make_send(original):
        def send(self, request, *args, **kwargs):
            return counter.timed("http", "httpx", str(request.method).upper(),
                                 str(request.url),
                                 lambda: original(self, request, *args, **kwargs))
        return send

    if sync_cls is not None:
        replace(sync_cls, "send", make_send)
    if async_cls is not None and not getattr(async_cls.send, "__optadvisor__", False):
        import contextvars

        original_async = async_cls.send
        # `client.get(url)` handed to asyncio.gather reaches send only once its task
        # runs, with no user frame left under it: the entry points note their caller
        # in a context variable that send reads (the task runs in that context).
        made_by = contextvars.ContextVar("optadvisor_httpx_caller", default=None)

        def send_async(self, request, *args, **kwargs):
            return counter.timed_async(
                "http", "httpx", str(request.method).upper(), str(request.url),
                original_async(self, request, *args, **kwargs),
                counter.caller_outside() or made_by.get())

        async def noted(coroutine, site):
            token = made_by.set(site)
            try:
                return await coroutine
            finally:
                made_by.reset(token)

        def entry(original):
            def method(self, *args, **kwargs):
                return noted(original(self, *args, **kwargs), counter.caller_outside())
            return wraps(method, original)

        wraps(send_async, original_async)
        send_async.__optadvisor__ = True
        async_cls.send = send_async
        for name in ("request", "get", "post", "put", "patch", "delete", "head", "options"):
            found = async_cls.__dict__.get(name)
            if found is not None and callable(found):
                setattr(async_cls, name, entry(found))
    return "httpx"


def patch_aiohttp(counter, module):
    def make(original):
        def _request(self, method, str_or_url, *args, **kwargs):
            return counter.timed_async(
                "http", "aiohttp", str(method).upper(), str(str_or_url),
                original(self, method, str_or_url, *args, **kwargs), counter.caller_outside())
        return _request

    replace(module.ClientSession, "_request", make)
    return "aiohttp"
