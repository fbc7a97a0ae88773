"""The aiohttp application key under which the Exchange object lives."""

from typing import Any

from aiohttp import web

EX: web.AppKey[Any] = web.AppKey("ex", object)
