"""What the gateway itself says to people (everything else comes from agents)."""

from __future__ import annotations

from typing import Final

VOICE_NOT_SET_UP: Final = (
    "Voice notes are not set up yet, so I cannot listen to this one. Please type your "
    "message instead; the owner can turn voice on by setting speech.api_key in the "
    "Praktor config."
)
VOICE_NOT_UNDERSTOOD: Final = (
    "I could not make out any words in that voice note. Please try again, or type it."
)
COULD_NOT_PROCESS: Final = (
    "Sorry, I could not process that message. Please send it again; if it keeps failing, "
    "the owner can check the gateway-telegram logs."
)


def could_not_download(name: str) -> str:
    return f"I could not download {name} from Telegram. Please send it again."
