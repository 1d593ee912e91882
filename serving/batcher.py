"""Posted histories that arrive while the model is busy wait and go through it together.

One history at a time pays the model's fixed costs (pandas frames, the calibrators, the
LightGBM calls) for a single row; at concurrency 8 on 2 cores those fixed costs were most of
each history's CPU and the requests queued behind each other. The batcher runs one pass at a
time per worker: whatever arrived meanwhile (at most MAX_BATCH) goes in the next pass, so a
lone request waits for nothing and a crowd shares the fixed costs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

import anyio

MAX_BATCH = 16  # histories in one pass: beyond it, the first in the pass waits too long
Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """`submit(item)` -> the result `run` gives that item, `run` taking lists of items in
    arrival order and returning their results in the same order, on a worker thread."""

    def __init__(
        self, run: Callable[[list[Item]], list[Result]], max_batch: int = MAX_BATCH
    ) -> None:
        self.run, self.max_batch = run, max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            try:
                results = await anyio.to_thread.run_sync(self.run, [item for item, _ in batch])
            except Exception as error:  # every caller of the pass gets it, the next pass runs
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # a caller that went away (cancelled) is skipped
                    future.set_result(result)
