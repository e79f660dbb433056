"""One error tree for the whole server; the web layer maps it once to problem+json."""

from __future__ import annotations


class QueueError(Exception):
    """Base: a request the server understood and answers with a clear message."""

    status = 500
    title = "内部错误"
    type_slug = "internal"

    def __init__(self, detail: str, *, field: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class InvalidInput(QueueError):
    status = 400
    title = "请求内容有误"
    type_slug = "invalid-input"


class Unauthenticated(QueueError):
    status = 401
    title = "需要登录"
    type_slug = "unauthenticated"


class Forbidden(QueueError):
    status = 403
    title = "无权操作"
    type_slug = "forbidden"


class NotFound(QueueError):
    status = 404
    title = "未找到"
    type_slug = "not-found"


class Refused(QueueError):
    """A command the rules refuse in the current state (HTTP 409)."""

    status = 409
    title = "当前状态不允许此操作"
    type_slug = "refused"


class UnsupportedMediaType(QueueError):
    status = 415
    title = "请求格式不支持"
    type_slug = "unsupported-media-type"


class RateLimited(QueueError):
    status = 429
    title = "操作过于频繁"
    type_slug = "rate-limited"


class Unavailable(QueueError):
    status = 503
    title = "服务暂不可用"
    type_slug = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1, field: str | None = None,
                 **extra: object) -> None:
        super().__init__(detail, field=field, **extra)
        self.retry_after = retry_after
