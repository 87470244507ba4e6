"""Loopback TCP proxies standing in for Kubernetes Services: each accepted
connection goes to the next ready endpoint, round robin, and stays there for
its life (kube-proxy balances connections, not requests). A Service with no
ready endpoint refuses the connection, as a ClusterIP with no endpoints does.
"""
from __future__ import annotations

import asyncio
import itertools
import random
import socket
import threading


_TAKEN: set = set()


def free_port() -> int:
    """A free loopback port below Linux's ephemeral range (32768 and up), so
    no outgoing connection can take it between this check and the bind, and
    never one handed out before in this run."""
    while True:
        port = random.randrange(20000, 32000)
        if port in _TAKEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _TAKEN.add(port)
        return port


class Proxies:
    def __init__(self) -> None:
        self._ports: dict = {}        # (service key, port) -> local port
        self._endpoints: dict = {}    # (service key, port) -> [local ports]
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list = []

    def ensure(self, service: tuple, port: int) -> int:
        with self._lock:
            key = (service, port)
            if key not in self._ports:
                self._ports[key] = free_port()
                self._endpoints[key] = []
                if self._thread.is_alive():
                    asyncio.run_coroutine_threadsafe(self._listen(key), self._loop).result()
            return self._ports[key]

    def port(self, service: tuple, port: int) -> int:
        return self._ports[(service, port)]

    def set_endpoints(self, service: tuple, port: int, endpoints: list) -> None:
        with self._lock:
            self._endpoints[(service, port)] = list(endpoints)

    def start(self) -> None:
        self._thread.start()
        for key in list(self._ports):
            asyncio.run_coroutine_threadsafe(self._listen(key), self._loop).result()

    def stop(self) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _listen(self, key: tuple) -> None:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with self._lock:
                endpoints = self._endpoints[key]
                target = endpoints[next(self._turn) % len(endpoints)] if endpoints else None
            if target is None:
                writer.close()
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        self._servers.append(await asyncio.start_server(accept, "127.0.0.1", self._ports[key]))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass
