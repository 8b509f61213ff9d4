# A test input (read, never imported or run): coroutines alone on a loop of their own.
import asyncio, queue, threading, time

class EventStream:
    def __init__(self):
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._run_queue_loop)

    def _run_queue_loop(self):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(self._process_queue())

    async def _process_queue(self):
        while True:
            event = self._queue.get(timeout=0.1)
            await self._handle(event)

    async def _handle(self, event):
        time.sleep(0.5)

class Server:
    async def serve(self):
        await asyncio.gather(self.a(), self.b())

    async def a(self):
        time.sleep(1)

    async def b(self):
        pass

def run_server():  # not `main`: only setup code calling it would rank `a` down too
    asyncio.run(Server().serve())


class Pipeline:
    # camel's datagen: waits on threads (concurrent.futures.as_completed) inside a
    # coroutine that generate() runs alone on a private loop — not a spawn of tasks.
    async def _batch(self, jobs):
        from concurrent.futures import ThreadPoolExecutor, as_completed
        with ThreadPoolExecutor() as pool:
            return [f.result() for f in as_completed([pool.submit(j) for j in jobs])]

    def generate(self, jobs):
        loop = asyncio.new_event_loop()
        return loop.run_until_complete(self._batch(jobs))
