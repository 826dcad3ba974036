"""User messages: `once` per condition, `say` each time but never twice in a row at once."""

from __future__ import annotations

from ai_lsp.notices import ECHO_S, Level, Notices


def test_say_repeats_a_message_asked_for_again_but_not_its_echo() -> None:
    sent: list[str] = []
    now = [100.0]

    def sink(level: Level, message: str) -> None:
        sent.append(message)

    notices = Notices(sink, clock=lambda: now[0])
    assert notices.once("provider:auth", "error", "key rejected")
    notices.say("error", "key rejected")  # the same failure, told by the service just now
    assert sent == ["key rejected"]
    now[0] += ECHO_S + 0.1
    assert not notices.once("provider:auth", "error", "key rejected")
    notices.say("error", "key rejected")  # asked again later: said again
    notices.say("error", "another problem")
    assert sent == ["key rejected", "key rejected", "another problem"]
