"""The API's errors: always JSON ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from starlette.responses import JSONResponse

from bot.errors import ParleyError


class ApiError(ParleyError):
    """An HTTP error the API answers with (401, 403, 404, 422, 503)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="parley"'} if self.status == 401 else None
        return JSONResponse({"error": {"code": self.code, "message": self.message}},
                            status_code=self.status, headers=headers)
