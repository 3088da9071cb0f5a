"""TRUSTED_PROXY: the forwarded client address and scheme are believed only from the proxies it
names, addresses or ranges (an ingress controller's pods change address within the cluster's pod
range), and dropped from anyone else, so a client cannot pick the address it is counted under."""
from __future__ import annotations

import pytest

from intake import settings as intake_settings
from intake.web.serving import behind_proxies
from invite_common.config import ConfigError


def seen_by_the_app(trusted_proxy: str, peer: str, forwarded_for: str = "203.0.113.7") -> tuple[str, str]:
    """The client address and scheme the application sees for one request from `peer`."""
    seen = {}

    def app(environ, start_response):
        seen.update(addr=environ["REMOTE_ADDR"], scheme=environ["wsgi.url_scheme"])
        start_response("200 OK", [])
        return [b""]

    settings = intake_settings.load({"TRUSTED_PROXY": trusted_proxy})
    environ = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http", "HTTP_X_FORWARDED_FOR": forwarded_for,
               "HTTP_X_FORWARDED_PROTO": "https", "SERVER_NAME": "intake", "SERVER_PORT": "8080"}
    behind_proxies(app, settings)(environ, lambda *a: None)
    return seen["addr"], seen["scheme"]


@pytest.mark.parametrize("trusted_proxy, peer", [
    ("10.244.0.0/16", "10.244.3.17"), ("10.244.0.0/16, 192.168.5.4", "192.168.5.4"),
    ("10.244.0.0/16", "::ffff:10.244.3.17"), ("fd00:10:244::/48", "fd00:10:244::9"), ("*", "198.51.100.1"),
])
def test_a_peer_within_the_named_ranges_is_believed(trusted_proxy, peer):
    assert seen_by_the_app(trusted_proxy, peer) == ("203.0.113.7", "https")


@pytest.mark.parametrize("trusted_proxy, peer", [
    ("10.244.0.0/16", "10.245.0.1"), ("10.244.0.0/16", "198.51.100.1"), ("", "10.244.3.17"),
])
def test_anyone_else_is_counted_under_their_own_address_and_their_headers_are_dropped(trusted_proxy, peer):
    assert seen_by_the_app(trusted_proxy, peer) == (peer, "http")


@pytest.mark.parametrize("raw", ["ingress-nginx", "10.244.0.0/33", "*, 10.0.0.0/8", "10.0.0.1/8/2"])
def test_a_trusted_proxy_that_is_no_address_nor_range_stops_intake_at_start(raw):
    with pytest.raises(ConfigError, match="TRUSTED_PROXY"):
        intake_settings.load({"TRUSTED_PROXY": raw})
