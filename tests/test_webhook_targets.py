"""Which webhook targets may be called: URL shapes and address kinds, without a database."""

from __future__ import annotations

import ipaddress

import pytest

from resolvers.webhooks.targets import Target, non_public, parse_target


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),  # shared address space (carrier-grade NAT)
        ("fec0::1", "site-local"),  # deprecated, yet still routed inside some networks
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1: a relay unwraps it
        ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
        ("2002:808:808::1", None),  # 6to4 of a public address is public
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
    ],
)
def test_addresses_are_told_apart(address: str, kind: str | None) -> None:
    assert non_public(ipaddress.ip_address(address)) == kind


def test_a_target_names_its_host_and_connects_to_an_address() -> None:
    target = parse_target("https://Hooks.Example:8443/in?x=1", https_only=True)
    assert isinstance(target, Target)
    assert (target.host, target.port, target.path) == ("hooks.example", 8443, "/in?x=1")
    assert target.host_header == "hooks.example:8443"
    assert target.with_address("2001:db8::1") == "https://[2001:db8::1]:8443/in?x=1"
    plain = parse_target("http://[::1]", https_only=False)
    assert isinstance(plain, Target)
    assert (plain.host, plain.port, plain.path, plain.host_header) == ("::1", 80, "/", "[::1]")


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example/", "javascript:alert(1)", "https://hooks.example/\x00", "https://exa mple.com/"],
)
def test_production_takes_only_https_urls_of_valid_hosts(url: str) -> None:
    assert isinstance(parse_target(url, https_only=True), str)


def test_port_zero_is_no_url_rather_than_the_default_port() -> None:
    assert parse_target("http://hooks.example:0/in", https_only=False) == "Is not a valid URL."


def test_a_host_is_written_in_ascii() -> None:
    assert (
        parse_target("https://bücher.example/", https_only=False)
        == "Write the host in its ASCII (punycode) form."
    )
    assert isinstance(parse_target("https://xn--bcher-kva.example/", https_only=False), Target)
