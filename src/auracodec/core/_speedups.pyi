from array import array
from collections.abc import Callable, Sequence

RESERVOIR: int

class Recorder:
    def __init__(self, counts: array[int], ring: array[int]) -> None: ...
    def add(self, slot: int, size_in: int, size_out: int, ns: int, /) -> None: ...

class FrameDecoder:
    def __init__(
        self,
        entries: list[Callable[[bytes, int], bytes] | None],
        slots: list[int],
        limit: int,
        recorder: Recorder,
        errors: Sequence[Callable[..., BaseException]],
        decode_error: type[BaseException],
        failed: Callable[[BaseException, int], None],
        observe: Callable[[int, bytes, int, int], None] | None,
    ) -> None: ...
    def decode_bytes(self, frame: bytes | bytearray | memoryview, /) -> bytes: ...
    def decode(self, frame: bytes | bytearray | memoryview, /) -> str: ...
    def decode_bytes_at(self, frame: bytes, skip: int, /) -> bytes: ...
    def decode_at(self, frame: bytes, skip: int, /) -> str: ...
