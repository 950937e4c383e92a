"""Cutting a getUpdates batch into inbound units, and holding albums that may go on."""

from __future__ import annotations

from collections.abc import Sequence

from praktor_gateway_telegram.albums import AlbumWatch, Plan, plan_batch
from praktor_gateway_telegram.updates import Incoming


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def msg(update_id: int, chat: int = 1, album: str | None = None) -> Incoming:
    return Incoming(
        update_id=update_id,
        chat_id=chat,
        user_id=chat,
        message_id=update_id,
        username=None,
        display_name="Ada",
        text="" if album else f"text {update_id}",
        caption=None,
        media_group_id=album,
    )


def plan(
    messages: Sequence[Incoming | None], watch: AlbumWatch, ids: list[int] | None = None
) -> Plan:
    update_ids = ids or [m.update_id for m in messages if m is not None]
    return plan_batch(list(zip(update_ids, messages, strict=True)), watch)


def test_an_empty_batch_changes_nothing() -> None:
    result = plan_batch([], AlbumWatch())
    assert result == Plan((), None, False)


def test_single_messages_each_become_a_unit_and_the_offset_passes_them_all() -> None:
    result = plan([msg(10), msg(11, chat=2)], AlbumWatch())
    assert [u.dedupe_id for u in result.units] == ["telegram:10", "telegram:11"]
    assert result.next_offset == 12
    assert not result.holding


def test_skipped_updates_are_confirmed_too() -> None:
    result = plan_batch([(10, None), (11, msg(11)), (12, None)], AlbumWatch())
    assert [u.first.update_id for u in result.units] == [11]
    assert result.next_offset == 13


def test_an_album_followed_by_a_later_message_of_its_chat_is_complete() -> None:
    batch = [msg(10, album="g"), msg(11, album="g"), msg(12)]
    result = plan(batch, AlbumWatch(clock=Clock()))
    album, single = result.units
    assert album.is_album
    assert [p.update_id for p in album.parts] == [10, 11]
    assert album.dedupe_id == "telegram:album:g"
    assert single.dedupe_id == "telegram:12"
    assert result.next_offset == 13


def test_an_album_at_the_end_of_a_batch_is_held_and_the_offset_stays_at_its_first_part() -> None:
    clock = Clock()
    watch = AlbumWatch(clock=clock)
    first = plan([msg(9, chat=2), msg(10, album="g"), msg(11, album="g")], watch)
    assert [u.dedupe_id for u in first.units] == ["telegram:9"]
    assert first.next_offset == 10
    assert first.holding

    clock.now += 0.5  # the third part arrives before the quiet period ends
    second = plan([msg(10, album="g"), msg(11, album="g"), msg(12, album="g")], watch)
    assert second.units == ()
    assert second.next_offset == 10

    clock.now += 0.6  # not quiet yet: the third part reset the period
    assert plan([msg(10, album="g"), msg(11, album="g"), msg(12, album="g")], watch).holding

    clock.now += 0.5
    done = plan([msg(10, album="g"), msg(11, album="g"), msg(12, album="g")], watch)
    assert [len(u.parts) for u in done.units] == [3]
    assert done.next_offset == 13
    assert not done.holding


def test_messages_of_other_chats_after_a_held_album_are_published_but_not_confirmed() -> None:
    watch = AlbumWatch(clock=Clock())
    result = plan([msg(10, album="g"), msg(11, chat=2), msg(12, album="g")], watch)
    assert [u.dedupe_id for u in result.units] == ["telegram:11"]
    assert result.next_offset == 10


def test_two_albums_of_two_chats_are_two_units() -> None:
    batch = [
        msg(10, chat=1, album="a"),
        msg(11, chat=2, album="b"),
        msg(12, chat=1, album="a"),
        msg(13, chat=2, album="b"),
        msg(14, chat=1),
        msg(15, chat=2),
    ]
    result = plan(batch, AlbumWatch(clock=Clock()))
    assert [u.dedupe_id for u in result.units] == [
        "telegram:album:a",
        "telegram:album:b",
        "telegram:14",
        "telegram:15",
    ]


def test_without_a_quiet_period_albums_are_never_held() -> None:
    result = plan([msg(10, album="g")], AlbumWatch(quiet_period=0))
    assert [u.dedupe_id for u in result.units] == ["telegram:album:g"]
