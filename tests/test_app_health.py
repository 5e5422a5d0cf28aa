from __future__ import annotations

import httpx

from .conftest import LiveServer


def test_health_live_and_ready(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.http) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/live").json()["status"] == "ok"
        ready = client.get("/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "bus": "ok"}
    # The probe writes beside the tenants, never in one: no tenant shows up for it.
    data = live_server.settings.data_dir
    assert (data / "probe" / "ready.db").is_file()
    assert list((data / "tenants").iterdir()) == []


def test_not_ready_while_draining(live_server: LiveServer) -> None:
    live_server.components.lifecycle.stop_being_ready()
    response = httpx.get(f"{live_server.http}/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "draining"}


def test_unknown_route_is_a_json_error_without_trace(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.http}/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert "Traceback" not in response.text
