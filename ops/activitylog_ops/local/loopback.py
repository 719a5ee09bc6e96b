"""What the local servers (the gateway, the embedded moto) share: where a running one listens."""

from __future__ import annotations

from typing import Any


class ListeningServer:
    """A server bound to `_host` once started (`_server`, with `server_address`); port 0 = any free."""

    _host: str
    _server: Any
    what = "the server"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.what} is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"
