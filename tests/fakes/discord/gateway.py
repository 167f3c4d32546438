"""The fake gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME, dispatches.

Guild events go to the sessions of the guild's shard, ``(guild_id >> 22) % shard_count``, as
Discord routes them; direct-message events go to shard 0. A session that sent no ``shard`` in
IDENTIFY is shard 0 of 1 and so receives every guild.

Frames are uncompressed JSON text even though discord.py asks for zlib-stream: it accepts
text frames, and the fake stays readable in a packet log.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakes.discord import payloads
from tests.fakes.discord.models import shard_of

if TYPE_CHECKING:
    from tests.fakes.discord.server import FakeDiscord

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT = 0, 1, 2, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11
GUILD_MESSAGES_INTENT = 1 << 9


@dataclass(eq=False)
class GatewaySession:
    """One identified gateway session (survives reconnects through RESUME)."""

    session_id: str
    intents: int
    shard: tuple[int, int]
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    socket: web.WebSocketResponse | None = None
    identifies: int = 1
    resumes: int = 0
    identify: dict[str, Any] = field(default_factory=dict)
    """The IDENTIFY payload as sent (``shard`` included when given), without the token."""

    def serves(self, guild_id: int | None) -> bool:
        """Whether Discord would send this guild's events (None: a DM's) to this session."""
        shard_id, shard_count = self.shard
        return shard_of(guild_id, shard_count) == shard_id


class Gateway:
    """Serves ``/gateway`` and pushes dispatches to every connected session."""

    def __init__(self, fake: FakeDiscord, *, heartbeat_interval_ms: int) -> None:
        self._fake = fake
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, GatewaySession] = {}
        self.heartbeats = 0
        self._sockets: set[web.WebSocketResponse] = set()

    @property
    def connected(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.socket is not None]

    def session_for(self, guild_id: int | None) -> GatewaySession:
        """The connected session Discord would send ``guild_id``'s events to."""
        for session in self.connected:
            if session.serves(guild_id):
                return session
        raise AssertionError(f"no connected session serves the shard of guild {guild_id}")

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.add(socket)
        session: GatewaySession | None = None
        try:
            await self._send(
                socket, {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
            async for frame in socket:
                if frame.type is not WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                session = await self._on_frame(socket, session, message) or session
        finally:
            self._sockets.discard(socket)
            if session is not None and session.socket is socket:
                session.socket = None
            self._fake.changed()
        return socket

    async def _on_frame(
        self, socket: web.WebSocketResponse, session: GatewaySession | None, message: dict[str, Any]
    ) -> GatewaySession | None:
        op = message.get("op")
        data: dict[str, Any] = message.get("d") or {}
        if op == HEARTBEAT:
            self.heartbeats += 1
            await self._send(socket, {"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            return await self._identify(socket, data)
        elif op == RESUME:
            return await self._resume(socket, data)
        elif op == REQUEST_MEMBERS and session is not None:
            await self._chunk(session, data)
        return None

    async def _identify(
        self, socket: web.WebSocketResponse, data: dict[str, Any]
    ) -> GatewaySession | None:
        if data.get("token") != self._fake.token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return None
        shard = tuple(data.get("shard") or (0, 1))
        session = GatewaySession(
            session_id=secrets.token_hex(16),
            intents=int(data.get("intents", 0)),
            shard=(int(shard[0]), int(shard[1])),
            socket=socket,
            identify={key: value for key, value in data.items() if key != "token"},
        )
        self.sessions[session.session_id] = session
        fake = self._fake
        guilds = [g for g in fake.guilds.values() if session.serves(g.id)]
        ready = {
            "v": 10,
            "user": payloads.user(fake.bot_user),
            "application": {"id": str(fake.application_id), "flags": 0},
            "session_id": session.session_id,
            "resume_gateway_url": fake.gateway_url,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "shard": list(session.shard),
            "private_channels": [],
            "relationships": [],
        }
        await self.dispatch_to(session, "READY", ready)
        for guild in guilds:
            await self.dispatch_to(session, "GUILD_CREATE", payloads.guild(guild))
        fake.changed()
        return session

    async def _resume(
        self, socket: web.WebSocketResponse, data: dict[str, Any]
    ) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self._fake.token:
            await self._send(socket, {"op": INVALID_SESSION, "d": False})
            return None
        session.socket = socket
        session.resumes += 1
        missed = [event for event in session.sent if event["s"] > int(data.get("seq") or 0)]
        for event in missed:
            await self._send(socket, event)
        await self.dispatch_to(session, "RESUMED", {})
        self._fake.changed()
        return session

    async def _chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self._fake.guilds.get(int(data["guild_id"]))
        members = [payloads.member(m) for m in guild.members.values()] if guild else []
        chunk = {
            "guild_id": str(data["guild_id"]),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        }
        await self.dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send(self, socket: web.WebSocketResponse, message: dict[str, Any]) -> None:
        if not socket.closed:
            await socket.send_str(json.dumps(message))

    async def dispatch_to(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        """Send one dispatch to a session (kept for RESUME replay)."""
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.sent.append(frame)
        if session.socket is not None:
            await self._send(session.socket, frame)

    async def dispatch(
        self, event: str, data: dict[str, Any], *, intent: int = 0, guild_id: int | None = None
    ) -> int:
        """Send a dispatch to every connected session of ``guild_id``'s shard that subscribed to
        ``intent``; return the count."""
        targets = [
            s for s in self.connected if (not intent or s.intents & intent) and s.serves(guild_id)
        ]
        for session in targets:
            await self.dispatch_to(session, event, data)
        return len(targets)

    async def drop(self, *, code: int = 4000) -> None:
        """Close every socket abruptly-but-resumably (the client reconnects and resumes)."""
        for socket in list(self._sockets):
            await socket.close(code=code, message=b"fake: dropped")

    async def request_reconnect(self) -> None:
        """Ask every client to reconnect (op 7), as Discord does before a restart."""
        for session in self.connected:
            if session.socket is not None:
                await self._send(session.socket, {"op": RECONNECT, "d": None})

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"fake: shutting down")
        await asyncio.sleep(0)
