"""Intake's HTTP server: waitress with its limits, run by a loop of intake's own so that a stop drains it.

On SIGTERM or SIGINT (or a fatal error the service found) intake stops accepting connections at
once, answers what it was asked (its in-flight requests), closes the idle keep-alive connections, then stops its consumer and relay as every service does, all within
SHUTDOWN_SECONDS. waitress's own `serve()` installs no signal handler: outside a container the
default SIGTERM ended the process mid-request, and as a container's first process (which ignores
signals it has no handler for) it was killed at the end of every rollout's grace period.
"""
from __future__ import annotations

import logging
import time
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from waitress import wasyncore
from waitress.proxy_headers import proxy_headers_middleware
from waitress.server import create_server

from invite_common import runtime
from invite_common.config import Settings, parse_bind
from invite_common.runtime import RunningService

from intake.web.config import MAX_BODY_BYTES

log = logging.getLogger("intake")

LOOP_SECONDS = 0.2
# of SHUTDOWN_SECONDS, what is kept for the consumer and the relay once the HTTP requests are done
WORKERS_SHARE_SECONDS = 3.0


def serve(running: RunningService, settings: Settings) -> int:
    """Serve the portal and API until asked to stop, then stop gracefully; return the exit status."""
    host, port = parse_bind(settings.bind)
    server = create_server(behind_proxies(running.app, settings), host=host, port=port, threads=8, ident="intake",
                           **server_limits(settings))
    requested = running.stop_requested
    signalled = runtime.stop_on_signals(requested)
    log.info("intake listening", extra={"bind": settings.bind})
    while not requested.is_set():
        wasyncore.loop(timeout=LOOP_SECONDS, map=server._map, use_poll=True, count=1)
    deadline = time.monotonic() + settings.shutdown_seconds

    def stop() -> None:
        running.stopping.set()  # not ready from now on
        _drain(server, deadline - WORKERS_SHARE_SECONDS)
        running.stop(timeout=max(1.0, deadline - time.monotonic()))

    return runtime.stop_and_report("intake", running, signalled, stop)

def _drain(server, until: float) -> None:
    """Stop accepting, then keep serving the open connections until none has work left or `until`."""
    wasyncore.dispatcher.close(server)  # the listening socket: new connections are refused from now
    while time.monotonic() < until:
        busy = False
        for channel in list(server.active_channels.values()):
            if channel.requests or channel.request is not None or channel.total_outbufs_len:
                busy = True
            else:
                channel.will_close = True  # idle keep-alive: closed on the loop's next turn
        if not busy and not server.active_channels:
            break
        wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
    left = len(server.active_channels)
    if left:
        log.warning("closing connections still at work", extra={"connections": left})
    server.task_dispatcher.shutdown()
    wasyncore.close_all(server._map)


def server_limits(settings) -> dict:
    """The HTTP server's own limits, matched to the application's.

    A body larger than any request may carry is refused from its Content-Length, before it is
    read; a client that stops sending is dropped after the channel timeout; stalled connections
    wait in the server's event loop, not in a worker thread, up to the connection limit. That
    loop uses poll(), not waitress's default select(): select() cannot watch a descriptor past
    1023 and ends the process when a connection gets one (containers allow far more open files).
    """
    limits = {
        "max_request_body_size": MAX_BODY_BYTES + 64 * 1024,  # room for the multipart envelope
        "channel_timeout": settings.http_channel_timeout,
        "connection_limit": settings.http_connection_limit,
        "cleanup_interval": max(1, min(30, settings.http_channel_timeout // 2)),
        "asyncore_use_poll": True,
        # behind_proxies decides whose forwarded headers are believed and clears everyone else's
        "clear_untrusted_proxy_headers": False,
    }
    return limits


FORWARDED = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}


def behind_proxies(app, settings):
    """Believe the forwarded client address and scheme only from the proxies TRUSTED_PROXY names.

    Behind an ingress every connection comes from the ingress: without this, the per-address
    sign-in limits would count everyone together. From anyone else the headers are dropped, so a
    client cannot choose the address it is counted under. waitress itself trusts one address or
    everyone (`*`); an ingress controller's pods change addresses within the cluster's pod range, so
    the range is checked here and waitress's own reading of the headers does the rest.
    """
    untrusted = proxy_headers_middleware(app, trusted_proxy=None, clear_untrusted=True)
    if not settings.trusted_proxy:
        return untrusted
    trusted = proxy_headers_middleware(app, trusted_proxy="*", trusted_proxy_count=settings.trusted_proxy_count,
                                       trusted_proxy_headers=FORWARDED, clear_untrusted=True)
    networks = proxy_networks(settings.trusted_proxy)

    def choose(environ, start_response):
        believed = networks is None or is_within(environ.get("REMOTE_ADDR", ""), networks)
        return (trusted if believed else untrusted)(environ, start_response)

    return choose


def proxy_networks(raw: str) -> tuple[IPv4Network | IPv6Network, ...] | None:
    """TRUSTED_PROXY's addresses and ranges (None for `*`: every peer), as intake.settings checked them."""
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if items == ["*"]:
        return None
    return tuple(ip_network(item, strict=False) for item in items)


def is_within(peer: str, networks) -> bool:
    try:
        address = ip_address(peer)
    except ValueError:  # a unix socket, or no peer at all
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address in network for network in networks)
