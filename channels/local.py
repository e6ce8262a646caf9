"""The local chat: a person types in the terminal as a family; a line is a message.

Choices are shown numbered with their full labels; the person can type the number or the label.
Nothing is cut: the terminal has no length limit, a chart is saved and its path printed with the whole
text. Nothing leaves the machine, so the bot can be tried and kaders trained without any account.
"""
from __future__ import annotations

import asyncio
import hashlib
import sys
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import TextIO

from channels.messages import Incoming, Reply

Handler = Callable[[Incoming], Awaitable[list[Reply]]]
CHANNEL = "local"
QUIT_WORDS = {"/quit", "/keluar", "/exit"}


IMAGE_DIR = Path(__file__).resolve().parent.parent / "var" / "images"


def save_image(data: bytes) -> Path:
    """Writes an image the bot sent into ``var/images`` so the person can open it."""
    IMAGE_DIR.mkdir(parents=True, exist_ok=True)
    path = IMAGE_DIR / f"{hashlib.sha1(data).hexdigest()[:12]}.png"
    path.write_bytes(data)
    return path


def save_file(name: str, data: bytes) -> Path:
    """Writes a document the bot sent into ``var/exports``."""
    folder = IMAGE_DIR.parent / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(name).name
    path.write_bytes(data)
    return path


def render(replies: list[Reply]) -> str:
    """Replies as terminal text with numbered choices; images are saved and their path shown."""
    blocks = []
    for reply in replies:
        lines = [reply.text]
        if reply.image is not None:
            lines.append(f"[gambar / image: {save_image(reply.image)}]")
        for name, data in reply.files:
            lines.append(f"[berkas / file: {save_file(name, data)}]")
        lines += [f"  {i}) {choice.label}" for i, choice in enumerate(reply.choices, 1)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class LocalChat:
    """Turns typed lines into Incoming messages for one local user."""

    def __init__(self, handle: Handler, address: str = "terminal") -> None:
        self.handle = handle
        self.address = address

    async def deliver(self, address: str, reply: Reply) -> str:
        """The outbox sender of the local chat: a reminder is printed into the conversation."""
        self._sent = getattr(self, "_sent", 0) + 1
        sys.stdout.write("\n" + render([reply]) + "\n> ")
        sys.stdout.flush()
        return f"local-{self._sent}"

    send_one = deliver  # the Channel protocol's name for the one send path

    def incoming(self, line: str) -> Incoming:
        """The message for one typed line."""
        return Incoming(channel=CHANNEL, address=self.address, text=line)

    async def send(self, line: str) -> list[Reply]:
        """Sends one line and returns the bot's replies."""
        return await self.handle(self.incoming(line))

    async def run(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        """Reads lines until end of input or /keluar, printing the replies."""
        stdout.write("Obrolan lokal / local chat. Ketik /keluar untuk berhenti (/quit to exit).\n")
        stdout.write(render(await self.send("/start")) + "\n")
        loop = asyncio.get_running_loop()
        while True:
            stdout.write("> ")
            stdout.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line or line.strip().lower() in QUIT_WORDS:
                stdout.write("\n")
                return
            if not line.strip():
                continue
            stdout.write(render(await self.send(line.rstrip("\n"))) + "\n")
