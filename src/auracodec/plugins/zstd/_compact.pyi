from collections.abc import Callable

class CompactDecoder:
    def __init__(
        self,
        new_dctx: Callable[[], object],
        escape: Callable[[bytes], bytes],
        classify: Callable[[bytes, int, Exception], Exception],
        errors: tuple[type[Exception], type[Exception], type[Exception], type[Exception]],
    ) -> None: ...
    def __call__(self, payload: bytes, limit: int, /) -> bytes: ...
