"""The history batcher: a lone request goes alone, a crowd shares passes, each caller gets its
own result in order, and a failing pass fails only its own callers."""

from __future__ import annotations

import asyncio
import threading

import pytest

from serving.batcher import Batcher


def test_a_lone_request_is_a_pass_of_one() -> None:
    passes: list[list[int]] = []
    batcher = Batcher(lambda items: passes.append(items) or [i * 10 for i in items])
    assert asyncio.run(batcher.submit(4)) == 40
    assert passes == [[4]]


def test_requests_arriving_during_a_pass_share_the_next_one_and_get_their_own_results() -> None:
    release, passes = threading.Event(), []

    def run(items: list[int]) -> list[int]:
        if not passes:
            release.wait(5)  # the first pass holds until every other request has arrived
        passes.append(items)
        return [i * 10 for i in items]

    batcher = Batcher(run, max_batch=4)

    async def crowd() -> list[int]:
        first = asyncio.create_task(batcher.submit(0))
        await asyncio.sleep(0.05)
        rest = [asyncio.create_task(batcher.submit(i)) for i in range(1, 7)]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(first, *rest)

    assert asyncio.run(crowd()) == [0, 10, 20, 30, 40, 50, 60]
    assert passes == [[0], [1, 2, 3, 4], [5, 6]]  # at most max_batch per pass, in arrival order


def test_a_failing_pass_fails_its_callers_only_and_the_next_pass_runs() -> None:
    release = threading.Event()

    def run(items: list[int]) -> list[int]:
        release.wait(5)
        if 13 in items:
            raise RuntimeError("boom")
        return items

    batcher = Batcher(run, max_batch=1)

    async def both() -> list[object]:
        bad = asyncio.create_task(batcher.submit(13))
        good = asyncio.create_task(batcher.submit(7))
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(bad, good, return_exceptions=True)

    bad, good = asyncio.run(both())
    assert isinstance(bad, RuntimeError) and good == 7


def test_a_caller_that_went_away_does_not_stop_the_others() -> None:
    release = threading.Event()
    batcher = Batcher(lambda items: (release.wait(5), items)[1], max_batch=8)

    async def scene() -> int:
        first = asyncio.create_task(batcher.submit(1))
        await asyncio.sleep(0.05)
        gone = asyncio.create_task(batcher.submit(2))
        stays = asyncio.create_task(batcher.submit(3))
        await asyncio.sleep(0.01)
        gone.cancel()
        release.set()
        await first
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await stays

    assert asyncio.run(scene()) == 3
